"""The date of a CMS price transparency file (`last_updated_on`), read one way for CSV and JSON.

The template asks for YYYY-MM-DD; real files also write M/D/YYYY, the ISO basic form
(20240105), unpadded parts (2024-1-5) and a date-time (2024-01-05T10:00). Each of these gives
the date; anything else, an impossible date or trailing words, gives None, so the reader can
say so instead of judging codes on a day the file does not state.
"""

from __future__ import annotations

import datetime as dt
import re

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    # An optional time of day (and zone), which says nothing about the date's codes.
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)

# How messages describe the accepted forms.
FORMS = "YYYY-MM-DD (M/D/YYYY, MM/DD/YYYY, YYYYMMDD and a date-time are also accepted)"


def last_updated_on(value: str) -> dt.date | None:
    """The date a `last_updated_on` value gives, or None when it gives none."""
    value = value.strip()
    try:
        if m := _ISO.fullmatch(value) or _BASIC.fullmatch(value):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _US.fullmatch(value):
            return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:  # 2024-02-30, 13/01/2024
        return None
    return None
