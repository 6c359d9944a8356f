"""CMS NCCI edit files: PTP pairs, MUE tables and add-on code edits, recognised by layout.

Users download these from CMS (which asks them to accept the AMA licence for the CPT content);
medcode never ships them. Layouts (shared/reference/edits_data.md):

- PTP (``ccipra-v322r0-f1``, ``ccioph-v322r0-f1``, zips of tab-delimited text): a few header
  lines, then rows: column 1, column 2, ``*`` (in existence before 1996), effective date
  YYYYMMDD, deletion date YYYYMMDD or ``*``, modifier indicator 0/1/9, rationale. Version
  ``v32.2`` is 2026 Q3 (version 29.0 was January 2023).
- MUE (``MCR_MUE_PractitionerServices_Eff_07-01-2026.csv`` and the outpatient hospital and DME
  supplier tables): a copyright notice, then a header row ("HCPCS/CPT Code", "... MUE Values",
  "MUE Adjudication Indicator", "MUE Rationale"), the indicator cell a digit then words.
- Add-on codes (``AOC_V2026Q3-MCR``): a delimited table with a header naming the add-on code,
  primary code, AOC edit type and the edit's effective and deletion dates; or the fixed-width
  text some quarters carried (type, add-on code, dates as YYYYDDD; see _fixed_width_aoc).

Every file of one quarter becomes one release (label ``2026-Q3``, in force for that quarter);
several quarters can be imported side by side.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..model import CodeRecord, ImportResult, Source, SourceFile
from ..ncci_index import AOC, DME, NCCI, OUTPATIENT, PRACTITIONER, SETTING_NAMES, mue_table, ptp_key, ptp_table
from ..sources import InputFile, LayoutNotRecognised, SourceError, decode, read_inputs, sha256

CODE_RE = re.compile(r"^[0-9A-Z]{5}$")
_PTP_VERSION_RE = re.compile(r"v(\d{2})(\d)r\d", re.IGNORECASE)
_MUE_DATE_RE = re.compile(r"eff[_ -]?(\d{2})[-_](\d{2})[-_](\d{4})", re.IGNORECASE)
_QUARTER_RE = re.compile(r"(20\d{2})[-_ ]?q([1-4])", re.IGNORECASE)
_SKIP_EXT = (".xlsx", ".xls", ".pdf", ".docx", ".doc", ".rtf", ".htm", ".html")


@dataclass(frozen=True, slots=True)
class Quarter:
    year: int
    q: int

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.q}"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> dt.date:
        nxt = dt.date(self.year + (self.q == 4), 1 if self.q == 4 else 3 * self.q + 1, 1)
        return nxt - dt.timedelta(days=1)

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)


def quarter_from_name(name: str) -> Quarter | None:
    m = _PTP_VERSION_RE.search(name)
    if m and ("cci" in name.lower() or "ptp" in name.lower()):
        return Quarter(1994 + int(m.group(1)), int(m.group(2)) + 1)
    m = _MUE_DATE_RE.search(name)
    if m:
        try:
            return Quarter.of(dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2))))
        except ValueError:
            return None
    m = _QUARTER_RE.search(name)
    if m:
        return Quarter(int(m.group(1)), int(m.group(2)))
    return None


def _setting_from(text: str) -> str | None:
    t = text.lower().replace(" ", "").replace("_", "").replace("-", "")
    if "ccipra" in t or "practitioner" in t:
        return PRACTITIONER
    if "ccioph" in t or "outpatient" in t or "hospital" in t or "facility" in t or "opps" in t:
        return OUTPATIENT
    if "dme" in t:
        return DME
    return None


@dataclass
class _Quarter:
    """What one quarter's files gave."""

    ptp: dict[str, list[str]] = field(default_factory=dict)  # setting -> keys
    mue: dict[str, dict[str, list]] = field(default_factory=dict)  # setting -> code -> row
    aoc: dict[str, list[list]] = field(default_factory=lambda: defaultdict(list))
    tables: dict[str, dict] = field(default_factory=dict)
    used: list[InputFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- reading one file ---------------------------------------------------------------------------
# One PTP row: column 1, column 2, the pre-1996 mark, effective date, deletion date (or *),
# modifier indicator. Anchored on the newline so that the regex engine skips ahead in C: a
# quarter has 1.6 million rows per setting.
_PTP_ROW_RE = re.compile(r"\n[ \t]*([0-9A-Z]{5})\t([0-9A-Z]{5})\t[^\t\r\n]*\t(\d{8})\t(\d{8})?\*?[ ]*\t([019])\b")


def _ptp_rows(text: str) -> tuple[list[str], int] | None:
    """The PTP keys of a text file, or None when its rows are not PTP rows; with the number
    of lines after the first row that are not PTP rows (malformed rows, skipped)."""
    text = "\n" + text.rstrip()
    first = _PTP_ROW_RE.search(text)
    if first is None:
        return None
    keys = [ptp_key(c1, c2, ind, eff, dele or None) for c1, c2, eff, dele, ind in _PTP_ROW_RE.findall(text, first.start())]
    return keys, max(0, text.count("\n", first.start()) - len(keys))


def _norm(cell: str) -> str:
    return " ".join(cell.replace("\n", " ").split()).lower()


def _table(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of a CSV or tab-delimited table whose header sits below title lines
    (an MUE or add-on code table); None, cheaply, for anything else (the PTP files are large)."""
    head = text[:65536]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    for i, row in enumerate(csv.reader(io.StringIO(head), delimiter=delimiter)):
        if i >= 40:
            return None
        cells = [_norm(c) for c in row]
        joined = " | ".join(cells)
        if ("mue value" in joined) or (("add-on" in joined or "addon" in joined or "add on" in joined) and "primary" in joined):
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
            return cells, rows[i + 1 :]
    return None


def _col(header: list[str], *needles: str, avoid: tuple[str, ...] = ()) -> int | None:
    for i, h in enumerate(header):
        if all(n in h for n in needles) and not any(a in h for a in avoid):
            return i
    return None


def _mue_rows(header: list[str], rows: list[list[str]]) -> tuple[dict[str, list], int]:
    code_i = _col(header, "code") if _col(header, "code") is not None else 0
    value_i = _col(header, "mue value")
    mai_i = _col(header, "adjudication")
    why_i = _col(header, "rationale")
    out: dict[str, list] = {}
    bad = 0
    for row in rows:
        if value_i is None or len(row) <= max(code_i, value_i):
            continue
        code, value = row[code_i].strip().upper(), row[value_i].strip()
        if not code:
            continue
        mai = row[mai_i].strip()[:1] if mai_i is not None and len(row) > mai_i else ""
        if not CODE_RE.match(code) or not value.isdigit():
            bad += 1
            continue
        why = row[why_i].strip() if why_i is not None and len(row) > why_i else ""
        out[code] = [int(value), mai, why]
    return out, bad


def _date8(text: str) -> str | None:
    """YYYYMMDD from the date spellings the AOC tables use (YYYYMMDD, MM/DD/YYYY, YYYY-MM-DD)."""
    t = text.strip()
    if len(t) == 8 and t.isdigit():
        return t
    m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})", t)
    if m:
        return f"{m.group(3)}{int(m.group(1)):02d}{int(m.group(2)):02d}"
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", t)
    if m:
        return "".join(m.groups())
    return None


def _aoc_rows(header: list[str], rows: list[list[str]]) -> tuple[dict[str, list[list]], int]:
    addon_i = next((i for i, h in enumerate(header) if ("add-on" in h or "addon" in h or "add on" in h) and "code" in h and "date" not in h), None)
    primary_i = _col(header, "primary", "code", avoid=("date",))
    type_i = _col(header, "type")
    # The edit's own dates; the add-on and primary codes' dates are other columns.
    eff_i = _col(header, "edit", "eff") if _col(header, "edit", "eff") is not None else _col(header, "eff", avoid=("primary", "add"))
    del_i = _col(header, "edit", "del") if _col(header, "edit", "del") is not None else _col(header, "del", avoid=("primary", "add"))
    out: dict[str, list[list]] = defaultdict(list)
    bad = 0
    if addon_i is None or type_i is None:
        return out, bad
    for row in rows:
        if len(row) <= max(addon_i, type_i):
            continue
        code = row[addon_i].strip().upper()
        if not code:
            continue
        kind = row[type_i].strip()[:1]
        primary = row[primary_i].strip().upper() if primary_i is not None and len(row) > primary_i else ""
        if not CODE_RE.match(code) or kind not in ("1", "2", "3"):
            bad += 1
            continue
        if not CODE_RE.match(primary) or primary == "CCCCC":
            primary = ""
        eff = _date8(row[eff_i]) if eff_i is not None and len(row) > eff_i else None
        dele = _date8(row[del_i]) if del_i is not None and len(row) > del_i else None
        out[code].append([primary, kind, eff, dele])
    return out, bad


def _julian(text: str) -> str | None:
    t = text.strip()
    if len(t) != 7 or not t.isdigit() or t == "0000000":
        return None
    try:
        day = dt.date(int(t[:4]), 1, 1) + dt.timedelta(days=int(t[4:]) - 1)
    except ValueError:
        return None
    return day.strftime("%Y%m%d")


def _fixed_width_aoc(text: str) -> dict[str, list[list]] | None:
    """The fixed-width AOC text (type, add-on code, primary effective YYYYDDD, primary code,
    primary end, edit effective, edit end): seen in public parsers, not confirmed against a
    CMS record layout from here, so it is accepted only when every data line fits it."""
    out: dict[str, list[list]] = defaultdict(list)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if len(ln) < 32 or ln[0] not in "123" or not CODE_RE.match(ln[1:6]):
            return None
        primary = ln[13:18].strip().upper()
        if not CODE_RE.match(primary) or primary == "CCCCC":
            primary = ""
        out[ln[1:6]].append([primary, ln[0], _julian(ln[25:32]), _julian(ln[32:39])])
    return out or None


def _is_text(f: InputFile) -> bool:
    if f.lower.endswith(_SKIP_EXT) or f.data[:4] == b"PK\x03\x04":
        return False
    head = f.data[:4096]
    return b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff"))


def _read_file(f: InputFile, hint: str, quarters: dict[Quarter, _Quarter], forced: Quarter | None, skipped: list[str]) -> None:
    if not _is_text(f):
        skipped.append(f"{f.name} (not a text table)")
        return
    text = decode(f.data)
    quarter = forced or quarter_from_name(f.name) or quarter_from_name(hint)
    table = _table(text)
    ptp = None if table is not None else _ptp_rows(text)
    fixed = None if ptp is not None or table is not None else _fixed_width_aoc(text)
    if ptp is None and table is None and fixed is None:
        skipped.append(f"{f.name} (not a PTP, MUE or add-on code table)")
        return
    if quarter is None:
        raise SourceError(
            f"cannot tell which quarter {f.name} belongs to (its name carries no NCCI version, "
            "'Eff_MM-DD-YYYY' or 'YYYYQn'): pass --effective YYYY-MM-DD"
        )
    q = quarters.setdefault(quarter, _Quarter())
    q.used.append(f)
    if ptp is not None:
        setting = _setting_from(f.name) or _setting_from(hint) or _setting_from(text[:2000])
        if setting not in (PRACTITIONER, OUTPATIENT):
            raise SourceError(f"{f.name} holds PTP pairs but its name does not say practitioner (ccipra) or outpatient hospital (ccioph)")
        keys, bad = ptp
        q.ptp.setdefault(setting, []).extend(keys)
        _note(q, ptp_table(setting), f.name, len(keys), bad)
        return
    if fixed is not None:
        for code, rows in fixed.items():
            q.aoc[code].extend(rows)
        _note(q, AOC, f.name, sum(map(len, fixed.values())), 0)
        return
    header, rows = table
    if any("mue value" in h for h in header):
        value_header = next(h for h in header if "mue value" in h)
        setting = _setting_from(value_header) or _setting_from(f.name) or _setting_from(hint)
        if setting is None:
            raise SourceError(f"{f.name} is an MUE table, but neither its header nor its name says practitioner, outpatient hospital or DME supplier")
        found, bad = _mue_rows(header, rows)
        q.mue.setdefault(setting, {}).update(found)
        _note(q, mue_table(setting), f.name, len(found), bad)
    else:
        found, bad = _aoc_rows(header, rows)
        if not found:
            skipped.append(f"{f.name} (an add-on code table without add-on code and type columns)")
            return
        for code, r in found.items():
            q.aoc[code].extend(r)
        _note(q, AOC, f.name, sum(map(len, found.values())), bad)


def _note(q: _Quarter, table: str, name: str, rows: int, bad: int) -> None:
    seen = q.tables.get(table)
    if seen is None:
        q.tables[table] = {"files": [name], "rows": rows}
    else:
        seen["files"].append(name)
        seen["rows"] += rows
    if bad:
        q.warnings.append(f"{name}: {bad} row(s) with codes or values that are not well-formed were skipped")


# -- the releases ---------------------------------------------------------------------------------
def read_quarters(paths: list[Path], *, release: str | None = None, effective: dt.date | None = None) -> tuple[list[ImportResult], list[str]]:
    """One ImportResult per quarter found in the files, and the files that were skipped."""
    forced = Quarter.of(effective) if effective else None
    if release and not forced:
        m = _QUARTER_RE.search(release)
        forced = Quarter(int(m.group(1)), int(m.group(2))) if m else None
        if forced is None:
            raise SourceError(f"--release {release!r} does not name a quarter (YYYY-Qn); pass --effective YYYY-MM-DD as well")
    quarters: dict[Quarter, _Quarter] = {}
    skipped: list[str] = []
    sources: list[SourceFile] = []
    for path in paths:
        path = Path(path)
        for f in read_inputs(path):
            _read_file(f, path.name, quarters, forced, skipped)
        if path.is_file():
            data = path.read_bytes()
            sources.append(SourceFile(path.name, sha256(data), len(data)))
    if not quarters:
        what = "; ".join(skipped[:6]) or "no files"
        raise LayoutNotRecognised(f"no CMS NCCI PTP, MUE or add-on code table found ({what})")
    if release and len(quarters) > 1:
        raise SourceError("--release names one quarter, but the files hold several")
    results = []
    for quarter, q in sorted(quarters.items(), key=lambda kv: (kv[0].year, kv[0].q)):
        label = release or quarter.label
        start = effective or quarter.start
        results.append(_result(quarter, q, label, start, paths, sources))
    return results, skipped


def _result(quarter: Quarter, q: _Quarter, label: str, start: dt.date, paths: list[Path], sources: list[SourceFile]) -> ImportResult:
    details: dict[str, dict] = defaultdict(dict)
    for setting, rows in q.mue.items():
        for code, row in rows.items():
            details[code].setdefault("mue", {})[setting] = row
    for code, rows in q.aoc.items():
        details[code][AOC] = rows
    # Every PTP code gets a record too, so the release lists the codes its edits name.
    for keys in q.ptp.values():
        for code in {k[:5] for k in keys} | {k[5:10] for k in keys}:
            details.setdefault(code, {})
    records = [CodeRecord(code, "", detail=d) for code, d in details.items()]
    files = list(sources) + [SourceFile(f.name, sha256(f.data), len(f.data)) for f in q.used if f.name not in {s.name for s in sources}]
    have = ", ".join(f"{name} ({info['rows']:,})" for name, info in sorted(q.tables.items()))
    return ImportResult(
        set_id=NCCI,
        release=label,
        title=f"NCCI {quarter.label}",
        effective_from=start,
        effective_to=quarter.end,
        source=Source(kind="file", name=", ".join(str(Path(p).resolve()) for p in paths), files=files),
        records=records,
        complete=True,
        meta={"tables": q.tables, "settings": SETTING_NAMES},
        key_sets={ptp_table(s): keys for s, keys in q.ptp.items()},
        warnings=q.warnings + [f"tables: {have}"],
    )


def from_path(path: Path | str, *, release: str | None = None, effective: dt.date | None = None) -> ImportResult:
    """One quarter from a file, zip or folder (what `medcode index fetch` hands over)."""
    results, _ = read_quarters([Path(path)], release=release, effective=effective)
    if len(results) > 1:
        raise SourceError(f"{path} holds files of {len(results)} quarters: import them with `medcode index import ncci`")
    return results[0]
