"""Quick fixes: the edits each finding carries (remove the dot, normalise an NDC, pick a
billable child, add the 7th character, change a qualifier or ISA16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt

from lsprotocol import types

from medcode.index_builder import layout
from medcode.index_builder.codesets import display

from ..reading import FHIR, TEMPLATE
from ..verdicts import billable_below
from .codes import set_and_keys
from .diagnostics import SOURCE
from .server import CHOOSE

CHOICES = 20  # a message request is a list, not a browser; completion reaches the rest

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer


def code_actions(ls: MedcodeServer, doc: OpenDocument, params: types.CodeActionParams) -> list[types.CodeAction]:
    index = doc.index(ls.encoding)
    out: list[types.CodeAction] = _describe_in_template(ls, doc, params)
    for diag in params.context.diagnostics:
        if diag.source != SOURCE:
            continue
        # The fixes stay in the server: the diagnostic's data is their handle (diagnostics.py).
        quick = doc.diagnostics.quick_fixes(diag.data, diag.code, diag.message)
        if quick is None:
            continue
        anchor = index.offset(diag.range.start.line, diag.range.start.character)
        for title, s, e, text, preferred in quick.fixes:
            edit = types.TextEdit(ls.range_of(index, anchor + s, anchor + e), text)
            out.append(
                types.CodeAction(
                    title=title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    is_preferred=preferred,
                    edit=types.WorkspaceEdit(changes={doc.uri: [edit]}),
                )
            )
        if quick.more is not None:
            set_id, key, release = quick.more
            out.append(
                types.CodeAction(
                    title=f"More billable codes under {display(set_id, key)}…",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    command=types.Command(
                        title="Choose a billable code",
                        command=CHOOSE,
                        arguments=[doc.uri, diag.range.start.line, diag.range.start.character, diag.range.end.line, diag.range.end.character, set_id, key, release],
                    ),
                )
            )
    return out


async def choose_code(
    ls: MedcodeServer, uri: str, start_line: int, start_char: int, end_line: int, end_char: int, set_id: str, key: str, release: str
) -> str | None:
    """Offer the billable codes under a header (as many as a message request can show) and
    write the one the user picks; nothing is written unless they pick one."""
    rel = ls.store.release(set_id, release)
    if rel is None:
        return None
    choices = billable_below(rel, key, limit=CHOICES)
    total = rel.count(key, layout.FLAG_CODE)
    titles = {f"{display(set_id, c.key)} — {c.description}": c.key for c in choices}
    more = f" (the first {len(choices)} of {total}; type the code to complete the rest)" if total > len(choices) else ""
    picked = await ls.window_show_message_request_async(
        types.ShowMessageRequestParams(
            type=types.MessageType.Info,
            message=f"Billable codes under {display(set_id, key)}{more}",
            actions=[types.MessageActionItem(title=t) for t in titles],
        )
    )
    if picked is None or picked.title not in titles:
        return None
    code = titles[picked.title]
    doc = ls.documents.get(uri)
    if doc is not None and doc.analysis is not None and doc.analysis.kind == FHIR:
        code = display(set_id, code)  # FHIR writes codes as people do (E11.9, not E119)
    edit = types.TextEdit(types.Range(types.Position(start_line, start_char), types.Position(end_line, end_char)), code)
    await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=types.WorkspaceEdit(changes={uri: [edit]})))
    return code


def _describe_in_template(ls: MedcodeServer, doc: OpenDocument, params: types.CodeActionParams) -> list[types.CodeAction]:
    """In a template, write a code's official description next to it (when it is not there)."""
    if doc.delimiters() is not None:
        return []
    analysis = ls.analysis_now(doc)
    reading = analysis.reading if analysis is not None else None
    if reading is None or reading.kind != TEMPLATE:
        return []
    index = doc.index(ls.encoding)
    lo = index.offset(params.range.start.line, params.range.start.character)
    hi = index.offset(params.range.end.line, params.range.end.character)
    day = reading.day or dt.date.today()
    out = []
    for slot in reading.slots:
        if slot.end < lo or slot.start > hi:
            continue
        looked = set_and_keys(slot)
        if looked is None or not looked[1]:
            continue
        answer = ls.verdicts.answer(looked[0], looked[1][0], day)
        if answer.record is None:
            continue
        description = answer.record.description
        after = doc.text[slot.end : slot.end + len(description) + 4]
        if description.lower() in after.lower():
            continue
        at = ls.range_of(index, slot.end, slot.end)
        out.append(
            types.CodeAction(
                title=f"Insert the description of {display(looked[0], answer.record.code)}",
                kind=types.CodeActionKind.RefactorRewrite,
                edit=types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(at, f" ({description})")]}),
            )
        )
    return out
