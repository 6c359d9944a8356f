"""What a reader of a CSV, JSON or template document hands to the rules and the editor.

X12 has its own streaming walk (x12/document.py); the other kinds are read whole into a
Reading: every code place as a Slot (text, exact offset, and in `expects` the set or kind of
code the place demands), the document's date, structural problems, and the headers an editor
can explain on hover.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterator, Protocol

from .findings import Finding
from .x12.slots import Slot

# Kinds of documents (analysis.Analysis.kind).
HPT_CSV = "hpt-csv"  # CMS hospital price transparency standard charges, CSV (tall or wide)
CDM_CSV = "cdm-csv"  # an internal chargemaster / price list with code columns
HPT_JSON = "hpt-json"  # CMS standard charges, JSON
TEMPLATE = "template"  # clinical documentation template (Markdown or text)
FHIR = "fhir"  # HL7 FHIR R4 Claim / ExplanationOfBenefit resources (JSON, Bundle, NDJSON)

# What a place demands beyond the five indexed sets (codesets.OFFICIAL_SETS). HPT files name
# the type of every code ("code|1|type"); these are the types that are not one of our sets.
ICD_ANY = "icd"  # ICD-10-CM or ICD-10-PCS, told apart by shape
PROCEDURE_ANY = "procedure"  # CPT or HCPCS Level II, told apart by shape (x12.vocabulary.PROCEDURE)
REVENUE = "revenue"  # NUBC revenue code: 3 or 4 digits
MS_DRG = "ms-drg"  # 1-3 digits, often unpadded
OTHER_DRG = "drg"  # DRG families other than MS-DRG: digits, not indexed
CDT = "cdt"  # ADA dental codes: D and 4 digits, not indexed
APC = "apc"
HIPPS = "hipps"
EAPG = "eapg"
CMG = "cmg"
LOCAL = "local"  # LOCAL / CDM: the hospital's own codes, never flagged


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
