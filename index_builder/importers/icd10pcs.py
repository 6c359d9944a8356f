"""ICD-10-PCS: CMS's order file and tables XML, and the code list the drg package ships.

- The order file (``icd10pcs_order_YYYY.txt``) carries the official titles, long and short, and
  the 3-character table prefixes as header rows.
- The tables XML (``icd10pcs_tables_YYYY.xml``) says what every character means. It is stored
  whole in the release's ``tables`` keyed store (read back by ``medcode.index_builder.pcs_tables``). Read
  without an order file it also yields every valid code, but no official titles: those records
  get descriptions composed from the labels and ``detail["composed"] = True``.
- The codes file (``icd10pcs_codes_YYYY.txt``: code, space, long title) stands in for the order
  file when that is all the user has.

Layouts: shared/reference/data_sources.md §4.3 and §4.4.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

from .. import sources
from ..codesets import ICD10PCS, ICD10PCS_RE
from ..periods import APRIL_RE, fiscal_label, fiscal_year
from ..model import CODE, HEADER, CodeRecord, ImportResult
from ..pcs_tables import TABLES_AUX
from ..sources import InputFile, LayoutNotRecognised, SourceError

SET_ID = ICD10PCS

# The embedded default: the Tuva Project's code list inside drg 1.0.0.
DRG_DIST = "drg"
DRG_CSV = "drg/data/tuva/icd_10_pcs.csv"
DRG_RELEASE = "FY2024-drg"
DRG_TITLE = "ICD-10-PCS about FY2024 (code list of drg 1.0.0)"
DRG_FISCAL_YEAR = 2024
DRG_WARNING = (
    "The release of this code list is inferred, not published with it: compared with the "
    "FY2025 code set it lacks 287 codes added in FY2025 and still has 12 codes deleted in "
    "FY2025, so it is taken as FY2024 (2023-10-01 to 2024-09-30). It has no short titles, "
    "table headers or character meanings. For current data import the CMS files: "
    "`medcode index import icd10pcs PATH` with the order file and the tables XML (zip or folder)."
)

_CHARS = "0-9A-HJ-NP-Z"  # PCS never uses I or O
_CHAR_RE = re.compile(f"^[{_CHARS}]$")
_HEADER_CODE_RE = re.compile(f"^[{_CHARS}]{{1,7}}$")
# A line of an order file, loosely (any letters), so an ICD-10-CM order file is recognised
# as such and refused with a useful message instead of being ignored.
_ORDER_LINE_RE = re.compile(r"^\d{5} ([0-9A-Z]{1,7}) *([01]) \S")
_CODES_LINE_RE = re.compile(f"^[{_CHARS}]{{7}}\\s+\\S")
_YEAR_RE = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_FY_LABEL_RE = re.compile(r"^FY(\d{4})(?!\d)", re.IGNORECASE)

_SNIFF_LINES = 25
_EXAMPLES = 5

ORDER, CODES_FILE, TABLES = "order file", "codes file", "tables XML"


# ------------------------------------------------------------------------------------------
# Embedded default
# ------------------------------------------------------------------------------------------


def embedded_default() -> ImportResult:
    """The drg package's ICD-10-PCS list (no header row; ``"code","long description"``)."""
    source, (path,) = sources.package_source(DRG_DIST, DRG_CSV)
    rows = list(csv.reader(io.StringIO(sources.decode(path.read_bytes()))))
    bad: list[int] = []
    records = _all_good_rows(rows)
    if records is None:
        records = _good_rows(rows, bad)
    if not records:
        raise SourceError(f"{path} holds no ICD-10-PCS codes; reinstall medcode-ls")
    warnings = [DRG_WARNING]
    if bad:
        warnings.append(_skipped_lines(path.name, bad, "are not a 7-character code and a title"))
    start, end = fiscal_year(DRG_FISCAL_YEAR)
    return ImportResult(
        set_id=SET_ID,
        release=DRG_RELEASE,
        title=DRG_TITLE,
        effective_from=start,
        effective_to=end,
        source=source,
        records=records,
        complete=True,
        meta={"inputs": {"code list": path.name}},
        warnings=warnings,
    )


