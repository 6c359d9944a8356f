"""Claims from an X12 837: the walk's claim, lines and code tuples become a `model.Claim`."""

from __future__ import annotations

from typing import Iterator

from ..digits import is_digits
from ..places import MODIFIER, PROCEDURE
from ..x12.document import Claim as X12Claim
from ..x12.document import ClaimCodes
from ..x12.document import Line as X12Line
from ..x12.slots import CodeTuple
from .model import DENTAL, INSTITUTIONAL, PROFESSIONAL, Claim, ServiceLine

FORMS = {"P": PROFESSIONAL, "I": INSTITUTIONAL, "D": DENTAL}
# The service line composites whose code is a HCPCS / CPT procedure (SV101, SV202).
LINE_CODE_PLACES = frozenset({"SV101-02", "SV202-02"})
MAX_MODIFIERS = 4


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
        if not is_digits(ch):
            break
        digits += ch
    return digits[:2]


def form_of(claim: X12Claim, text: str) -> tuple[str, str]:
    """The claim's form (model.PROFESSIONAL ...) and, for an institutional claim, its facility
    type code (bill_type); "" when not institutional."""
    form = FORMS.get(claim.transaction, "")
    return form, bill_type(text, claim) if form == INSTITUTIONAL else ""


def claim_head(claim: X12Claim, text: str) -> Claim:
    """The model claim without its service lines: what the claim rules read of the claim itself."""
    form, facility = form_of(claim, text)
    return Claim(claim.id, form, claim.start, claim.end, claim.date, facility)


def _procedure_lines(groups: ClaimCodes) -> Iterator[tuple[X12Line, CodeTuple, list[str], int]]:
    """Per service line with a procedure code (HC in SV101 / SV202): its line, the code's
    tuple, its modifiers (upper case) and where the composite's last code ends."""
    done = None  # the walk gives a line's segments one after another: its first SV1/SV2 counts
    # Runs for every claim of a large file: plain loops over the walk's tuples, no helpers.
    for line, codes in groups:
        if line is None or line is done:
            continue
        code = None
        mods: list[str] = []
        insert_at = 0
        for t in codes:
            expects = t[0]
            if expects == PROCEDURE:
                if t[3] == "HC" and t[5] in LINE_CODE_PLACES:
                    code = t
                    insert_at = t[2] + len(t[1])
            elif expects == MODIFIER and code is not None:
                mods.append(t[1].upper())
                insert_at = t[2] + len(t[1])
        if code is None:
            continue
        done = line
        yield line, code, mods, insert_at


def line_summary(groups: ClaimCodes) -> tuple[int, CodeTuple | None]:
    """How many service lines `claim_from_x12` makes of these codes, and the first one's code
    tuple: all a claim rule with no data to check against reads (it notes the lines).
    _procedure_lines without the modifiers, as one loop: it runs for every claim of a check."""
    first = None
    count = 0
    done = None
    for line, codes in groups:
        if line is None or line is done:
            continue
        code = None
        for t in codes:
            if t[0] == PROCEDURE and t[3] == "HC" and t[5] in LINE_CODE_PLACES:
                code = t
        if code is None:
            continue
        done = line
        count += 1
        if first is None:
            first = code
    return count, first


def claim_from_x12(claim: X12Claim, groups: ClaimCodes, text: str) -> Claim:
    out = claim_head(claim, text)
    claim_day = out.date
    lines = out.lines
    for line, code, mods, insert_at in _procedure_lines(groups):
        qual_end = code[4] + len(code[3])
        separator = text[qual_end] if qual_end < len(text) else ":"
        # A modifier can be added at the end of the composite only: with four modifiers, or
        # another component after them (a description), there is no room.
        room = len(mods) < MAX_MODIFIERS and text[insert_at : insert_at + 1] != separator
        units = line.units
        try:
            amount = float(units) if units else None
        except ValueError:
            amount = None
        lines.append(
            ServiceLine(
                len(lines), line.number, code[1].upper(), tuple(mods), amount, line.date or claim_day,
                code[2], code[2] + len(code[1]), insert_at if room else None, separator, code[4],
            )
        )
    return out


def claim_in_context(text: str, ctx, transaction: str = "") -> Claim:
    """The claim around a hover position (x12.context.claim_around), built like the check's."""
    if transaction and not ctx.claim.transaction:
        ctx.claim.transaction = transaction
    return claim_from_x12(ctx.claim, ctx.codes, text)
