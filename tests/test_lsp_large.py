"""A large claim file over real LSP stdio: requests never wait for its check, and the outline
stops at its limit and says how many claims it left out.

No timing is asserted: the evidence is the order of messages (a hover answered before the
diagnostics of the version it was sent on) and what the answers say.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from lsprotocol import types
from medcode.server.lsp.server import SYNC_CHECK_LIMIT
from medcode.server.lsp.symbols import LIMIT
from lsp_session import P837, start, stop

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLAIMS = 4000


def large_837(claims: int) -> str:
    """The fixture's header, its first claim repeated (new HL numbers and claim ids), and its
    trailers: one interchange with thousands of claims."""
    lines = P837.splitlines()
    head = lines[: lines.index("HL*2*1*22*0~")]
    block = lines[lines.index("HL*2*1*22*0~") : lines.index("HL*3*1*22*0~")]
    body = []
    for n in range(claims):
        for seg in block:
            seg = seg.replace("HL*2*1*22*0~", f"HL*{n + 2}*1*22*0~").replace("CLM*VALID01*", f"CLM*C{n:06d}*")
            body.append(seg)
    tail = ["SE*1*0001~", "GE*1*101~", "IEA*1*000000101~"]
    return "\n".join(head + body + tail) + "\n"


TEXT = large_837(CLAIMS)


def hi_line(text: str, claim: int) -> int:
    lines = text.split("\n")
    clm = lines.index(f"CLM*C{claim:06d}*100.00***11:B:1*Y*A*Y*Y~")
    assert lines[clm + 1].startswith("HI*ABK:E119*")
    return clm + 1


async def hover_until_answered(session, uri: str, version: int, line: int, character: int) -> types.Hover:
    """Hover until there is an answer (a large file's line index is built off the loop right
    after didOpen; until then hover answers nothing); every answer must come before the
    diagnostics of `version`."""
    while True:
        hover = await session.hover(uri, line, character)
        published = [p.version for p in session.client.published.get(uri, [])]
        assert version not in published, "the hover waited for the check of the document"
        if hover is not None:
            return hover
        await asyncio.sleep(0.01)


async def test_hover_on_a_large_file_does_not_wait_for_its_check(default_index):
    assert len(TEXT) > SYNC_CHECK_LIMIT  # the size from which requests never wait
    session = await start("visual-studio-code", default_index)
    uri = "file:///tmp/e2e/large/claims.837"
    try:
        session.open(uri, TEXT)
        line = hi_line(TEXT, CLAIMS // 2)
        hover = await hover_until_answered(session, uri, 1, line, len("HI*ABK:") + 1)
        assert "Type 2 diabetes mellitus without complications" in hover.contents.value
        assert len(await session.diagnostics(uri)) > 0  # the check itself did finish

        # Type over the code: the hover reads the new text at the cursor while the check of
        # the new version is still to come.
        edit = types.Range(types.Position(line, 7), types.Position(line, 11))
        session.change(uri, types.TextDocumentContentChangePartial(range=edit, text="I10"))
        hover = await hover_until_answered(session, uri, 2, line, len("HI*ABK:") + 1)
        assert "hypertension" in hover.contents.value.lower()
        await session.diagnostics(uri)
    finally:
        await stop(session)


async def test_outline_of_a_large_file_stops_at_its_limit(default_index):
    session = await start("visual-studio-code", default_index)
    uri = "file:///tmp/e2e/large/outline.837"
    try:
        session.open(uri, TEXT)
        symbols = await session.symbols(uri)
        *tree, rest = symbols

        def count(nodes, kind=None) -> int:
            return sum((kind is None or n.kind == kind) + count(n.children or [], kind) for n in nodes)

        assert count(tree) == LIMIT
        shown = count(tree, types.SymbolKind.Object)  # claims
        match = re.fullmatch(r"… ([\d,]+) more claims not shown \(the outline stops after [\d,]+ entries\)", rest.name)
        assert match, rest.name
        assert shown + int(match.group(1).replace(",", "")) == CLAIMS
        # The entry for the rest starts where the outline stops: after the last claim shown.
        def claims(nodes):
            for n in nodes:
                if n.kind == types.SymbolKind.Object:
                    yield n
                yield from claims(n.children or [])

        last_end = max((c.range.end.line, c.range.end.character) for c in claims(tree))
        assert (rest.range.start.line, rest.range.start.character) >= last_end
        assert rest.range.end.line == len(TEXT.split("\n")) - 1
    finally:
        await stop(session)
