"""Publication periods shared by importers: ICD-10 fiscal years and their April updates."""

from __future__ import annotations

import datetime as dt
import re

# "April" or a standalone "Apr" in a file name marks the mid-year ICD-10 update.
APRIL_RE = re.compile(r"april|(?<![a-z])apr(?![a-z])", re.IGNORECASE)


def fiscal_year(year: int, april: bool = False) -> tuple[dt.date, dt.date]:
    """FY2026 runs from 2025-10-01 to 2026-09-30; its April update from 2026-04-01."""
    start = dt.date(year, 4, 1) if april else dt.date(year - 1, 10, 1)
    return start, dt.date(year, 9, 30)


def fiscal_label(year: int, april: bool = False) -> str:
    return f"FY{year}-Apr" if april else f"FY{year}"