_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def _all_good_rows(rows: list[list[str]]) -> list[CodeRecord] | None:
    """The records of a code list whose every row is a valid code and a title (drg's, as
    shipped), or None. In C passes over the 78,000 rows, not _good_rows' Python loop:
    embedded_default() 0.49 -> 0.42 s of CPU (load 4)."""
    if not all(map((2).__eq__, map(len, rows))):
        return None
    codes = list(map(str.upper, map(str.strip, map(_FIRST, rows))))
    titles = list(map(" ".join, map(str.split, map(_SECOND, rows))))
    if not (all(titles) and all(map(ICD10PCS_RE.match, codes))):
        return None
    return list(map(CodeRecord, codes, titles))


def _good_rows(rows: list[list[str]], bad: list[int]) -> list[CodeRecord]:
    """The records of the rows that are a valid code and a title; the other rows' numbers
    go to `bad`, except blank lines and a header row."""
    records: list[CodeRecord] = []
    valid = ICD10PCS_RE.match
    for lineno, row in enumerate(rows, 1):
        if not "".join(row).strip():  # a blank line
            continue
        code = row[0].strip().upper()
        desc = " ".join(row[1].split()) if len(row) > 1 else ""
        if not valid(code) or not desc:
            if lineno == 1 and not valid(code):
                continue  # a header row, should a later drg add one
            bad.append(lineno)
            continue
        records.append(CodeRecord(code=code, description=desc, kind=CODE))
    return records


# ------------------------------------------------------------------------------------------
# CMS files
# ------------------------------------------------------------------------------------------


def from_path(path: Path, *, release: str | None = None, effective: dt.date | None = None) -> ImportResult:
    """Import a CMS order file, tables XML or codes file, or a zip or folder holding them."""
    path = Path(path)
    inputs = sources.read_inputs(path)
    found: dict[str, list[InputFile]] = {ORDER: [], CODES_FILE: [], TABLES: []}
    refused: list[str] = []
    for f in inputs:
        kind, why = _sniff(f)
        if kind:
            found[kind].append(f)
        elif why:
            refused.append(f"{f.name} ({why})")
    for kind, files in found.items():
        if len(files) > 1:
            names = ", ".join(f.name for f in files)
            raise SourceError(
                f"{path} holds {len(files)} ICD-10-PCS {kind}s ({names}); import one release at a time"
            )
    order = found[ORDER][0] if found[ORDER] else None
    codes_file = found[CODES_FILE][0] if found[CODES_FILE] and not order else None
    tables_file = found[TABLES][0] if found[TABLES] else None
    titles_file = order or codes_file
    if not titles_file and not tables_file:
        seen = refused or [f.name for f in inputs[:10]] or ["no files"]
        raise LayoutNotRecognised(
            f"{path}: no ICD-10-PCS order file (icd10pcs_order_YYYY.txt), tables XML "
            f"(icd10pcs_tables_YYYY.xml) or codes file found; looked at: {'; '.join(seen)}"
        )

    warnings: list[str] = []
    listing: _Listing | None = None
    if order:
        listing = _parse_order(order)
    elif codes_file:
        listing = _parse_codes_file(codes_file)
    parsed: _Tables | None = _parse_tables(tables_file) if tables_file else None

    used = [f for f in (titles_file, tables_file) if f is not None]
    label, start, end, label_warnings = _release_and_dates(path, used, parsed, release, effective)
    warnings += label_warnings
    if listing:
        warnings += listing.warnings
    if parsed:
        warnings += parsed.warnings

    records: list[CodeRecord]
    aux: dict[str, dict[str, Any]] = {}
    if parsed:
        aux[TABLES_AUX] = parsed.tables
    if listing:
        records = listing.records
        if parsed:
            warnings += _consistency(listing, titles_file.name, parsed, tables_file.name)
        what = "CMS order file" if order else "CMS codes file"
        if parsed:
            what += " and tables"
    else:
        assert parsed is not None
        records = list(_generate(parsed.tables))
        what = "CMS tables XML; descriptions composed from the table labels"
        warnings.append(
            f"{tables_file.name} gives the codes but not their official titles: descriptions are "
            "composed from the table labels (section / body system / operation / body part / "
            "approach / device / qualifier). Import the order file with the tables for the "
            "official titles."
        )
    if not records:
        raise SourceError(f"{path}: no ICD-10-PCS codes found in {', '.join(f.name for f in used)}")

    inputs_used = ((ORDER, order), (CODES_FILE, codes_file), (TABLES, tables_file))
    meta: dict[str, Any] = {"inputs": {kind: f.name for kind, f in inputs_used if f}}
    if parsed:
        meta["tables"] = len(parsed.tables)
        if parsed.version:
            meta["tables_version"] = parsed.version
    return ImportResult(
        set_id=SET_ID,
        release=label,
        title=f"ICD-10-PCS {label} ({what})",
        effective_from=start,
        effective_to=end,
        source=sources.file_source(path, used=used),
        records=records,
        complete=True,
        meta=meta,
        aux=aux,
        warnings=warnings,
    )


