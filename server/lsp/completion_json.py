"""A completion answer written as JSON by hand, not by pygls' converter.

On the 50,000-claim bench a completion's answer (about 40 items) took 1.5-2.5 ms of the loop
to unstructure (cattrs, field by field) and json.dumps, after the 2-4 ms that found it: a third
of the callback. The items medcode makes use a handful of fields, written here as the
converter writes them (camelCase names, no field that is None, enums as their values); an
answer with any other field set goes through the converter as before
(tests/test_completion_json.py holds the two equal).
"""

from __future__ import annotations

import attrs
import orjson
from lsprotocol import types

from .protocol import RawJson

# The CompletionItem fields written here; an item with another one set is not.
_WRITTEN = frozenset({"label", "label_details", "kind", "detail", "sort_text", "filter_text", "text_edit", "data"})
_OTHERS = tuple(f.name for f in attrs.fields(types.CompletionItem) if f.name not in _WRITTEN)
_LIST_OTHERS = tuple(f.name for f in attrs.fields(types.CompletionList) if f.name not in ("is_incomplete", "items"))


def answer(result):
    """What the completion handler returns: the list as ready JSON (RawJson) when every item
    is one this module writes; else the result itself, for pygls' converter."""
    if type(result) is not types.CompletionList or any(getattr(result, f) is not None for f in _LIST_OTHERS):
        return result
    items = []
    for item in result.items:
        out = _item(item)
        if out is None:
            return result
        items.append(out)
    try:
        return RawJson(orjson.dumps({"isIncomplete": result.is_incomplete, "items": items}))
    except orjson.JSONEncodeError:  # a lone surrogate typed in the document: json.dumps escapes it
        return result


def _item(item: types.CompletionItem) -> dict | None:
    if type(item) is not types.CompletionItem or any(getattr(item, f) is not None for f in _OTHERS):
        return None
    out: dict = {"label": item.label}
    details = item.label_details
    if details is not None:
        if type(details) is not types.CompletionItemLabelDetails:
            return None
        out["labelDetails"] = {k: v for k, v in (("detail", details.detail), ("description", details.description)) if v is not None}
    if item.kind is not None:
        out["kind"] = int(item.kind)
    if item.detail is not None:
        out["detail"] = item.detail
    if item.sort_text is not None:
        out["sortText"] = item.sort_text
    if item.filter_text is not None:
        out["filterText"] = item.filter_text
    edit = item.text_edit
    if edit is not None:
        if type(edit) is not types.TextEdit:
            return None
        start, end = edit.range.start, edit.range.end
        out["textEdit"] = {
            "range": {"start": {"line": start.line, "character": start.character}, "end": {"line": end.line, "character": end.character}},
            "newText": edit.new_text,
        }
    if item.data is not None:
        if not _plain(item.data):
            return None
        out["data"] = item.data
    return out


def _plain(value) -> bool:
    """JSON values only (what medcode puts in `data`): the converter would send them as they are."""
    if value is None or type(value) in (str, int, float, bool):
        return True
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return False
