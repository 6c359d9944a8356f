"""Quick fixes: the edits each finding carries (remove the dot, normalise an NDC, pick a
billable child, add the 7th character, change a qualifier or ISA16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from medcode.index_builder import layout
from medcode.index_builder.codesets import display

from ..verdicts import billable_below
from .diagnostics import SOURCE

CHOOSE = "medcode.chooseCode"
CHOICES = 20  # a message request is a list, not a browser; completion reaches the rest

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
        more = diag.data.get("more")
        if isinstance(more, list) and len(more) == 3:
            set_id, key, release = map(str, more)
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
    edit = types.TextEdit(types.Range(types.Position(start_line, start_char), types.Position(end_line, end_char)), code)
    await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=types.WorkspaceEdit(changes={uri: [edit]})))
    return code