# -- recognising files ---------------------------------------------------------------------


def _sniff(f: InputFile) -> tuple[str | None, str | None]:
    """What a file is, by content first and by its CMS name second (a file named like a
    CMS file but unreadable is still taken, so that parsing names it in a clear error).
    Returns (kind, None), or (None, why it was refused) for files worth mentioning."""
    name = f.lower
    head = f.data[:4096]
    if "addend" in name:
        return None, None  # CMS ships addenda (changes since last year) beside the order file
    if b"ICD10PCS.tabular" in head:
        return TABLES, None
    if "icd10pcs_tables" in name and name.endswith(".xml"):
        return TABLES, None
    if head.lstrip().startswith(b"<"):
        return None, ("an XML file that is not the ICD-10-PCS tables" if name.endswith(".xml") else None)
    if b"\x00" in head:
        return None, None
    head_lines = sources.decode(head).splitlines()
    if len(f.data) > len(head):
        head_lines = head_lines[:-1]  # cut off mid-line
    lines = [ln for ln in head_lines if ln.strip()][:_SNIFF_LINES]
    if lines and all(_ORDER_LINE_RE.match(ln) for ln in lines):
        lengths = {len(_ORDER_LINE_RE.match(ln).group(1)) for ln in lines}
        if lengths <= {3, 7} and "icd10cm" not in name:
            return ORDER, None
        return None, "an ICD-10-CM order file? its codes are not 3 or 7 characters long"
    if lines and all(_CODES_LINE_RE.match(ln) for ln in lines):
        return CODES_FILE, None
    if "icd10pcs_order" in name:
        return ORDER, None
    if "icd10pcs_codes" in name:
        return CODES_FILE, None
    return None, None


# -- order file and codes file -------------------------------------------------------------


@dataclass
class _Listing:
    records: list[CodeRecord]
    warnings: list[str] = field(default_factory=list)

    def codes(self) -> set[str]:
        return {r.code for r in self.records if r.kind == CODE}

    def headers(self) -> set[str]:
        return {r.code for r in self.records if r.kind == HEADER}


def _parse_order(f: InputFile) -> _Listing:
    """Fixed width (1-based): order 1-5, code 7-13, flag 15 (0 header, 1 valid), short title
    17-76, long title 78-end."""
    listing = _read_listing(
        f,
        _order_record,
        "is not an ICD-10-PCS order file: no line has the fixed-width layout "
        "(order number 1-5, code 7-13, flag 15, short title 17-76, long title 78-)",
        "are not in the order-file layout",
    )
    _link_parents(listing.records)
    return listing


def _order_record(line: str) -> CodeRecord | None:
    line = line.rstrip()
    order, code, flag = line[0:5], line[6:13].strip(), line[14:15]
    ok = order.isdigit() and line[5:6] == " " and line[13:14] == " " and line[15:16] == " "
    if ok and flag == "1":
        ok = bool(ICD10PCS_RE.match(code))
    elif ok and flag == "0":
        ok = bool(_HEADER_CODE_RE.match(code))
    else:
        ok = False
    short = " ".join(line[16:76].split())
    long = " ".join(line[77:].split())
    if not ok or not (short or long):
        return None
    kind = CODE if flag == "1" else HEADER
    return CodeRecord(code=code, description=long or short, kind=kind, short=short or None)


