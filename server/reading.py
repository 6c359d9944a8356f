"""What a reader of a CSV, JSON or template document hands to the rules and the editor.

X12 has its own streaming walk (x12/document.py); the other kinds are read whole into a
Reading: every code place as a places.Slot (text, exact offset, and in `expects` the set or kind of
code the place demands), the document's date, structural problems, and the headers an editor
can explain on hover.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterator, Protocol

from .findings import Finding
from .places import Slot

# Kinds of documents (analysis.Analysis.kind).
X12 = "x12"  # X12 837 P/I/D claims, walked by x12/document.py rather than read into a Reading
NONE = "none"  # none of the kinds medcode reads
HPT_CSV = "hpt-csv"  # CMS hospital price transparency standard charges, CSV (tall or wide)
CDM_CSV = "cdm-csv"  # an internal chargemaster / price list with code columns
HPT_JSON = "hpt-json"  # CMS standard charges, JSON
TEMPLATE = "template"  # clinical documentation template (Markdown or text)
FHIR = "fhir"  # HL7 FHIR R4 Claim / ExplanationOfBenefit resources (JSON, Bundle, NDJSON)


@dataclass(frozen=True, slots=True)
class Header:
    """A header cell (or key) an editor can explain on hover."""

    start: int
    end: int
    text: str
    meaning: str


class HeaderFinder(Protocol):
    """Headers a reader works out from the text on demand instead of keeping one object per
    key (a price JSON repeats `code` and `type` in every one of its entries)."""

    def at(self, offset: int) -> Header | None: ...

    def all(self) -> Iterator[Header]: ...


@dataclass
class Reading:
    kind: str
    slots: list[Slot] = field(default_factory=list)  # sorted by start
    day: dt.date | None = None  # the date codes are judged on: last_updated_on, date_of_service
    problems: list[Finding] = field(default_factory=list)
    headers: list[Header] = field(default_factory=list)
    version: str | None = None  # HPT template version as written ("3.0.0", "2.0")
    more_headers: HeaderFinder | None = None  # the headers not kept in `headers`

    def header_at(self, offset: int) -> Header | None:
        """The header whose text holds offset (ends included), kept or found on demand."""
        header = next((h for h in self.headers if h.start <= offset <= h.end), None)
        if header is None and self.more_headers is not None:
            header = self.more_headers.at(offset)
        return header

    def all_headers(self) -> list[Header]:
        """Every header, kept or not, by start (for tests and tools, not per keystroke)."""
        found = list(self.headers) + (list(self.more_headers.all()) if self.more_headers is not None else [])
        return sorted(found, key=lambda h: h.start)
