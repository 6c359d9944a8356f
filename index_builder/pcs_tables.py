"""What each character of an ICD-10-PCS code means, read from a release's tables (reader side).

A PCS code is built from a table: characters 1-3 pick the table (section, body system,
operation), and one row of that table allows characters 4-7. The importer stores each table
in the release's ``tables`` keyed store under its 3-character prefix, as

    {"axes": {"1": {"title", "code", "label"[, "definition"]}, "2": {...}, "3": {...}},
     "rows": [{"4": {"title", "labels": {char: label}[, "definition"]}, ..., "7": {...}}, ...]}

so a hover can say "0DTJ4ZZ = Medical and Surgical / Gastrointestinal System / Resection /
Appendix / Percutaneous Endoscopic / No Device / No Qualifier" and which release said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .codesets import ICD10PCS_RE, compact

# Name of the keyed store the importer writes and this module reads.
TABLES_AUX = "tables"

# First character -> section (CMS; shared/reference/data_sources.md §4.3). Known even for a
# release imported without tables, e.g. the embedded code list.
SECTIONS: dict[str, str] = {
    "0": "Medical and Surgical",
    "1": "Obstetrics",
    "2": "Placement",
    "3": "Administration",
    "4": "Measurement and Monitoring",
    "5": "Extracorporeal or Systemic Assistance and Performance",
    "6": "Extracorporeal or Systemic Therapies",
    "7": "Osteopathic",
    "8": "Other Procedures",
    "9": "Chiropractic",
    "B": "Imaging",
    "C": "Nuclear Medicine",
    "D": "Radiation Therapy",
    "F": "Physical Rehabilitation and Diagnostic Audiology",
    "G": "Mental Health",
    "H": "Substance Abuse Treatment",
    "X": "New Technology",
}

_TABLE_POSITIONS = ("1", "2", "3")
_ROW_POSITIONS = ("4", "5", "6", "7")


class _HasAux(Protocol):
    def aux(self, name: str, key: str) -> Any | None: ...


@dataclass(frozen=True, slots=True)
class Meaning:
    """One character of a code: its position (1-7), the axis it sits on, and what it means there."""

    position: int
    title: str  # the axis title, e.g. "Body Part", "Approach" (other sections rename axes 3-7)
    character: str
    label: str
    definition: str | None = None


def table(release: _HasAux, prefix: str) -> dict[str, Any] | None:
    """The stored table for a 3-character prefix, or None (no tables in the release, no such table)."""
    key = compact(prefix)[:3]
    if len(key) != 3:
        return None
    doc = release.aux(TABLES_AUX, key)
    return doc if isinstance(doc, dict) else None


def meanings(release: _HasAux, code: str) -> list[Meaning] | None:
    """Each character's meaning for a 7-character code (or the first three for a table prefix).

    None when the release has no tables, the code's table is not among them, or no row of the
    table allows characters 4-7: then the tables do not make this code, and saying what its
    characters "mean" would be a guess.
    """
    key = compact(code)
    if not (ICD10PCS_RE.match(key) or (len(key) == 3 and ICD10PCS_RE.match(key + "0000"))):
        return None
    doc = table(release, key[:3])
    if doc is None:
        return None
    try:
        out = []
        for pos in _TABLE_POSITIONS:
            axis = doc["axes"][pos]
            out.append(Meaning(int(pos), axis["title"], axis["code"], axis["label"], axis.get("definition")))
        if len(key) == 3:
            return out
        for row in doc["rows"]:
            axes = [row[pos] for pos in _ROW_POSITIONS]
            if all(ch in axis["labels"] for ch, axis in zip(key[3:], axes)):
                return out + [
                    Meaning(int(pos), axis["title"], ch, axis["labels"][ch], axis.get("definition"))
                    for pos, ch, axis in zip(_ROW_POSITIONS, key[3:], axes)
                ]
    except (KeyError, TypeError, AttributeError):
        # A table document not in the shape above (a damaged or foreign index): no meanings
        # rather than a crash in the middle of a hover.
        return None
    return None


def summary(found: list[Meaning]) -> str:
    """'Medical and Surgical / Gastrointestinal System / Resection / Appendix / ...'."""
    return " / ".join(m.label for m in found)
