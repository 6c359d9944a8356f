"""Claims from an X12 837: the walk's claim, lines and code tuples become a `model.Claim`."""

from __future__ import annotations

from ..x12.document import Claim as X12Claim
from ..x12.document import ClaimCodes
from ..x12.vocabulary import MODIFIER, PROCEDURE
from .model import DENTAL, INSTITUTIONAL, PROFESSIONAL, Claim, ServiceLine

FORMS = {"P": PROFESSIONAL, "I": INSTITUTIONAL, "D": DENTAL}
# The service line composites whose code is a HCPCS / CPT procedure (SV101, SV202).
LINE_CODE_PLACES = frozenset({"SV101-02", "SV202-02"})
MAX_MODIFIERS = 4


def _units(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def bill_type(text: str, claim: X12Claim) -> str:
    """CLM05-1 of an institutional claim: the facility type code (the first two digits of the
    type of bill), read from the CLM segment's text."""
    head = text[claim.start : claim.start + 256]
    if len(head) < 4:
        return ""
    element = head[3]
    values = head.split(element, 6)
    if len(values) < 6:
        return ""
    value = values[5]
    digits = ""
    for ch in value:
        if not ch.isdigit():
            break
        digits += ch
    return digits[:2]


def claim_from_x12(claim: X12Claim, groups: ClaimCodes, text: str) -> Claim:
    form = FORMS.get(claim.transaction, "")
    claim_day = claim.date
    out = Claim(claim.id, form, claim.start, claim.end, claim_day, bill_type(text, claim) if form == INSTITUTIONAL else "")
    seen: set[int] = set()
    for line, codes in groups:
        if line is None or id(line) in seen:
            continue
        code = None
        mods: list[str] = []
        insert_at = None
        for t in codes:
            if t[0] == PROCEDURE and t[5] in LINE_CODE_PLACES and t[3] == "HC":
                code = t
                insert_at = t[2] + len(t[1])
            elif t[0] == MODIFIER and code is not None:
                mods.append(t[1].strip().upper())
                insert_at = t[2] + len(t[1])
        if code is None:
            continue
        seen.add(id(line))
        qual_end = code[4] + len(code[3])
        separator = text[qual_end : qual_end + 1] or ":"
        # A modifier can be added at the end of the composite only: with four modifiers, or
        # another component after them (a description), there is no room.
        if len(mods) >= MAX_MODIFIERS or text[insert_at : insert_at + 1] == separator:
            insert_at = None
        out.lines.append(
            ServiceLine(
                len(out.lines), line.number, code[1].strip().upper(), tuple(mods), _units(line.units),
                line.date or claim_day, code[2], code[2] + len(code[1]), insert_at, separator, code[4],
            )
        )
    return out


def claim_in_context(text: str, ctx, transaction: str = "") -> Claim:
    """The claim around a hover position (x12.context.claim_around), built like the check's."""
    if transaction and not ctx.claim.transaction:
        ctx.claim.transaction = transaction
    return claim_from_x12(ctx.claim, ctx.codes, text)
