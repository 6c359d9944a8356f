"""Completion outside X12: after a code-set prefix in a template (`ICD-10-CM: diab`), and in
the code and type cells of price files and chargemasters."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lsprotocol import types

from medcode.index_builder import layout
from medcode.index_builder.codesets import OFFICIAL_SETS

from .. import places
from .. import reading as r
from ..kinds import is_template_name
from ..templates.patterns import typing_after_prefix
from .completion import codes_list

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer

_EXPECTS_SETS = {**{s: [s] for s in OFFICIAL_SETS}, **{k: list(v) for k, v in places.SETS_OF.items()}}


def complete(ls: MedcodeServer, doc: OpenDocument, position: types.Position) -> types.CompletionList | None:
    index = doc.index(ls.encoding)
    offset = index.offset(position.line, position.character)
    analysis = ls.analysis_now(doc)
    reading = analysis.reading if analysis is not None else None
    day = (reading.day if reading is not None else None) or dt.date.today()
    is_template = (reading is not None and reading.kind == r.TEMPLATE) or (
        reading is None and is_template_name(doc.uri, doc.language_id)
    )
    if is_template:
        line_start = doc.text.rfind("\n", 0, offset) + 1
        found = typing_after_prefix(doc.text[line_start:offset])
        if found is None or found[0] not in OFFICIAL_SETS:  # CDT, DRG, revenue: no index to offer from
            return None
        set_id, typed = found
        edit_range = ls.range_of(index, offset - len(typed), offset)
        return codes_list(ls, day, [set_id], typed, edit_range, layout.FLAG_CODE, written=True)
    if reading is not None:
        for slot in reading.slots:
            # Price files: a code cell is completed with codes of its declared type ...
            if slot.start <= offset <= slot.end and slot.expects in _EXPECTS_SETS:
                typed = doc.text[slot.start : offset]
                edit_range = ls.range_of(index, slot.start, offset)
                on = getattr(slot.line, "date", None) or day  # a FHIR item's own date of service
                return codes_list(ls, on, _EXPECTS_SETS[slot.expects], typed, edit_range, layout.FLAG_CODE, written=True)
            # ... and a type cell with the types the file's template version defines.
            if reading.kind in (r.HPT_CSV, r.HPT_JSON) and slot.qual_start is not None and slot.qualifier is not None:
                if slot.qual_start <= offset <= slot.qual_start + len(slot.qualifier):
                    return _types(reading, doc.text[slot.qual_start : offset], ls.range_of(index, slot.qual_start, offset))
    return None


def _types(reading: r.Reading, typed: str, edit_range: types.Range) -> types.CompletionList:
    from ..tables.hpt_vocabulary import TYPE_NAMES, types_for, version_label

    items = [
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.EnumMember,
            detail=TYPE_NAMES.get(name, ""),
            documentation=f"A code type of the CMS price transparency {version_label(reading.version)}",
            text_edit=types.TextEdit(edit_range, name),
        )
        for name in types_for(reading.version)
        if name.lower().startswith(typed.strip().lower())
    ]
    return types.CompletionList(is_incomplete=False, items=items)