def _parse_codes_file(f: InputFile) -> _Listing:
    """``icd10pcs_codes_YYYY.txt``: the code, white space, the long title; valid codes only."""
    return _read_listing(
        f,
        _codes_record,
        "is not an ICD-10-PCS codes file: no line starts with a 7-character code",
        "are not a code followed by its title",
    )


def _codes_record(line: str) -> CodeRecord | None:
    parts = line.strip().split(None, 1)
    if len(parts) != 2 or not ICD10PCS_RE.match(parts[0]):
        return None
    return CodeRecord(code=parts[0], description=" ".join(parts[1].split()), kind=CODE)


def _read_listing(f: InputFile, record: Callable[[str], CodeRecord | None], not_this: str, skipped: str) -> _Listing:
    """A record from each non-blank line of f, or its line number among the skipped (`skipped`
    says why); SourceError (f's name, then `not_this`) when no line makes a record."""
    records: list[CodeRecord] = []
    bad: list[int] = []
    for lineno, line in enumerate(sources.decode(f.data).splitlines(), 1):
        if not line.strip():
            continue
        rec = record(line)
        if rec is None:
            bad.append(lineno)
        else:
            records.append(rec)
    if not records:
        raise SourceError(f"{f.name} {not_this}")
    listing = _Listing(records)
    if bad:
        listing.warnings.append(_skipped_lines(f.name, bad, skipped))
    return listing


def _link_parents(records: list[CodeRecord]) -> None:
    """A code's parent is its table's header row, when the source has one."""
    headers = {r.code for r in records if r.kind == HEADER}
    for r in records:
        if r.kind == CODE and r.code[:3] in headers:
            r.parent = r.code[:3]


# -- tables XML ------------------------------------------------------------------------------


@dataclass
class _Tables:
    version: str | None
    tables: dict[str, dict[str, Any]]  # prefix -> the document pcs.py reads
    warnings: list[str] = field(default_factory=list)

    def allowed(self) -> set[str]:
        return {code for code, _ in _row_codes(self.tables)}


class _BadTable(Exception):
    pass


