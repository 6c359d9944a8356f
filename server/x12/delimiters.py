"""Finding an interchange's delimiters in its ISA segment, tolerantly.

The ISA segment is fixed width (106 characters with its terminator) and names every delimiter:
the element separator right after "ISA", the repetition separator in ISA11 (5010), the
component separator in ISA16 and the segment terminator after it. Real files bend this: BOMs,
indentation, a newline as terminator, ISA11 = "U" in 5010 files, padding errors. We read the
delimiters by splitting on the element separator rather than trusting fixed offsets, and report
what is wrong without giving up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ISA_LENGTH = 106
# The element separator after "ISA": no letter, digit or white space, but FS, GS, RS and US
# (0x1c-0x1f), which some trading partners use as delimiters, are white space to `\s`.
_ISA_RE = re.compile(r"ISA(?=[\x1c-\x1f]|[^A-Za-z0-9\s])")
# Where a fragment without envelope may start: a GS or ST segment.
_FRAGMENT_RE = re.compile(r"(?:GS|ST)\*")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the envelope, at an offset range of the document."""

    start: int
    end: int
    message: str
    fix: str | None = None  # replacement text for [start, end), when one is obvious
    error: bool = False  # an X12 syntax error a payer's 999 rejects (else a warning)


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    segment: str = "~"
    repetition: str | None = None
    version: str = "00501"
    start: int = 0  # offset of "ISA" (or of the first segment of a fragment)
    has_isa: bool = True
    isa16_offset: int | None = None  # where ISA16 sits, for a fix that rewrites it


@dataclass
class Detection:
    delimiters: Delimiters | None  # None: not X12
    problems: list[Problem] = field(default_factory=list)


def find_isa(text: str) -> int | None:
    """Offset of the ISA that starts the text, after a BOM and whitespace; None if not X12."""
    i = 0
    if text.startswith("\ufeff"):
        i = 1
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i if _ISA_RE.match(text, i) else None


def looks_like_x12(text: str) -> bool:
    return find_isa(text) is not None or _fragment_start(text) is not None


def _fragment_start(text: str) -> int | None:
    head = text[:4096].lstrip("\ufeff \t\r\n")
    if not _FRAGMENT_RE.match(head) or "ST*837" not in text[:4096]:
        return None
    return text.index(head[:3])


def detect(text: str) -> Detection:
    start = find_isa(text)
    if start is None:
        frag = _fragment_start(text)
        if frag is None:
            return Detection(None)
        # A GS/ST fragment: the usual delimiters, and a warning that the envelope is missing.
        seg = "~" if "~" in text[frag : frag + 4096] else "\n"
        return Detection(
            Delimiters(segment=seg, start=frag, has_isa=False),
            [Problem(frag, frag + 2, "no ISA interchange envelope: default delimiters (* : ~) assumed")],
        )

    problems: list[Problem] = []
    element = text[start + 3]
    # ISA has 16 elements: split a generous window and take them by position.
    window = text[start : start + 400]
    parts = window.split(element)
    if len(parts) < 17:
        return Detection(
            Delimiters(element=element, start=start),
            [Problem(start, start + 3, "ISA segment is incomplete: it needs 16 elements")],
        )
    isa16_offset = start + sum(len(p) + 1 for p in parts[:16])
    component = parts[16][:1]
    after = parts[16][1:]
    terminator = after[:1]
    if terminator in ("", " "):
        terminator = after.lstrip(" ")[:1]
    if terminator in ("\r", "\n"):
        terminator = "\n"
    version = parts[12].strip()
    repetition = parts[11][:1] if version >= "00501" else None
    if repetition is not None and (repetition.isalnum() or repetition in (element, component)):
        # Common in real 5010 files (ISA11 "U" kept from 4010): no repetition separator then,
        # or "UN" unit codes would be split.
        repetition = None
    isa_len = isa16_offset - start + 2
    if terminator == "\n":
        isa_len = isa16_offset - start + 1
    if isa_len != ISA_LENGTH and terminator != "\n":
        problems.append(
            Problem(start, start + 3, f"ISA segment is {isa_len} characters long, not {ISA_LENGTH}: check the padding of its fixed-width elements")
        )
    if not component or component.isalnum() or component == element:
        problems.append(Problem(isa16_offset, isa16_offset + 1, f"ISA16 component separator {component!r} is not usable"))
        component = ":"
    if not terminator or terminator.isalnum() or terminator in (element, component):
        problems.append(Problem(isa16_offset + 1, isa16_offset + 2, "no segment terminator after ISA16"))
        terminator = "~"
    return Detection(
        Delimiters(element, component, terminator, repetition, version or "00501", start, True, isa16_offset),
        problems,
    )
