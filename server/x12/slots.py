"""The places in a segment where codes sit, and which code set each place demands.

Which set a code belongs to comes from its place (HI qualifier, SV1/SV2/SV3 qualifier, LIN02),
never from its shape alone.

`codes_in` works on a segment's raw text and returns plain tuples: the document walk calls it
for every code-bearing segment of large files, where objects per code would cost too much.
`slots_of` gives the same places as X12Slot objects for hover, completion and rules.
"""

from __future__ import annotations

from medcode.index_builder.codesets import NDC

from ..places import CDT, MODIFIER, POINTER, REVENUE, Slot
from .segments import Segment
from .shapes import C003_COMPONENTS, C003_WORDS, C004_COMPONENTS, C022_COMPONENTS, C022_WORDS, HI_ELEMENTS, HI_LIMITS, HI_WHY, SEGMENT_ELEMENTS, ShapeProblem, hi_limit, hi_past_elements, past_components, past_elements, pointer_problems
from .vocabulary import HI_QUALIFIERS, HI_UNREADABLE, PROCEDURE_QUALIFIERS, PRODUCT_QUALIFIERS

CODE_SEGMENTS = frozenset({"HI", "SV1", "SV2", "SV3", "SV5", "SVD", "LIN"})
# Composite separators seen in real files whose ISA16 says otherwise.
COMPONENT_CANDIDATES = ">:^|\\!"

# (expects, text, start, qualifier, qualifier start, place, is an HI diagnosis)
CodeTuple = tuple[str | None, str, int, str | None, int | None, str, bool]

_HI_PLACES = [f"HI{n:02d}-02" for n in range(HI_ELEMENTS + 1)]
_HI_ELEMENT_PLACES = _HI_PLACES[1:]  # HI01 to HI12: zip stops there (a 13th piece is the rest)
# The qualifier itself comes back too: the code tuples then hold this one string, whose hash is
# kept, rather than a fresh copy per element (the rules' memo hashes it for every code).
_HI_EXPECTS = {q: (q, v.expects, v.diagnosis) for q, v in HI_QUALIFIERS.items()}
_PROC_EXPECTS = {q: v.expects for q, v in PROCEDURE_QUALIFIERS.items()}
# Per segment: which element holds the procedure composite, and where pointers / revenue are.
PROCEDURE_ELEMENT = {"SV1": 1, "SV2": 2, "SV3": 1, "SV5": 1, "SVD": 3}
POINTER_ELEMENT = {"SV1": 7, "SV3": 11}
_REVENUE_ELEMENT = {"SV2": 1, "SVD": 4}
_MODIFIER_PLACES = {(seg, i): f"{seg}{n:02d}-{i:02d}" for seg, n in PROCEDURE_ELEMENT.items() for i in range(3, 7)}
_CODE_PLACES = {seg: f"{seg}{n:02d}-02" for seg, n in PROCEDURE_ELEMENT.items()}
_REVENUE_PLACES = {seg: f"{seg}{n:02d}" for seg, n in _REVENUE_ELEMENT.items()}
_POINTER_PLACES = {seg: f"{seg}{n:02d}" for seg, n in POINTER_ELEMENT.items()}
_PROCEDURE_NAMES = {seg: f"{seg}{n:02d}" for seg, n in PROCEDURE_ELEMENT.items()}


class X12Slot(Slot):
    """A Slot in an 837 segment: its role is worded from the qualifier and the place."""

    __slots__ = ()

    @property
    def role(self) -> str:
        if self.label is not None:
            return self.label
        q = self.qualifier
        if self.expects == POINTER:
            return "diagnosis code pointer"
        if self.expects == REVENUE:
            return "revenue code"
        if self.expects == MODIFIER:
            return "procedure modifier"
        if self.place.startswith("HI"):
            if q is None:
                return "HI element without a qualifier"
            hi = HI_QUALIFIERS.get(q or "")
            return hi.meaning if hi else f"code with qualifier {q}"
        if self.place == "LIN03":
            return PRODUCT_QUALIFIERS.get(q or "", f"product id with qualifier {q}")
        proc = PROCEDURE_QUALIFIERS.get(q or "")
        return proc.meaning if proc else f"procedure code with qualifier {q}"


def _at(values: list[str], n: int, start: int) -> int:
    """Where element n starts, given the segment's start (C-speed sums, no loop in Python)."""
    return start + sum(map(len, values[:n])) + n


