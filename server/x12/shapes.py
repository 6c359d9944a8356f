"""How many elements and components X12 005010 gives the places medcode reads codes from, and
what is wrong with text written past them.

A payer's 999 rejects a segment with more elements, or a composite with more components, than
the standard defines (IK4 "too many data elements" / "too many components"): these are
x12-structure errors, and what lies past the limit is not read (no code there is checked, no HI
diagnosis past HI12 counts for the pointers). The walk calls these from its memoized reads
(one per distinct segment or HI element), so a large file pays once per distinct text.
"""

from __future__ import annotations

HI_ELEMENTS = 12  # HI01-HI12
C022_COMPONENTS = 9  # an HI element: qualifier, code, date format, date, amount, quantity, version, range end, Y/N
C003_COMPONENTS = 8  # a procedure composite: qualifier, code, 4 modifiers, description, product ID
C004_COMPONENTS = 4  # a diagnosis pointer composite (SV107, SV311): pointers 1-4

# A problem of one segment, relative to the segment's start: (start, end, message, is an error).
ShapeProblem = tuple[int, int, str, bool]


def hi_past_elements(raw: str, past: int, element: str) -> ShapeProblem | None:
    """An HI segment (raw) whose elements go on past HI12, from `past` (where HI13 starts);
    None when nothing is written there (trailing separators hide no code)."""
    extra = raw[past:]
    if not extra.strip(element):
        return None
    n = HI_ELEMENTS + extra.count(element) + 1
    return (
        past, len(raw),
        f"HI has {n} elements; X12 005010 allows HI01-HI12: HI13 and after ({extra!r}) are past the segment and not read (their codes are neither checked nor counted for the diagnosis pointers)",
        True,
    )  # fmt: skip


def past_components(value: str, comp: str, limit: int, what: str) -> ShapeProblem | None:
    """A composite element (value) with more than `limit` components: the problem relative to
    the element's start, on the components past the limit, its message to follow the
    element's name (SV101); None when it has no more, or only empty ones (trailing
    separators hide no code)."""
    if value.count(comp) < limit:
        return None
    parts = value.split(comp)
    at = sum(map(len, parts[:limit])) + limit
    extra = value[at:]
    if not extra.strip(comp):
        return None
    return (
        at, len(value),
        f"has {len(parts)} components; {what}: {extra!r} past it is not read",
        True,
    )  # fmt: skip


C022_WORDS = "an HI element (C022) holds 9 (qualifier, code, date format, date, amount, quantity, version, range end, Y/N)"
C003_WORDS = "the procedure composite (C003) holds 8 (qualifier, code, 4 modifiers, description, product ID)"
C004_WORDS = "the diagnosis pointer composite (C004) holds 4 pointers"


def pointer_problems(name: str, value: str, comp: str) -> list[ShapeProblem]:
    """A pointer composite (SV107, SV311) relative to its start: pointers past the 4th (an
    error, not read), and an empty pointer before a written one. C004-01 is mandatory, so an
    empty first pointer is an error a 999 rejects; an empty one further on is X12 syntax (an
    omitted component) that the TR3s do not foresee (pointers are written in order, 1 to 4): a
    warning, and the pointers around it are read."""
    out = []
    past = past_components(value, comp, C004_COMPONENTS, C004_WORDS)
    if past is not None:
        out.append((past[0], past[1], f"{name} {past[2]}", past[3]))
    parts = value.split(comp)[:C004_COMPONENTS]
    pos = 0
    for i, ptr in enumerate(parts):
        if not ptr and any(parts[i + 1 :]):
            if i == 0:
                message = f"{name}-01, the first diagnosis pointer, is empty: C004-01 is required (a 999 rejects it); the pointers after it are read"
            else:
                message = f"{name}-{i + 1:02d} is empty between two diagnosis pointers: the TR3 writes the pointers in order without a gap; the ones around it are read"
            # On the separators around the empty pointer (the first one's: the one after it).
            out.append((max(pos - 1, 0), pos + 1, message, i == 0))
            break
        pos += len(ptr) + 1
    return out
