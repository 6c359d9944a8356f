"""Inlay hints (off by default): a short description after each code in the visible range."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lsprotocol import types

from ..x12.segments import iter_raw
from ..x12.slots import CODE_SEGMENTS, codes_in, make_slot
from .codes import set_and_keys

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer

WIDTH = 40


def inlay_hints(ls: MedcodeServer, doc: OpenDocument, rng: types.Range) -> list[types.InlayHint]:
    delims = doc.delimiters()
    if delims is None or not ls.settings.inlay_hints:
        return []
    index = doc.index(ls.encoding)
    lo = index.offset(rng.start.line, 0)
    hi = index.offset(rng.end.line + 1, 0)
    component = ls.component_of(doc)
    day = dt.date.today()
    hints = []
    start = max(delims.start, doc.text.rfind(delims.segment, 0, lo) + 1)
    for seg_id, seg_start, raw in iter_raw(doc.text, delims, start, hi):
        if seg_id not in CODE_SEGMENTS:
            continue
        for t in codes_in(seg_id, seg_start, raw, delims.element, component):
            slot = make_slot(t)
            looked = set_and_keys(slot)
            if looked is None or not looked[1]:
                continue
            set_id, keys = looked
            answer = ls.verdicts.answer(set_id, keys[0], day)
            rec = answer.record or answer.seen_record
            if rec is None:
                continue
            label = rec.short or rec.description
            if len(label) > WIDTH:
                label = label[: WIDTH - 1] + "…"
            line, char = index.position(slot.end)
            hints.append(types.InlayHint(position=types.Position(line, char), label=label, padding_left=True))
    return hints
