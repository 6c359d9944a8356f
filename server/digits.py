"""Numbers as the file formats write them: ASCII 0-9 only.

str.isdigit() and str.isdecimal() also accept other scripts' digits ("١", "３"), which int()
reads, and isdigit() superscripts and circled numbers ("²", "①"), which int() refuses with a
ValueError, as it does more than 4300 digits. No X12, FHIR or CMS file means any of these: a
count, pointer, date or port of them must read as what it is, not as a number, nor end the
check with an internal error.
"""

from __future__ import annotations

import sys

# int() refuses more digits than this (CPython's guard against quadratic conversion; 0: none).
_INT_DIGITS = sys.get_int_max_str_digits() or sys.maxsize


def is_digits(text: str) -> bool:
    """Whether text is one or more ASCII digits, not more than int() reads without fail."""
    return text.isascii() and text.isdigit() and len(text) <= _INT_DIGITS


def long_integer_at(text: str, start: int = 0, end: int | None = None) -> int | None:
    """Where the first integer too long for int() starts in text[start:end], or None. CPython
    refuses to convert more than sys.get_int_max_str_digits() digits (4300; a guard against
    quadratic work), so the json module raises a plain ValueError, not JSONDecodeError, for
    such a number in valid JSON; this finds it for the message. Asked only after that error."""
    import re

    if _INT_DIGITS == sys.maxsize:
        return None
    m = re.compile(r"(?<![0-9.eE+-])-?[0-9]{%d,}(?![0-9.eE])" % (_INT_DIGITS + 1)).search(text, start, len(text) if end is None else end)
    return None if m is None else m.start()


def long_integer_message() -> str:
    return f"a number of more than {_INT_DIGITS} digits, longer than medcode reads"
