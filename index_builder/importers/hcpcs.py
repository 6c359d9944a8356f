"""HCPCS Level II from the CMS alpha-numeric file: fixed width, no header, Windows-1252, CRLF.

Accepted as the quarterly / annual zip CMS publishes, the extracted .txt, or a folder holding it.
The layout is CMS's record layout (HCPCS2019_recordlayout.txt; shared/reference/data_sources.md
§4.5). Records are 320 characters in 2018-2020; newer files stop at the action code (293), and
continuation lines often stop after the description (91), so every line is padded before slicing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import codesets, layout
from ..model import CODE, MODIFIER, CodeRecord, ImportResult
from ..sources import InputFile, LayoutNotRecognised, SourceError, decode, file_source, read_inputs

RECORD_WIDTH = 320


@dataclass(frozen=True, slots=True)
class Field:
    """One field of the record layout, positioned as CMS documents it (1-based, inclusive)."""

    name: str
    start: int
    length: int
    occurs: int = 1  # repeating groups ("OCCURS MAX") sit side by side

    def values(self, line: str) -> list[str]:
        """The non-blank occurrences, stripped."""
        out = []
        for i in range(self.occurs):
            begin = self.start - 1 + i * self.length
            value = line[begin : begin + self.length].strip()
            if value:
                out.append(value)
        return out

    def value(self, line: str) -> str:
        begin = self.start - 1
        return line[begin : begin + self.length].strip()


# The official layout, in file order. Positions 260 and 294-320 are filler.
FIELDS = {
    f.name: f
    for f in (
        Field("code", 1, 5),
        Field("modifier", 4, 2),  # modifier records: positions 1-3 are filler
        Field("sequence", 6, 5),
        Field("ric", 11, 1),
        Field("long_description", 12, 80),
        Field("short_description", 92, 28),
        Field("pricing_indicators", 120, 2, occurs=4),
        Field("multiple_pricing_indicator", 128, 1),
        Field("cim_references", 129, 6, occurs=3),
        Field("mcm_references", 147, 8, occurs=3),
        Field("statute", 171, 10),
        Field("lab_certifications", 181, 3, occurs=8),
        Field("cross_references", 205, 5, occurs=5),
        Field("coverage", 230, 1),
        Field("asc_group", 231, 2),
        Field("asc_effective", 233, 8),
        Field("opps_group", 241, 3),
        Field("opps_indicator", 244, 1),
        Field("opps_effective", 245, 8),
        Field("processing_note", 253, 4),
        Field("betos", 257, 3),
        Field("type_of_service", 261, 1, occurs=5),
        Field("anesthesia_base_units", 266, 3),
        Field("added", 269, 8),
        Field("action_effective", 277, 8),
        Field("terminated", 285, 8),
        Field("action", 293, 1),
    )
}

# Record identification codes (position 11).
PROCEDURE, PROCEDURE_MORE, MODIFIER_FIRST, MODIFIER_MORE = "3", "4", "7", "8"
FIRST_LINES = (PROCEDURE, MODIFIER_FIRST)

COVERAGE = {
    "C": "Carrier judgment",
    "D": "Special coverage instructions apply",
    "I": "Not payable by Medicare",
    "M": "Non-covered by Medicare",
    "S": "Non-covered by Medicare statute",
}
ACTIONS = {
    "A": "Add procedure or modifier code",
    "B": "Change in both administrative data field and long description",
    "C": "Change in long description",
    "D": "Discontinue procedure or modifier code",
    "F": "Change in administrative data field",
    "N": "No maintenance for this code",
    "P": "Payment change",
    "R": "Re-activate discontinued or deleted code",
    "S": "Change in short description",
    "T": "Miscellaneous change (BETOS, type of service)",
}

# Lists that are kept as lists in `detail` even with one value; the rest are single values.
_LIST_DETAIL = ("pricing_indicators", "cim_references", "mcm_references", "lab_certifications",
                "cross_references", "type_of_service")
_TEXT_DETAIL = ("multiple_pricing_indicator", "statute", "asc_group", "opps_group",
                "opps_indicator", "processing_note", "betos")

# Companions in the CMS zip that are never the data file.
_NOT_DATA_SUFFIXES = (".xlsx", ".xls", ".prn", ".pdf", ".doc", ".docx", ".xml")
_NOT_DATA_NAMES = re.compile(r"readme|proc_?notes|record_?layout", re.I)


def is_record_line(line: str) -> bool:
    """A data line: numeric sequence number in 6-10, record id 3/4/7/8 in 11. The disclaimer
    block some years put on top never looks like this."""
    return len(line) > 10 and line[5:10].isascii() and line[5:10].isdigit() and line[10] in "3478"


def from_path(path: Path | str, *, release: str | None = None,
              effective: dt.date | None = None) -> ImportResult:
    path = Path(path)
    member, lines = _data_file(path)
    period = _period(release, effective, [member.name, path.name])

    warnings: list[str] = []
    records = _parse(lines, warnings)
    if not records:
        where = str(path) if member.name == path.name else f"{member.name} in {path}"
        raise SourceError(f"{where} holds no HCPCS Level II records that can be indexed"
                          + "".join(f"; {w}" for w in warnings))
    if period.start is None:
        warnings.append(f"no effective dates for release {period.label}: "
                        "pass --effective YYYY-MM-DD to say when it took effect")
    return ImportResult(
        set_id=codesets.HCPCS,
        release=period.label,
        title=f"{codesets.set_name(codesets.HCPCS)} {period.title}",
        effective_from=period.start,
        effective_to=period.end,
        source=file_source(path, used=[member]),
        records=records,
        complete=True,
        warnings=warnings,
    )


# -- finding the data file ---------------------------------------------------------------------

def _data_file(path: Path) -> tuple[InputFile, list[str]]:
    """The member with the most record lines; names only rule out the zip's companions."""
    inputs = read_inputs(path)
    best: tuple[int, InputFile | None, list[str]] = (0, None, [])
    for f in inputs:
        if f.lower.endswith(_NOT_DATA_SUFFIXES) or _NOT_DATA_NAMES.search(f.name):
            continue
        lines = decode(f.data).splitlines()
        count = sum(1 for line in lines if is_record_line(line))
        if count > best[0]:
            best = (count, f, lines)
    count, member, lines = best
    if member is None:
        looked = ", ".join(f.name for f in inputs) or "no files"
        raise LayoutNotRecognised(f"{path}: no CMS HCPCS alpha-numeric data (fixed-width lines with a "
                          "sequence number in columns 6-10 and record id 3, 4, 7 or 8 in column 11) "
                          f"in {looked}")
    return member, lines


