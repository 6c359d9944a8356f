"""Hover: what a code, qualifier or segment means, with the release that says so."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from typing import TYPE_CHECKING

from lsprotocol import types

from ..claims.fhir import claim_from_fhir
from ..claims.model import Claim, ServiceLine
from ..claims.rules import ClaimLayer
from ..claims.x12 import LINE_CODE_PLACES, claim_in_context
from ..describe import describe
from ..digits import is_digits
from ..places import ICD9_DX, ICD9_PROC, MODIFIER, POINTER, REVENUE, Slot
from ..x12.context import ClaimContext, Cursor, claim_around, transaction_before
from ..x12.vocabulary import AMBULANCE_LOCATIONS, DATE_QUALIFIERS, HI_QUALIFIERS, HL_LEVELS, PROCEDURE_QUALIFIERS, PRODUCT_QUALIFIERS, SEGMENTS
from . import edits_hover, markdown
from .codes import set_and_keys

if TYPE_CHECKING:
    from ..x12.delimiters import Delimiters
    from .documents import OpenDocument
    from .server import MedcodeServer


def hover(ls: MedcodeServer, doc: OpenDocument, position: types.Position) -> types.Hover | None:
    if doc.delimiters() is None:
        return _document(ls, doc, position)
    at = ls.x12_cursor(doc, position)
    if at is None:
        return None
    delims, index, offset, component, cur = at.delims, at.index, at.offset, at.component, at.cur
    if cur.slot is not None:
        # Without the transaction's kind: a search back through up to megabytes for the ST
        # (2 ms of a 5 ms hover), which only a service line's claim notes read.
        ctx = claim_around(doc.source, delims, component, offset, transaction=False)
        text = _slot(ls, doc, cur.slot, ctx, offset) + _claim_notes(ls, doc, cur.slot, ctx, delims)
        start, end = cur.slot.start, cur.slot.end
    elif cur.qualifier_of is not None:
        text = _qualifier(cur.qualifier_of)
        start, end = cur.qualifier_of.qual_start, cur.qualifier_of.qual_start + len(cur.qualifier_of.qualifier)
    else:
        text = _element(cur)
        start, end = cur.part_start, cur.part_start + len(cur.part_text)
    if not text:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=ls.range_of(index, start, end),
    )


def _document(ls: MedcodeServer, doc: OpenDocument, position: types.Position) -> types.Hover | None:
    """CSV, JSON and templates: the code or header under the cursor, from the document's check."""
    analysis = ls.analysis_now(doc)
    reading = analysis.reading if analysis is not None else None
    if reading is None:
        return None
    index = doc.index(ls.encoding)
    offset = index.offset(position.line, position.character)
    slot = slot_at(reading.slots, offset)
    if slot is not None and slot.text:
        # A FHIR code is judged on its own item's date (Slot.line), other documents on theirs.
        text = _slot(ls, doc, slot, None, offset, getattr(slot.line, "date", None) or reading.day) + _fhir_claim_notes(ls, slot)
        start, end = slot.start, slot.end
    else:
        header = reading.header_at(offset)
        if header is None:
            return None
        text = f"**{header.text.strip()}** — {header.meaning}"
        start, end = header.start, header.end
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=ls.range_of(index, start, end),
    )


def slot_at(slots: list[Slot], offset: int) -> Slot | None:
    i = bisect_right(slots, offset, key=lambda s: s.start) - 1
    if i >= 0 and slots[i].start <= offset <= slots[i].end:
        return slots[i]
    return None


def _slot(ls: MedcodeServer, doc: OpenDocument, slot: Slot, ctx: ClaimContext | None, offset: int, doc_day: dt.date | None = None) -> str:
    # A file without a date: the day the medcode.date setting gives, as its check used.
    day = (ctx.claim.date_at(offset) if ctx else None) or doc_day or ls.settings.date or dt.date.today()
    findings = ls.findings_at(doc, slot.start, slot.end)
    role = f"{slot.place} · {slot.role}"
    if slot.expects == POINTER:
        return _pointer(slot, ctx, role)
    looked = set_and_keys(slot)
    if looked is None:
        return _unindexed(slot, role, findings)
    set_id, keys = looked
    answers = [ls.verdicts.answer(set_id, k, day) for k in keys] or []
    answer = next((a for a in answers if a.found), answers[0] if answers else None)
    if answer is None:
        return _unindexed(slot, role, findings)
    view = describe(ls.store, answer, slot.text)
    # The findings that may name this code: its claim's (an X12 claim, a FHIR resource: not
    # those of a Bundle's other claims), or a template's whole text.
    resource = getattr(slot.line, "resource", None)
    span = (ctx.claim.start, ctx.claim.end) if ctx else (resource.start, resource.end) if resource is not None else (0, len(doc.source))
    edits = edits_hover.lines(ls, doc, answer.set_id, answer.key, day, span)
    extra = "\n\n" + "\n".join(edits) if edits else ""
    return f"{markdown.code_view(view, findings)}{extra}\n\n*{role} · date of service {day}*"


