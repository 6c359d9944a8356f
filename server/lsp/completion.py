"""Completion that knows its place: ICD-10-CM after ABK:, PCS after BBR:, HCPCS / CPT after HC:,
modifiers after the code, NDC in LIN03; by code prefix and by description words."""

from __future__ import annotations

import datetime as dt
import re
from itertools import islice
from typing import TYPE_CHECKING

from lsprotocol import types

from medcode.index_builder import layout
from medcode.index_builder.codesets import ICD10CM, ICD10PCS, NDC, compact, display
from medcode.index_builder.lookup import resolve as resolve_code
from medcode.index_builder.model import HEADER
from medcode.index_builder.reader import Release

from ..describe import describe
from ..places import PROCEDURE, SETS_OF
from ..x12.context import claim_around
from ..x12.slots import PROCEDURE_ELEMENT
from ..x12.vocabulary import HI_QUALIFIERS, PROCEDURE_QUALIFIERS
from . import markdown

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer

LIMIT = 50
POOL = 1000  # keys read per prefix before ranking them (bounded: a one-letter prefix has thousands)
_CODE_CHARS = re.compile(r"^[0-9A-Za-z]*$")


def complete(ls: MedcodeServer, doc: OpenDocument, position: types.Position) -> types.CompletionList | None:
    if doc.delimiters() is None:
        from . import doc_completion

        return doc_completion.complete(ls, doc, position)
    at = ls.x12_cursor(doc, position)
    if at is None:
        return None
    index, offset, component, cur = at.index, at.offset, at.component, at.cur
    seg = cur.segment
    typed = doc.source[cur.part_start : offset]
    edit_range = ls.range_of(index, cur.part_start, offset)
    composite = seg.value(cur.element).split(component)
    qualifier = composite[0] if composite else ""

    if seg.id == "HI" and cur.element >= 1:
        if cur.component == 0:
            return _qualifiers(HI_QUALIFIERS, typed, edit_range)
        if cur.component == 1:
            q = HI_QUALIFIERS.get(qualifier)
            if q and q.expects in (ICD10CM, ICD10PCS):
                return _codes(ls, doc, offset, [q.expects], typed, edit_range, layout.FLAG_CODE)
            if q and q.expects == PROCEDURE:
                return _codes(ls, doc, offset, list(SETS_OF[PROCEDURE]), typed, edit_range, layout.FLAG_CODE)
        return None
    if PROCEDURE_ELEMENT.get(seg.id) == cur.element:
        if cur.component == 0:
            return _qualifiers(PROCEDURE_QUALIFIERS, typed, edit_range)
        if qualifier != "HC":
            return None
        if cur.component == 1:
            return _codes(ls, doc, offset, list(SETS_OF[PROCEDURE]), typed, edit_range, layout.FLAG_CODE)
        if 2 <= cur.component <= 5:
            return _codes(ls, doc, offset, list(SETS_OF[PROCEDURE]), typed, edit_range, layout.FLAG_MODIFIER)
        return None
    if seg.id == "LIN" and cur.element == 3 and seg.value(2) == "N4":
        return _codes(ls, doc, offset, [NDC], typed, edit_range, layout.FLAG_CODE)
    return None


def resolve(ls: MedcodeServer, item: types.CompletionItem) -> types.CompletionItem:
    """completionItem/resolve: the code's full description, from the data the item carries."""
    data = item.data if isinstance(item.data, dict) else {}
    try:
        day = dt.date.fromisoformat(data["day"])
        answer = resolve_code(ls.store, data["set"], data["key"], day)
        view = describe(ls.store, answer)
    except (KeyError, TypeError, ValueError):
        return item
    item.documentation = types.MarkupContent(types.MarkupKind.Markdown, markdown.code_view(view))
    return item


