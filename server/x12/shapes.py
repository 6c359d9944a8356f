"""How many elements and components X12 005010 gives the segments and places medcode reads
values from, and what is wrong with text written past them.

A payer's 999 rejects a segment with more elements, or a composite with more components, than
the standard defines (IK4 "too many data elements" / "too many components"), and an element
the transaction's TR3 marks "not used" (IK403 I10), which is how an 837I principal diagnosis HI
with an HI02 or an 837D HI with an HI05 fails: these are x12-structure errors, and what lies
past the limit is not read (no code there is checked, no HI diagnosis past the limit counts for
the pointers). The walk calls these from its memoized reads (one per distinct segment or HI
element), or behind a count that is cheap for every segment, so a large file pays once per
distinct text.
"""

from __future__ import annotations

HI_ELEMENTS = 12  # HI01-HI12
C022_COMPONENTS = 9  # an HI element: qualifier, code, date format, date, amount, quantity, version, range end, Y/N
C003_COMPONENTS = 8  # a procedure composite: qualifier, code, 4 modifiers, description, product ID
C004_COMPONENTS = 4  # a diagnosis pointer composite (SV107, SV311): pointers 1-4

# A problem of one segment, relative to the segment's start: (start, end, message, is an error).
ShapeProblem = tuple[int, int, str, bool]


HI_WHY = "X12 005010 allows HI01-HI12"  # the limit of every HI, unless the TR3 gives it fewer (hi_limit)


def hi_past_elements(raw: str, past: int, element: str, limit: int = HI_ELEMENTS, why: str = HI_WHY) -> ShapeProblem | None:
    """An HI segment (raw) whose elements go on past its `limit`, from `past` (where the first
    element past it starts); None when nothing is written there (trailing separators hide no
    code). `why`: the rule that sets the limit (hi_limit)."""
    extra = raw[past:]
    if not extra.strip(element):
        return None
    n = limit + extra.count(element) + 1
    return (
        past, len(raw),
        f"HI has {n} elements; {why}: HI{limit + 1:02d} and after ({extra!r}) are past the segment and not read (their codes are neither checked nor counted for the diagnosis pointers)",
        True,
    )  # fmt: skip


# The TR3s give some HI segments fewer elements than HI12, by their first qualifier: a 999 that
# checks the implementation guide rejects an element the TR3 marks "not used" (IK403 I10,
# "implementation not used data element present"), so these are errors like the ones above.
# Sources: 837I, the pyx12 map 837Q3.I.5010.X223.A1.xml (TR3-derived, shared/reference/
# formats.md §1.3): principal and admitting diagnosis HI01 only, patient's reason for visit
# HI01-HI03, external cause of injury and other diagnoses HI01-HI12. 837D: HI01-HI04, four
# diagnoses in all (formats.md, from Stedi's 005010X224A2 documentation). Per transaction kind
# (document.transaction_kind): qualifier -> (limit, why); "" stands for any qualifier.
_X223 = "the 837I TR3 (005010X223)"
HI_LIMITS: dict[str, dict[str, tuple[int, str]]] = {
    "I": {
        **{q: (1, f"{_X223} gives the principal diagnosis HI ({q}) HI01 only") for q in ("ABK", "BK")},
        **{q: (1, f"{_X223} gives the admitting diagnosis HI ({q}) HI01 only") for q in ("ABJ", "BJ")},
        **{q: (3, f"{_X223} gives the patient's reason for visit HI ({q}) HI01-HI03") for q in ("APR", "PR")},
    },
    "D": {"": (4, "the 837D TR3 (005010X224) allows HI01-HI04, four diagnoses")},
}


def hi_limit(kind: str, qualifier: str | None) -> tuple[int, str] | None:
    """How many elements an HI segment of this transaction kind, whose HI01 has this
    qualifier, may hold when the TR3 gives it fewer than 12, and why; None otherwise."""
    limits = HI_LIMITS.get(kind)
    if limits is None:
        return None
    return limits.get(qualifier or "") or limits.get("")


# Elements X12 005010 defines for each segment whose values medcode reads (the last position a
# value may sit; IK403 3, "too many data elements", past it). Sources: the pyx12 maps of
# 005010X222A1 / X223A1 and x12.control.00501 (which list every element of a segment, used or
# not); SV3 (837D, SV301-SV311), not in those maps: the 005010 SV3 segment, public knowledge.
SEGMENT_ELEMENTS = {
    "SV1": 21, "SV2": 10, "SV3": 11, "SV5": 7, "SVD": 6, "LIN": 31, "LX": 1, "CLM": 20, "DTP": 3,
    "DMG": 11, "SBR": 9, "HL": 4, "CL1": 4, "ST": 3, "SE": 2, "GS": 8, "GE": 2, "IEA": 2,
}  # fmt: skip


def past_elements(raw: str, element: str) -> ShapeProblem | None:
    """A segment (raw, its id first) with a value past the last element 005010 defines for it
    (SEGMENT_ELEMENTS), relative to its start; None when it has none, or only empty positions
    there. Callers ask only for segments they read once per distinct text, or cheaply."""
    seg_id = raw[: raw.find(element)] if element in raw else raw
    limit = SEGMENT_ELEMENTS.get(seg_id)
    if limit is None or raw.count(element) <= limit:
        return None
    at = -1
    for _ in range(limit + 1):
        at = raw.index(element, at + 1)
    extra = raw[at + 1 :]
    if not extra.strip(element):
        return None
    n = limit + extra.count(element) + 1
    return (
        at + 1, len(raw),
        f"{seg_id} has {n} elements; X12 005010 defines {seg_id}01-{seg_id}{limit:02d}: {seg_id}{limit + 1:02d} and after ({extra!r}) are past the segment and not read",
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
C023_COMPONENTS = 3  # CLM05: facility code, its qualifier, claim frequency
C023_WORDS = "the facility composite (C023) holds 3 (facility code, qualifier, claim frequency)"


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
