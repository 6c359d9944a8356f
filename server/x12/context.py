"""What is under the cursor in an 837: the segment, element and component, the code slot, and
the claim around it (for its dates of service). Works on the text alone, so hover and
completion never wait for a whole-document check."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..places import Slot
from .delimiters import Delimiters
from .document import UNITS_ELEMENT, Claim, ClaimCodes, Line, parse_date, transaction_kind
from .segments import Segment, segment_at, segments_from
from .slots import codes_in, slots_of

_CLAIM_SCAN_LIMIT = 200_000  # characters: a claim is far smaller; bounded work on broken files
_CLAIM_WINDOW = 4096  # characters split into segments at a time while reading a claim


@dataclass
class Cursor:
    segment: Segment
    element: int  # 0 is the segment id
    component: int  # 0-based within the element
    part_start: int  # where the component under the cursor starts
    part_text: str
    slot: Slot | None  # a code slot covering the cursor
    qualifier_of: Slot | None  # a slot whose qualifier covers the cursor


def cursor_at(text: str, delims: Delimiters, component: str, offset: int) -> Cursor | None:
    seg = segment_at(text, delims, offset)
    if seg is None:
        return None
    # Element and component under the cursor, counting separators before it.
    rel = offset - seg.start
    before = seg.text[:rel]
    element = before.count(delims.element)
    el_start = seg.start + (before.rfind(delims.element) + 1 if element else 0)
    el_text = seg.value(element)
    in_el = offset - el_start
    comp_index = el_text[:in_el].count(component)
    comp_start = el_start + (el_text[:in_el].rfind(component) + 1 if comp_index else 0)
    comp_text = el_text.split(component)[comp_index] if comp_index < len(el_text.split(component)) else ""
    slot = qual = None
    for s in slots_of(seg, component):
        if s.start <= offset <= s.end:
            slot = s
        elif s.qual_start is not None and s.qualifier and s.qual_start <= offset <= s.qual_start + len(s.qualifier):
            qual = s
    return Cursor(seg, element, comp_index, comp_start, comp_text, slot, qual)


def _claim_start(text: str, delims: Delimiters, offset: int) -> int | None:
    """Offset of the last CLM segment starting at or before offset (searching backwards with
    str.rfind: hover must not scan the file)."""
    needle = "CLM" + delims.element
    lo = max(delims.start, offset - _CLAIM_SCAN_LIMIT)
    hi = offset + len(needle)
    while True:
        at = text.rfind(needle, lo, hi)
        if at < 0:
            return None
        window = text[max(lo, at - 64) : at]
        if delims.segment == "\n":
            starts_segment = window.rstrip(" \t").endswith(("\n", "\r"))
        else:
            starts_segment = window.rstrip(" \t\r\n").endswith(delims.segment)
        if at == delims.start or not window.strip() or starts_segment:
            return at
        hi = at + len(needle) - 1


@dataclass
class ClaimContext:
    claim: Claim
    diagnoses: list[tuple[str, str]]  # (qualifier, code) of each HI diagnosis position, in order
    codes: ClaimCodes = field(default_factory=list)  # service line codes, as the walk gives them


def claim_around(text: str, delims: Delimiters, component: str, offset: int, transaction: bool = True) -> ClaimContext | None:
    """The claim (CLM to the next claim boundary) containing offset: dates, lines, diagnoses,
    and its transaction's kind unless `transaction` is false (a search back through up to
    megabytes for the ST, which completion, needing only the dates, goes without)."""
    t, e = delims.segment, delims.element
    start = _claim_start(text, delims, offset)
    if start is None:
        return None
    claim: Claim | None = None
    line: Line | None = None
    diagnoses: list[tuple[str, str]] = []
    codes: ClaimCodes = []
    # A window at a time: the claim ends within a few hundred characters, and splitting the
    # whole scan limit took milliseconds of every hover and completion.
    for seg_id, seg_start, raw in segments_from(text, delims, start, min(len(text), start + _CLAIM_SCAN_LIMIT), _CLAIM_WINDOW):
        if claim is not None and seg_id in ("CLM", "HL", "SE", "GE", "IEA", "ST", "GS", "ISA"):
            break
        values = raw.split(e)
        if seg_id == "CLM":
            claim = Claim(values[1] if len(values) > 1 else "", seg_start, seg_start + len(raw), "")
        elif claim is None:
            continue
        elif seg_id == "HI":
            for t in codes_in(seg_id, seg_start, raw, e, component):
                if t[6]:
                    diagnoses.append((t[3], t[1]))
        elif seg_id == "LX":
            line = Line(values[1] if len(values) > 1 else "", seg_start)
            claim.lines.append(line)
        elif seg_id in UNITS_ELEMENT and line is not None:
            codes.append((line, codes_in(seg_id, seg_start, raw, e, component, pointers=False)))
            n = UNITS_ELEMENT[seg_id]
            line.units = values[n] if len(values) > n else ""
        elif seg_id == "DTP" and len(values) > 3:
            day = parse_date(values[3])
            if values[1] == "472":
                if line is not None:
                    line.date = day
                else:
                    claim.statement_from = claim.statement_from or day
            elif values[1] == "434":
                claim.statement_from = day
            elif values[1] == "435":
                claim.admission = day
        claim.end = seg_start + len(raw)
    if claim is None or offset > claim.end:
        return None
    claim.diagnoses = len(diagnoses)
    if transaction:
        claim.transaction = transaction_before(text, delims, claim.start)
    return ClaimContext(claim, diagnoses, codes)


def transaction_needles(delims: Delimiters) -> tuple[str, str]:
    """What transaction_before looks back for: an open document's text keeps where they are
    (lsp/marks.py), so that its rfind need not search."""
    e = delims.element
    return f"ST{e}837{e}", f"GS{e}HC{e}"


def transaction_before(text: str, delims: Delimiters, offset: int) -> str:
    """P, I or D from the ST (or GS) version of the transaction holding offset."""
    e = delims.element
    for needle, n in zip(transaction_needles(delims), (3, 8), strict=True):
        at = text.rfind(needle, max(0, offset - 2_000_000), offset)
        if at >= 0:
            end = text.find(delims.segment, at)
            values = text[at : end if end >= 0 else at + 200].split(e)
            kind = transaction_kind(values[n]) if len(values) > n else ""
            if kind:
                return kind
    return ""
