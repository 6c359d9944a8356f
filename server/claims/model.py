"""A claim as the claim rules see it, whatever file it came from (X12 837 today, FHIR later)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PROFESSIONAL = "professional"  # 837P, CMS-1500
INSTITUTIONAL = "institutional"  # 837I, UB-04
DENTAL = "dental"


@dataclass(slots=True)
class ServiceLine:
    index: int  # position among the claim's service lines, from 0
    number: str  # the line number as written (LX01)
    code: str  # procedure code (HCPCS Level II or CPT), upper case
    modifiers: tuple[str, ...]
    units: float | None  # None when not written or not a number
    date: dt.date | None  # the line's date of service, else the claim's
    start: int  # the code's span in the document
    end: int
    # Where a modifier can be added (the end of the last modifier or of the code) and the
    # separator to write before it; None when the composite has no room (four modifiers, or
    # a description after them).
    insert_at: int | None = None
    separator: str = ":"
    composite_start: int = -1  # where the procedure composite (qualifier and code) starts

    @property
    def shown_units(self) -> str:
        if self.units is None:
            return "?"
        return f"{self.units:g}"


@dataclass(slots=True)
class Claim:
    id: str
    form: str  # PROFESSIONAL, INSTITUTIONAL, DENTAL or ""
    start: int
    end: int
    date: dt.date | None = None  # the claim's own date of service (statement or first line)
    bill_type: str = ""  # institutional: facility type code (CLM05-1, e.g. "13"), else ""
    lines: list[ServiceLine] = field(default_factory=list)

    def by_date(self) -> dict[dt.date | None, list[ServiceLine]]:
        """Service lines grouped by date of service, in claim order."""
        out: dict[dt.date | None, list[ServiceLine]] = {}
        for line in self.lines:
            out.setdefault(line.date, []).append(line)
        return out

    def line_at(self, offset: int) -> ServiceLine | None:
        return next((ln for ln in self.lines if ln.start <= offset <= ln.end), None)
