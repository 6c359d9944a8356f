"""Quick fixes: the edits each finding carries (remove the dot, normalise an NDC, pick a
billable child, add the 7th character, change a qualifier or ISA16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .diagnostics import SOURCE

if TYPE_CHECKING:
    from .documents import OpenDocument
    from .server import MedcodeServer


def code_actions(ls: MedcodeServer, doc: OpenDocument, params: types.CodeActionParams) -> list[types.CodeAction]:
    index = doc.index(ls.encoding)
    out: list[types.CodeAction] = []
    for diag in params.context.diagnostics:
        if diag.source != SOURCE or not isinstance(diag.data, dict):
            continue
        anchor = index.offset(diag.range.start.line, diag.range.start.character)
        for fix in diag.data.get("fixes", []):
            try:
                start, end = anchor + int(fix["s"]), anchor + int(fix["e"])
                edit = types.TextEdit(ls.range_of(index, start, end), str(fix["x"]))
            except (KeyError, TypeError, ValueError):
                continue  # not data this server wrote
            out.append(
                types.CodeAction(
                    title=str(fix.get("t", "Fix")),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    is_preferred=bool(fix.get("p")),
                    edit=types.WorkspaceEdit(changes={doc.uri: [edit]}),
                )
            )
    return out