# -- records ------------------------------------------------------------------------------------

@dataclass
class _Pending:
    """A record being assembled: its first line plus the description chunks that follow it."""

    key: str
    kind: str
    first: str
    chunks: list[str] = field(default_factory=list)


def _parse(lines: list[str], warnings: list[str]) -> list[CodeRecord]:
    records: list[CodeRecord] = []
    refused: set[str] = set()
    odd_shapes: set[str] = set()
    orphans = 0
    current: _Pending | None = None
    for raw in lines:
        if not is_record_line(raw):
            continue
        line = raw.ljust(RECORD_WIDTH)
        ric = line[10]
        is_modifier = ric in (MODIFIER_FIRST, MODIFIER_MORE)
        key = FIELDS["modifier" if is_modifier else "code"].value(line)
        chunk = FIELDS["long_description"].value(line)
        if key[:1].isdigit():
            # CPT (codes and modifiers) is AMA copyright: it must never enter the index.
            refused.add(key)
            continue
        if ric in FIRST_LINES:
            if current:
                records.append(_record(current))
            shape = codesets.HCPCS_MODIFIER_RE if is_modifier else codesets.HCPCS_RE
            if not shape.match(key) or (is_modifier and line[:3].strip()):
                odd_shapes.add(line[:5].strip())
                current = None
                continue
            current = _Pending(key, MODIFIER if is_modifier else CODE, line, [chunk])
        elif current and current.key == key and current.kind == (MODIFIER if is_modifier else CODE):
            current.chunks.append(chunk)
        else:
            orphans += 1
    if current:
        records.append(_record(current))

    if refused:
        warnings.append(f"refused {len(refused)} record(s) whose code starts with a digit: CPT "
                        "is AMA copyright and is never indexed from this file")
    if odd_shapes:
        sample = ", ".join(sorted(odd_shapes)[:5])
        warnings.append(f"skipped {len(odd_shapes)} record(s) that are not HCPCS Level II codes "
                        f"or modifiers (e.g. {sample})")
    if orphans:
        warnings.append(f"skipped {orphans} continuation line(s) that follow no record of their code")
    return records


def _record(p: _Pending) -> CodeRecord:
    line = p.first
    action = FIELDS["action"].value(line) or None
    return CodeRecord(
        code=p.key,
        description=" ".join(" ".join(p.chunks).split()),
        kind=p.kind,
        short=" ".join(FIELDS["short_description"].value(line).split()) or None,
        added=_date(FIELDS["added"].value(line)),
        effective=_date(FIELDS["action_effective"].value(line)),
        terminated=_date(FIELDS["terminated"].value(line)),
        action=action,
        detail=_detail(line, action),
    )