def codes_in(seg_id: str, start: int, raw: str, element: str, comp: str, pointers: bool = True, values: list[str] | None = None) -> list[CodeTuple]:
    """Every code-bearing place of one segment (raw text starting with its id at `start`).

    With pointers=False the diagnosis pointers are left out: the document walk checks them
    in bulk (pointers_in) because nearly all are fine. `values`: raw split at `element`, when
    the caller has it already (not used for HI)."""
    if seg_id == "HI":
        return hi_codes(start, raw, element, comp)[0]
    out: list[CodeTuple] = []
    if values is None:
        values = raw.split(element)
    if seg_id == "LIN":
        if len(values) > 3 and values[3]:
            qual = values[2]
            qual_start = _at(values, 2, start)
            out.append((NDC if qual == "N4" else None, values[3], qual_start + len(qual) + 1, qual, qual_start, "LIN03", False))
        return out
    n = PROCEDURE_ELEMENT.get(seg_id)
    if n is None:
        return out
    rev = _REVENUE_ELEMENT.get(seg_id)
    if rev is not None and rev < len(values) and values[rev]:
        out.append((REVENUE, values[rev], _at(values, rev, start), None, None, _REVENUE_PLACES[seg_id], False))
    if n < len(values) and comp in values[n]:
        parts = values[n].split(comp)
        qual = parts[0]
        if qual:
            expects = _PROC_EXPECTS.get(qual)
            if seg_id == "SV3" and qual == "AD":
                expects = CDT
            composite_start = start + len(values[0]) + 1 if n == 1 else _at(values, n, start)
            pos = composite_start + len(qual) + 1
            if parts[1]:
                out.append((expects, parts[1], pos, qual, composite_start, _CODE_PLACES[seg_id], False))
            pos += len(parts[1]) + 1
            # Components 3-6 are modifiers (7 is a free-text description).
            for i, mod in enumerate(parts[2:6], start=3):
                if mod:
                    out.append((MODIFIER, mod, pos, qual, composite_start, _MODIFIER_PLACES[(seg_id, i)], False))
                pos += len(mod) + 1
    if pointers:
        out += pointers_in(seg_id, start, raw, element, comp, values)
    return out


def hi_codes(start: int, raw: str, element: str, comp: str, memo: dict[str, tuple] | None = None, pasts: dict[str, ShapeProblem] | None = None, kind: str = "") -> tuple[list[CodeTuple], int, bool, list[ShapeProblem] | None]:
    """The places of an HI segment (as codes_in), how many of them are diagnoses (pointers
    count these), whether one could not be read and what is written past the limits of the
    segment or its elements (shapes.py; at document offsets, None when nothing is): the walk
    calls this for every claim, and takes all four from one pass over the elements.

    `memo`: element text -> hi_element(), for the separator `comp` (the walk keeps one per
    separator in use): a file repeats the same few thousand qualifier:code elements, so each is
    cut once, and its code string is then one object, whose hash the rules' memos keep.
    `pasts`: the elements read so far that go past C022 (hi_element), kept beside the memo:
    while it is empty, as in nearly every file, an element costs nothing more to read.
    `kind`: the transaction's ("P", "I", "D"; document.transaction_kind), whose TR3 may give
    the segment fewer elements by its HI01 qualifier (shapes.hi_limit): past them nothing is
    read, as past HI12."""
    out: list[CodeTuple] = []
    diagnoses = 0
    unreadable = False
    pos = start + 3
    if memo is None:
        memo = {}
    if pasts is None:
        pasts = {}
    get = memo.get
    # HI01 to HI12, and in a 13th piece whatever is written past HI12 (zip leaves it).
    pieces = raw[3:].split(element, HI_ELEMENTS)
    limit, places, why = HI_ELEMENTS, _HI_ELEMENT_PLACES, HI_WHY
    if kind in HI_LIMITS and len(pieces) > 1:  # one element is within every limit
        rule = hi_limit(kind, pieces[0].partition(comp)[0])
        if rule is not None and rule[0] < len(pieces):
            limit, why = rule
            places = _HI_ELEMENT_PLACES[:limit]
    for place, value in zip(places, pieces):
        el_start = pos
        pos += len(value) + 1
        read = get(value)
        if read is None:
            read = hi_element(value, comp, pasts)
            if len(memo) < HI_ELEMENTS_MAX:
                memo[value] = read
        if read is _NO_CODE:
            continue
        expects, code, at, qual, diagnosis = read
        if diagnosis:
            diagnoses += 1
        elif expects == HI_UNREADABLE:
            unreadable = True
        out.append((expects, code, el_start + at, qual, None if qual is None else el_start, place, diagnosis))
    shape = _hi_pasts(start, places, pieces, pasts) if pasts else None
    if len(pieces) > limit:
        found = hi_past_elements(raw, pos - start, element, limit, why)
        if found is not None:
            shape = (shape or []) + [(start + found[0], start + found[1], found[2], found[3])]
    return out, diagnoses, unreadable, shape


def _hi_pasts(start: int, places: list[str], pieces: list[str], pasts: dict[str, ShapeProblem]) -> list[ShapeProblem] | None:
    """The problems of the segment's elements read (`places`) that go past C022, at document
    offsets."""
    out = []
    pos = start + 3
    for place, value in zip(places, pieces):
        past = pasts.get(value)
        if past is not None:
            out.append((pos + past[0], pos + past[1], f"{place[:4]} {past[2]}", past[3]))
        pos += len(value) + 1
    return out or None


