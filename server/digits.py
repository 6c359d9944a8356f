"""Numbers as the file formats write them: ASCII 0-9 only.

str.isdigit() and str.isdecimal() also accept other scripts' digits ("١", "３"), which int()
reads, and isdigit() superscripts and circled numbers ("²", "①"), which int() refuses with a
ValueError. No X12, FHIR or CMS file means either: a count, pointer, date or port of them must
read as what it is, not as a number, nor end the check with an internal error.
"""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """Whether text is one or more ASCII digits (what int() then reads without fail)."""
    return text.isascii() and text.isdigit()


def long_integer_at(text: str, start: int = 0, end: int | None = None) -> int | None:
    """Where the first integer too long for int() starts in text[start:end], or None. CPython
    refuses to convert more than sys.get_int_max_str_digits() digits (4300; a guard against
    quadratic work), so the json module raises a plain ValueError, not JSONDecodeError, for
    such a number in valid JSON; this finds it for the message. Asked only after that error."""
    import re
    import sys

    limit = sys.get_int_max_str_digits()
    if not limit:
        return None
    m = re.compile(r"(?<![0-9.eE+-])-?[0-9]{%d,}(?![0-9.eE])" % (limit + 1)).search(text, start, len(text) if end is None else end)
    return None if m is None else m.start()


def long_integer_message() -> str:
    import sys

    return f"a number of more than {sys.get_int_max_str_digits()} digits, longer than medcode reads"