def _text(el: ET.Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _axis(el: ET.Element) -> tuple[str, dict[str, Any]]:
    pos = (el.get("pos") or "").strip()
    if pos not in ("1", "2", "3", "4", "5", "6", "7"):
        raise _BadTable(f"an axis has pos={pos!r}")
    labels: dict[str, str] = {}
    for lab in el.findall("label"):
        ch = (lab.get("code") or "").strip().upper()
        if not _CHAR_RE.match(ch):
            raise _BadTable(f"axis {pos} has a label with code {ch!r}")
        labels[ch] = _text(lab)
    if not labels:
        raise _BadTable(f"axis {pos} has no labels")
    out: dict[str, Any] = {"title": _text(el.find("title")), "labels": labels}
    definition = _text(el.find("definition"))
    if definition:
        out["definition"] = definition
    values = el.get("values")
    if values and values.strip().isdigit() and int(values) != len(labels):
        out["_values_mismatch"] = True
    return pos, out


def _table(tb: ET.Element) -> tuple[str, dict[str, Any], int]:
    """One <pcsTable> as (prefix, document, number of rows whose codes= disagree)."""
    axes: dict[str, dict[str, Any]] = {}
    for el in tb.findall("axis"):
        pos, axis = _axis(el)
        if pos not in ("1", "2", "3") or pos in axes:
            raise _BadTable(f"the table has {'another' if pos in axes else 'an'} axis {pos}")
        if len(axis["labels"]) != 1:
            raise _BadTable(f"table axis {pos} has {len(axis['labels'])} labels, not 1")
        ((code, label),) = axis["labels"].items()
        entry = {"title": axis["title"], "code": code, "label": label}
        if "definition" in axis:
            entry["definition"] = axis["definition"]
        axes[pos] = entry
    if set(axes) != {"1", "2", "3"}:
        raise _BadTable("the table lacks one of axes 1-3")
    prefix = axes["1"]["code"] + axes["2"]["code"] + axes["3"]["code"]
    rows = []
    odd_counts = 0
    for row_el in tb.findall("pcsRow"):
        row: dict[str, dict[str, Any]] = {}
        for el in row_el.findall("axis"):
            pos, axis = _axis(el)
            if pos not in ("4", "5", "6", "7") or pos in row:
                raise _BadTable(f"a row of {prefix} has {'another' if pos in row else 'an'} axis {pos}")
            row[pos] = axis
        if set(row) != {"4", "5", "6", "7"}:
            raise _BadTable(f"a row of {prefix} lacks one of axes 4-7")
        n = 1
        for axis in row.values():
            n *= len(axis["labels"])
            if axis.pop("_values_mismatch", False):
                odd_counts += 1
        stated = (row_el.get("codes") or "").strip()
        if stated.isdigit() and int(stated) != n:
            odd_counts += 1
        rows.append(row)
    if not rows:
        raise _BadTable(f"table {prefix} has no rows")
    return prefix, {"axes": axes, "rows": rows}, odd_counts


def _parse_tables(f: InputFile) -> _Tables:
    if b"<!ENTITY" in f.data:
        # The CMS file declares no entities; refusing them keeps entity expansion out.
        raise SourceError(f"{f.name} declares XML entities, which the CMS tables XML never does")
    try:
        root = ET.fromstring(f.data)
    except (ET.ParseError, LookupError) as exc:  # LookupError: an unknown declared encoding
        raise SourceError(f"{f.name} is not readable XML ({exc})") from exc
    if root.tag != "ICD10PCS.tabular":
        raise SourceError(
            f"{f.name} has the root element <{root.tag}>, not <ICD10PCS.tabular> "
            "(the CMS ICD-10-PCS tables XML)"
        )
    version = _text(root.find("version")) or None
    tables: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    odd = 0
    merged = 0
    for n, tb in enumerate(root.iter("pcsTable"), 1):
        try:
            prefix, doc, odd_counts = _table(tb)
        except _BadTable as exc:
            skipped.append(f"table {n}: {exc}")
            continue
        odd += odd_counts
        if prefix in tables:
            if tables[prefix]["axes"] != doc["axes"]:
                skipped.append(f"table {n}: a second table {prefix} with other axis labels")
                continue
            tables[prefix]["rows"].extend(doc["rows"])
            merged += 1
        else:
            tables[prefix] = doc
    if not tables:
        raise SourceError(f"{f.name} holds no usable <pcsTable>" + (f" ({skipped[0]})" if skipped else ""))
    warnings = []
    if skipped:
        warnings.append(
            f"{f.name}: {len(skipped)} table(s) skipped as malformed, so their codes are missing "
            f"(first: {'; '.join(skipped[:_EXAMPLES])})"
        )
    if odd:
        warnings.append(
            f"{f.name}: {odd} row or axis count attribute(s) disagree with the labels listed; "
            "the labels were used"
        )
    if merged:
        warnings.append(
            f"{f.name}: {merged} table prefix(es) appear more than once; their rows were combined"
        )
    return _Tables(version, tables, warnings)


def _row_codes(tables: dict[str, dict[str, Any]]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every code the tables allow, with the labels of characters 4-7 that make it."""
    for prefix, doc in tables.items():
        for row in doc["rows"]:
            axes = [row[pos]["labels"] for pos in ("4", "5", "6", "7")]
            for combo in itertools.product(*(labels.items() for labels in axes)):
                yield prefix + "".join(ch for ch, _ in combo), tuple(label for _, label in combo)


def _table_title(doc: dict[str, Any]) -> str:
    axes = doc["axes"]
    return " / ".join(axes[pos]["label"] for pos in ("1", "2", "3"))


def _generate(tables: dict[str, dict[str, Any]]) -> Iterator[CodeRecord]:
    """Header records for the tables and code records for every code their rows allow.

    Official titles are not in the tables; a description is composed from the labels, joined
    with ' / ' because labels themselves hold commas ('Hip Joint, Acetabular Surface, Right')."""
    titles = {prefix: _table_title(doc) for prefix, doc in tables.items()}
    for prefix, title in titles.items():
        yield CodeRecord(code=prefix, description=title, kind=HEADER, detail={"composed": True})
    for code, labels in _row_codes(tables):
        prefix = code[:3]
        yield CodeRecord(
            code=code,
            description=f"{titles[prefix]} / {' / '.join(labels)}",
            kind=CODE,
            parent=prefix,
            detail={"composed": True},
        )


def _consistency(listing: _Listing, listing_name: str, parsed: _Tables, tables_name: str) -> list[str]:
    """Counts (and a few examples) of codes one file has and the other does not allow."""

    def some(keys: set[str]) -> str:
        return ", ".join(sorted(keys)[:_EXAMPLES]) + (", ..." if len(keys) > _EXAMPLES else "")

    out = []
    codes, allowed = listing.codes(), parsed.allowed()
    if codes - allowed:
        out.append(
            f"{len(codes - allowed)} code(s) of {listing_name} are not allowed by any row of "
            f"{tables_name} (e.g. {some(codes - allowed)})"
        )
    if allowed - codes:
        out.append(
            f"{len(allowed - codes)} code(s) allowed by the rows of {tables_name} are not in "
            f"{listing_name} (e.g. {some(allowed - codes)})"
        )
    headers, prefixes = listing.headers(), set(parsed.tables)
    if headers and headers - prefixes:
        out.append(
            f"{len(headers - prefixes)} header row(s) of {listing_name} have no table in "
            f"{tables_name} (e.g. {some(headers - prefixes)})"
        )
    if headers and prefixes - headers:
        out.append(
            f"{len(prefixes - headers)} table(s) of {tables_name} have no header row in "
            f"{listing_name} (e.g. {some(prefixes - headers)})"
        )
    return out


# -- release label and dates -----------------------------------------------------------------


def _release_and_dates(
    path: Path,
    used: list[InputFile],
    parsed: _Tables | None,
    release: str | None,
    effective: dt.date | None,
) -> tuple[str, dt.date | None, dt.date | None, list[str]]:
    warnings: list[str] = []
    # Years the files state: their CMS names, then the XML's <version>.
    stated: dict[str, int] = {}
    for f in used:
        m = _YEAR_RE.search(f.name)
        if m:
            stated[f.name] = int(m.group(1))
    if parsed and parsed.version and parsed.version.isdigit() and len(parsed.version) == 4:
        stated.setdefault(f"<version> of {used[-1].name}", int(parsed.version))  # tables come last
    if not stated:
        m = _YEAR_RE.search(path.name)
        if m:
            stated[path.name] = int(m.group(1))
    years = set(stated.values())
    if len(years) > 1:
        said = ", ".join(f"{name}: {year}" for name, year in stated.items())
        if not release:
            raise SourceError(
                f"{path}: the files are of different years ({said}); import one release at a "
                "time, or pass --release to import them together"
            )
        warnings.append(f"the files are of different years ({said})")
    year = years.pop() if len(years) == 1 else None
    april = any(APRIL_RE.search(name) for name in [f.name for f in used] + [path.name, release or ""])
    if release:
        label = release
        m = _FY_LABEL_RE.match(release)
        if m and year and int(m.group(1)) != year:
            warnings.append(
                f"the release label {release} was given, but the files are of FY{year}; "
                "the effective dates follow the files"
            )
        if year is None and m:
            year = int(m.group(1))
    elif year is not None:
        label = fiscal_label(year, april)
    else:
        raise SourceError(
            f"cannot tell which fiscal year {path} is: no year in "
            f"{', '.join(f.name for f in used)} or in the XML; pass --release (e.g. --release FY2026)"
        )
    start = end = None
    if year is not None:
        start, end = fiscal_year(year, april)
    if effective is not None:
        start = effective
        if end is not None and effective > end:
            end = None
    return label, start, end, warnings


def _skipped_lines(name: str, lines: list[int], why: str) -> str:
    first = ", ".join(str(n) for n in lines[:_EXAMPLES]) + (", ..." if len(lines) > _EXAMPLES else "")
    return f"{name}: {len(lines)} line(s) skipped because they {why} (line {first})"