def _qualifiers(table, typed: str, edit_range: types.Range) -> types.CompletionList:
    items = [
        types.CompletionItem(
            label=code,
            kind=types.CompletionItemKind.EnumMember,
            detail=q.meaning,
            text_edit=types.TextEdit(edit_range, code),
            sort_text=f"{i:03d}",
        )
        for i, (code, q) in enumerate(table.items())
        if code.startswith(typed.upper())
    ]
    return types.CompletionList(is_incomplete=False, items=items)


def _codes(
    ls: MedcodeServer, doc: OpenDocument, offset: int, sets: list[str], typed: str, edit_range: types.Range, flag: int
) -> types.CompletionList:
    delims = doc.delimiters()
    ctx = claim_around(doc.source, delims, ls.component_of(doc), offset, transaction=False) if delims else None
    day = (ctx.claim.date_at(offset) if ctx else None) or dt.date.today()
    return codes_list(ls, day, sets, typed, edit_range, flag)


def codes_list(
    ls: MedcodeServer, day: dt.date, sets: list[str], typed: str, edit_range: types.Range, flag: int, written: bool = False
) -> types.CompletionList:
    """Codes of the sets for what was typed; `written` inserts the form people write (E11.9,
    00002-8215-01) rather than the X12 one (E119, 00002821501)."""
    items: list[types.CompletionItem] = []
    for set_id in sets:
        choice = ls.verdicts.choice(set_id, day)
        if choice is None:
            continue
        release = choice[0]
        items += _from_release(release, set_id, typed, edit_range, flag, day, LIMIT - len(items), written)
        if len(items) >= LIMIT:
            break
    return types.CompletionList(is_incomplete=True, items=items)


def _from_release(
    release: Release, set_id: str, typed: str, edit_range: types.Range, flag: int, day: dt.date, limit: int, written: bool = False
) -> list[types.CompletionItem]:
    if limit <= 0:
        return []
    out: list[types.CompletionItem] = []
    seen: set[str] = set()
    key_prefix = compact(typed)
    if _CODE_CHARS.match(key_prefix):
        # Claim-valid codes first, then headers (so E11 shows its children, not only itself).
        keys = _shortest_first(release.keys(key_prefix, flag), limit)
        if flag == layout.FLAG_CODE and len(keys) < limit:
            keys += _shortest_first(release.keys(key_prefix, layout.FLAG_HEADER), limit - len(keys))
        for key in keys:
            rec = release.listed(key)
            out.append(_item(set_id, rec, release, edit_range, day, typed if written else key, written))
            seen.add(key)
    # Description words: typing "diabet" offers diabetes codes.
    if len(typed) >= 3 and any(c.isalpha() for c in typed) and len(out) < limit:
        for hit in release.search(typed, limit=limit - len(out), flag_mask=flag):
            if hit.record.code not in seen:
                out.append(_item(set_id, hit.record, release, edit_range, day, typed, written))
    return out


def _shortest_first(keys, limit: int) -> list[str]:
    """The first `limit` of a prefix's keys, shorter codes first: a header's direct children
    before its grandchildren. In plain key order typing E11 filled the list with 50 of the
    80-odd six- and seven-character E11 codes and never offered E11.9."""
    return sorted(islice(keys, POOL), key=lambda k: (len(k), k))[:limit]


def _item(
    set_id: str, rec, release: Release, edit_range: types.Range, day: dt.date, filter_text: str, written: bool = False
) -> types.CompletionItem:
    billable = rec.kind != HEADER
    desc = rec.shown_description
    shown = display(set_id, rec.code)
    insert = shown if written else rec.code
    return types.CompletionItem(
        label=insert,
        label_details=types.CompletionItemLabelDetails(description=desc if len(desc) <= 60 else desc[:57] + "…"),
        kind=types.CompletionItemKind.Value if billable else types.CompletionItemKind.Folder,
        detail=f"{shown} · {release.title}" + ("" if billable else " · header, not billable"),
        sort_text=("0" if billable else "1") + rec.code,
        filter_text=filter_text if filter_text else insert,
        text_edit=types.TextEdit(edit_range, insert),
        data={"set": set_id, "key": rec.code, "day": day.isoformat()},
    )
