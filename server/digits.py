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