def _claim_notes(ls: MedcodeServer, doc: OpenDocument, slot: Slot, ctx: ClaimContext | None, delims: Delimiters) -> str:
    """What the claim rules say about a service line's code on this claim (NCCI edits)."""
    if ctx is None or slot.place not in LINE_CODE_PLACES:
        return ""
    ctx.claim.transaction = transaction_before(doc.source, delims, ctx.claim.start)
    a = doc.analysis
    kinds = a.x12.transaction_kinds if a is not None and a.x12 is not None else set()
    claim = claim_in_context(doc.source, ctx, next(iter(kinds)) if len(kinds) == 1 else "")
    return _line_notes(ls, claim, claim.line_at(slot.start))


def _fhir_claim_notes(ls: MedcodeServer, slot: Slot) -> str:
    """_claim_notes for an item's productOrService code of a FHIR Claim / ExplanationOfBenefit
    (its resource is the claim: claims.fhir)."""
    resource = getattr(slot.line, "resource", None)
    if resource is None or not resource.items:
        return ""
    claim = claim_from_fhir(resource)
    return _line_notes(ls, claim, claim.line_at(slot.start))


def _line_notes(ls: MedcodeServer, claim: Claim, line: ServiceLine | None) -> str:
    if line is None:
        return ""
    notes = ClaimLayer(ls.verdicts).notes(claim, line)
    return "\n\n**NCCI edits on this claim**\n\n" + "\n".join(f"- {n}" for n in notes) if notes else ""


def _pointer(slot: Slot, ctx: ClaimContext | None, role: str) -> str:
    resource = getattr(slot.line, "resource", None)  # FHIR: item[].diagnosisSequence
    if resource is not None and is_digits(slot.text):
        return f"{resource.pointed_text(int(slot.text))}\n\n*{role}*"
    if ctx is None or not is_digits(slot.text):
        return f"**Diagnosis pointer {slot.text}**\n\n*{role}*"
    n = int(slot.text)
    if 1 <= n <= len(ctx.diagnoses):
        qual, code = ctx.diagnoses[n - 1]
        return f"**Diagnosis pointer {n}** → {qual} `{code}` (diagnosis {n} of {len(ctx.diagnoses)} on this claim)\n\n*{role}*"
    return f"**Diagnosis pointer {n}** points to no diagnosis: the claim has {len(ctx.diagnoses)}\n\n*{role}*"


def _unindexed(slot: Slot, role: str, findings: list[str]) -> str:
    what = {
        ICD9_DX: "ICD-9-CM diagnosis code (used before 2015-10-01; medcode checks its shape only)",
        ICD9_PROC: "ICD-9-CM procedure code (used before 2015-10-01; medcode checks its shape only)",
        REVENUE: "revenue code (NUBC; medcode checks its shape only)",
    }.get(slot.expects or "", "code medcode has no data for")
    if slot.expects == MODIFIER and len(slot.text) == 2 and all(c in AMBULANCE_LOCATIONS for c in slot.text):
        what = f"ambulance modifier: from {AMBULANCE_LOCATIONS[slot.text[0]]} to {AMBULANCE_LOCATIONS[slot.text[1]]}"
    lines = [f"**{slot.text}** — {what}"] + [f"⚠ {f}" for f in findings] + ["", f"*{role}*"]
    return "\n".join(lines)


def _qualifier(slot: Slot) -> str:
    q = slot.qualifier or ""
    known = HI_QUALIFIERS.get(q) or PROCEDURE_QUALIFIERS.get(q)
    if known:
        return f"**{q}** — {known.meaning}"
    if q in PRODUCT_QUALIFIERS:
        return f"**{q}** — {PRODUCT_QUALIFIERS[q]}"
    return f"**{q}** — qualifier medcode does not know"


def _element(cur: Cursor) -> str | None:
    seg = cur.segment
    if cur.element == 0:
        meaning = SEGMENTS.get(seg.id)
        return f"**{seg.id}** — {meaning}" if meaning else None
    value = cur.part_text
    if seg.id == "DTP" and cur.element == 1 and value in DATE_QUALIFIERS:
        return f"**{value}** — {DATE_QUALIFIERS[value]}"
    if seg.id == "HL" and cur.element == 3 and value in HL_LEVELS:
        return f"**{value}** — {HL_LEVELS[value]} level"
    if seg.id in ("SV1", "SV2", "SV3", "SV5", "SVD") and cur.component == 0 and value in PROCEDURE_QUALIFIERS:
        return f"**{value}** — {PROCEDURE_QUALIFIERS[value].meaning}"
    if seg.id == "CLM" and cur.element == 1:
        return f"**{value}** — patient control number (claim id)"
    if seg.id == "CLM" and cur.element == 2:
        return f"**{value}** — total claim charge amount"
    return None