def _detail(line: str, action: str | None) -> dict[str, object]:
    """The administrative data worth showing, under readable keys; blanks are left out."""
    out: dict[str, object] = {}
    for name in _LIST_DETAIL:
        if values := FIELDS[name].values(line):
            out[name] = values
    for name in _TEXT_DETAIL:
        if value := FIELDS[name].value(line):
            out[name] = value
    if coverage := FIELDS["coverage"].value(line):
        out["coverage"] = coverage
        out["coverage_meaning"] = COVERAGE.get(coverage, "unknown coverage code")
    for name in ("asc_effective", "opps_effective"):
        if day := _date(FIELDS[name].value(line)):
            out[name] = day
    # Every procedure record carries "  0" here; only a real number of units says anything.
    units = FIELDS["anesthesia_base_units"].value(line)
    if units.isdigit() and int(units):
        out["anesthesia_base_units"] = int(units)
    if action:
        out["action_meaning"] = ACTIONS.get(action, "unknown action code")
    return out


def _date(text: str) -> str | None:
    """YYYYMMDD as ISO; blanks and impossible dates (zeros, placeholders) as None."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return None


# -- release label and effective dates ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: dt.date | None
    end: dt.date | None
    title: str

    def contains(self, day: dt.date) -> bool:
        return self.start is not None and self.end is not None and self.start <= day <= self.end


def _year(year: int) -> Period:
    return Period(str(year), dt.date(year, 1, 1), dt.date(year, 12, 31), f"{year} (annual)")


def _quarter(year: int, q: int) -> Period:
    first = 3 * q - 2
    end = dt.date(year, first + 2, calendar.monthrange(year, first + 2)[1])
    label = f"{year}-Q{q}"
    return Period(label, dt.date(year, first, 1), end, f"{calendar.month_name[first]} {year} ({label})")


# CMS publishes quarterly: January, April, July, October.
_QUARTER_MONTHS = {"jan": 1, "january": 1, "apr": 2, "april": 2,
                   "jul": 3, "july": 3, "oct": 4, "october": 4}


def _from_name(name: str) -> tuple[int | None, int | None]:
    """(year, quarter) named in a file name: HCPC2020_ANWEB..., 2020-Alpha-Numeric-HCPCS-File,
    HCPC2026_JUL_ANWEB_06172026, july-2026-alpha-numeric-hcpcs-file. A year stands alone (the
    8-digit release date in newer names is not one)."""
    tokens = re.findall(r"[a-z]+|[0-9]+", name.lower())
    years = [int(t) for t in tokens if len(t) == 4 and t.startswith(("19", "20"))]
    quarters = [_QUARTER_MONTHS[t] for t in tokens if t in _QUARTER_MONTHS]
    return (years[0] if years else None), (quarters[0] if quarters else None)


def _from_label(label: str) -> Period | None:
    if m := re.fullmatch(r"((?:19|20)\d\d)(?:-Q([1-4]))?", label):
        return _quarter(int(m[1]), int(m[2])) if m[2] else _year(int(m[1]))
    return None


def _from_names(names: list[str]) -> Period | None:
    """The first name with a year decides the year; a quarter may come from any name of that
    year (a renamed zip keeps its member's name, and the other way round). No quarter: annual."""
    parsed = [_from_name(n) for n in names]
    year = next((y for y, _ in parsed if y), None)
    if year is None:
        return None
    quarter = next((q for y, q in parsed if q and y in (year, None)), None)
    return _quarter(year, quarter) if quarter else _year(year)


def _period(release: str | None, effective: dt.date | None, names: list[str]) -> Period:
    """The user's --release and --effective win; file names fill in what they leave open."""
    if release is not None and not layout.valid_release_label(release):
        raise SourceError(f"release label {release!r} is not usable: letters, digits, '.', '_' "
                          "and '-' only (e.g. 2026-Q3)")
    known = [p for p in (_from_label(release) if release else None, _from_names(names)) if p]
    if effective is not None:
        # The period the names or label give, when it holds the date; else CMS's quarter.
        around = next((p for p in known if p.contains(effective)), None)
        around = around or _quarter(effective.year, (effective.month - 1) // 3 + 1)
        label = release or around.label
        title = around.title if label == around.label else label
        return Period(label, effective, around.end, title)
    if release is not None:
        p = known[0] if known else Period(release, None, None, release)
        return Period(release, p.start, p.end, p.title if p.label == release else release)
    if known:
        return known[0]
    named = " in ".join(dict.fromkeys(names))
    raise SourceError(f"cannot tell which HCPCS release {named} is from its name: pass "
                      "--release LABEL (e.g. 2026-Q3) and --effective YYYY-MM-DD")
