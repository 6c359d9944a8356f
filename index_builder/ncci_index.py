"""NCCI edits as stored in an index release, and read back for claim checks.

One release per quarter (set id ``ncci``, label ``2026-Q3``) holds whatever CMS tables were
imported for that quarter:

- procedure-to-procedure (PTP) pairs per setting, in key-only tries (layout.key_set_file)
  named ``ptp-practitioner`` and ``ptp-outpatient``. Each key is one row of the CMS table:
  column 1 code (5), column 2 code (5), modifier indicator (1), effective date (8) and the
  deletion date (8, or nothing). A pair's rows are found by the 10-character prefix, so the
  1.4 million rows of a setting need no record files and open by mmap in milliseconds;
- medically unlikely edits (MUE) and add-on code (AOC) edits, as the code records' detail:
  ``{"mue": {"practitioner": [value, mai, rationale], ...}, "aoc": [[primary, type, effective,
  deletion], ...]}``;
- ``meta.json`` ``{"tables": {name: {"file": ..., "rows": n}}}``: which tables the release
  has, so a missing table is never read as "no edits".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .reader import Release

NCCI = "ncci"

PRACTITIONER = "practitioner"
OUTPATIENT = "outpatient"
DME = "dme"
SETTING_NAMES = {PRACTITIONER: "practitioner", OUTPATIENT: "outpatient hospital", DME: "DME supplier"}

AOC = "aoc"


def ptp_table(setting: str) -> str:
    return f"ptp-{setting}"


def mue_table(setting: str) -> str:
    return f"mue-{setting}"


def ptp_key(col1: str, col2: str, indicator: str, effective: str, deletion: str | None) -> str:
    return f"{col1}{col2}{indicator}{effective}{deletion or ''}"


def _day(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column1: str
    column2: str
    indicator: str  # "0" no modifier allowed, "1" allowed, "9" not applicable
    effective: dt.date | None
    deleted: dt.date | None  # the first day the edit no longer applies

    def in_force(self, day: dt.date) -> bool:
        # CMS deletes edits as of a date (often retroactively to their effective date, which
        # then never applied): the deletion date itself is no longer covered.
        return (self.effective is None or self.effective <= day) and (self.deleted is None or day < self.deleted)


def parse_ptp_key(key: str) -> PtpEdit:
    return PtpEdit(key[:5], key[5:10], key[10:11], _day(key[11:19]), _day(key[19:27]) if len(key) >= 27 else None)


@dataclass(frozen=True, slots=True)
class Mue:
    setting: str
    value: int
    mai: str  # "1" line, "2" date of service (policy), "3" date of service (clinical)
    rationale: str

    @property
    def per_day(self) -> bool:
        return self.mai in ("2", "3")

    @property
    def mai_text(self) -> str:
        return {
            "1": "MAI 1: per line",
            "2": "MAI 2: per date of service, policy",
            "3": "MAI 3: per date of service, clinical",
        }.get(self.mai, f"MAI {self.mai}")


@dataclass(frozen=True, slots=True)
class AddOnRow:
    primary: str  # "" for type 2 (no list of primary codes)
    type: str  # "1", "2", "3"
    effective: dt.date | None
    deleted: dt.date | None

    def in_force(self, day: dt.date) -> bool:
        return (self.effective is None or self.effective <= day) and (self.deleted is None or day < self.deleted)


class NcciRelease:
    """Look-ups over one quarter's tables, memoised (claims repeat the same codes)."""

    def __init__(self, release: Release):
        self.release = release
        tables = release.meta.get("tables", {}) if isinstance(release.meta, dict) else {}
        self.tables: dict[str, dict] = tables if isinstance(tables, dict) else {}
        self._pairs: dict[tuple[str, str, str], tuple[PtpEdit, ...]] = {}
        self._codes: dict[str, dict] = {}
        self._mues: dict[tuple[str, str], Mue | None] = {}
        self._addons: dict[str, tuple[AddOnRow, ...]] = {}
        self._profiles: dict[tuple[str, str], tuple[Mue | None, tuple[AddOnRow, ...]]] = {}

    @property
    def label(self) -> str:
        return self.release.label

    @property
    def title(self) -> str:
        return self.release.title

    def has(self, table: str) -> bool:
        return table in self.tables

    def has_tables(self, setting: str) -> tuple[bool, bool, bool]:
        """(PTP, MUE, add-on) tables present for a setting."""
        return ptp_table(setting) in self.tables, mue_table(setting) in self.tables, AOC in self.tables

    def profile(self, setting: str, code: str) -> tuple[Mue | None, tuple[AddOnRow, ...]]:
        """What one code has in a setting: its MUE and its add-on rows (one memoised look-up)."""
        k = (setting, code)
        found = self._profiles.get(k)
        if found is None:
            if len(self._profiles) > 100_000:
                self._profiles.clear()
            found = self._profiles[k] = (self.mue(setting, code), self.addon(code))
        return found

    def ptp(self, setting: str, col1: str, col2: str) -> tuple[PtpEdit, ...]:
        """Every row of the setting's table for this ordered pair (column 1, column 2)."""
        k = (setting, col1, col2)
        found = self._pairs.get(k)
        if found is None:
            trie = self.release.key_set(ptp_table(setting))
            found = () if trie is None or len(col1) != 5 or len(col2) != 5 else tuple(parse_ptp_key(x) for x in trie.keys(col1 + col2))
            if len(self._pairs) > 500_000:
                self._pairs.clear()
            self._pairs[k] = found
        return found

    def _detail(self, code: str) -> dict:
        d = self._codes.get(code)
        if d is None:
            rec = self.release.get(code)
            d = rec.detail if rec is not None else {}
            if len(self._codes) > 100_000:
                self._codes.clear()
            self._codes[code] = d
        return d

    def mue(self, setting: str, code: str) -> Mue | None:
        k = (setting, code)
        if k in self._mues:
            return self._mues[k]
        row = self._detail(code).get("mue", {}).get(setting)
        found = Mue(setting, int(row[0]), str(row[1]), str(row[2]) if len(row) > 2 else "") if row else None
        if len(self._mues) > 100_000:
            self._mues.clear()
        self._mues[k] = found
        return found

    def addon(self, code: str) -> tuple[AddOnRow, ...]:
        found = self._addons.get(code)
        if found is None:
            found = tuple(AddOnRow(p or "", str(t), _day(e or ""), _day(d or "")) for p, t, e, d in self._detail(code).get(AOC, []))
            if len(self._addons) > 100_000:
                self._addons.clear()
            self._addons[code] = found
        return found