HI_ELEMENTS_MAX = 20_000  # distinct HI elements kept by one walk's memo (a few MB at most)
_NO_CODE = ()  # an HI element with nothing to check (empty, or a qualifier without a code)


def hi_element(value: str, comp: str, pasts: dict[str, ShapeProblem] | None = None) -> tuple:
    """One HI element, read relative to its start: (expects, code, code offset, qualifier or
    None, is a diagnosis), or _NO_CODE. One that goes past C022 is put in `pasts` with its
    problem (shapes.past_components, relative to the element, without its name)."""
    qual, sep, rest = value.partition(comp)
    if not sep:
        # Qualifier and code need a component separator between them.
        return (HI_UNREADABLE, value, 0, None, False) if value.strip() else _NO_CODE
    code, more, tail = rest.partition(comp)
    # Past C022's 9 components: 7 separators or more after the code's.
    if more and pasts is not None and tail.count(comp) >= C022_COMPONENTS - 2 and len(pasts) < HI_ELEMENTS_MAX:
        past = past_components(value, comp, C022_COMPONENTS, C022_WORDS)
        if past is not None:
            pasts[value] = past
    if not code:
        return _NO_CODE
    found = _HI_EXPECTS.get(qual)
    if found is None:
        return (HI_UNREADABLE, code, len(qual) + 1, qual, False)
    return (found[1], code, len(qual) + 1, found[0], found[2])


def pointers_in(seg_id: str, start: int, raw: str, element: str, comp: str, values: list[str] | None = None) -> list[CodeTuple]:
    """The diagnosis pointers of an SV1 / SV3 segment."""
    p = POINTER_ELEMENT.get(seg_id)
    if p is None:
        return []
    values = values if values is not None else raw.split(element)
    if p >= len(values) or not values[p]:
        return []
    out = []
    pos = _at(values, p, start)
    place = _POINTER_PLACES[seg_id]
    for ptr in values[p].split(comp)[:C004_COMPONENTS]:  # past C004: not read (shapes.py)
        if ptr:
            out.append((POINTER, ptr, pos, None, None, place, False))
        pos += len(ptr) + 1
    return out


def line_shape(seg_id: str, values: list[str], comp: str, element: str = "*") -> tuple[ShapeProblem, ...]:
    """What a code segment other than HI (split into values at `element`) writes past the
    limits of its procedure and pointer composites, or past its last element (shapes.py),
    relative to the segment's start."""
    out: list[ShapeProblem] = []
    n = PROCEDURE_ELEMENT.get(seg_id)
    if n is not None and n < len(values) and values[n].count(comp) >= C003_COMPONENTS:
        found = past_components(values[n], comp, C003_COMPONENTS, C003_WORDS)
        if found is not None:
            at = _at(values, n, 0)
            out.append((at + found[0], at + found[1], f"{_PROCEDURE_NAMES[seg_id]} {found[2]}", found[3]))
    p = POINTER_ELEMENT.get(seg_id)
    if p is not None and p < len(values):
        pointers = values[p]
        if pointers.count(comp) >= C004_COMPONENTS or comp + comp in pointers or pointers.startswith(comp):
            at = _at(values, p, 0)
            out += [(at + s, at + e, message, error) for s, e, message, error in pointer_problems(_POINTER_PLACES[seg_id], pointers, comp)]
    if len(values) > SEGMENT_ELEMENTS.get(seg_id, len(values)) + 1:
        found = past_elements(element.join(values), element)
        if found is not None:
            out.append(found)
    return tuple(out)


def make_slot(t: CodeTuple, line: object | None = None) -> X12Slot:
    expects, text, start, qual, qual_start, place, diagnosis = t
    return X12Slot(text, start, expects, place, qual, qual_start, diagnosis, line)


def slots_of(seg: Segment, comp: str) -> list[X12Slot]:
    """Every code-bearing place in one parsed segment, given the component separator in use."""
    return [make_slot(t) for t in codes_in(seg.id, seg.start, seg.text, seg.delims.element, comp)]


def effective_component(seg_id: str, raw: str, element: str, declared: str) -> str | None:
    """The separator a code-bearing composite really uses when it is not the declared one
    (e.g. `HI*BK>7215` under ISA16 ':'), or None when the declared one fits."""
    n = 1 if seg_id == "HI" else PROCEDURE_ELEMENT.get(seg_id)
    if n is None:
        return None
    values = raw.split(element)
    text = values[n] if n < len(values) else ""
    if not text or declared in text:
        return None
    for i in (2, 3):  # after a 2- or 3-letter qualifier
        if len(text) > i + 1 and text[:i].isalpha() and text[i] in COMPONENT_CANDIDATES and text[i] != declared:
            return text[i]
    return None
