"""Over real LSP stdio: the diagnostics after a sequence of ranged edits (lines added and removed
before, inside and after claims, a code typed over, segments joined and split) equal those of
a fresh open of the same text. The server converts only the findings each edit touched and
moves the others (server/lsp/diagnostics.py); this is where a misplaced one would show.
Both profiles: VS Code gets them pushed, Neovim pulls them.
"""

from __future__ import annotations

import pytest
from lsprotocol import types
from lsp_session import P837, Session

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _position(text: str, offset: int) -> types.Position:
    # The fixture is ASCII: characters are the same in every position encoding.
    line = text.count("\n", 0, offset)
    return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


def edit(session: Session, uri: str, text: str, start: int, end: int, new: str) -> str:
    change = types.TextDocumentContentChangePartial(range=types.Range(_position(text, start), _position(text, end)), text=new)
    session.change(uri, change)
    return text[:start] + new + text[end:]


# (what is found, replaced by what): each applied at the first place the text holds it.
STEPS = [
    ("HL*2*1*22*0~\n", "REF*G1*ADDED~\nHL*2*1*22*0~\n"),  # a line before the first claim
    ("HI*ABK:E119", "HI*ABK:E11"),  # a code typed over, inside a claim
    ("ABF:E11.9*", "ABF:E11.95*"),  # a character typed before other findings on its line
    ("LX*2~\n", ""),  # a line removed inside a claim
    ("SE*", "NTE*ADD*ONE~\nNTE*ADD*TWO~\nSE*"),  # lines after the claims
    ("LX*1~\n", "LX*1~"),  # two segments joined onto one line
    ("SV1*HC:478331", "SV1*HC:47\n8331"),  # a segment split
    ("REF*G1*ADDED~\n", ""),  # the first line taken out again
]
BURST = [("CLM*ERRORS01", "CLM*ERR\nORS01"), ("HI*ABK:E11*", "HI*ABK:E1\n\n1*"), ("NTE*ADD*ONE~\n", "")]


async def fresh_open(session: Session, text: str, n: int) -> list[types.Diagnostic]:
    uri = f"file:///tmp/e2e/republish/fresh-{n}.837"
    session.open(uri, text)
    try:
        return await session.diagnostics(uri)
    finally:
        session.close(uri)


async def test_diagnostics_after_edits_equal_a_fresh_open(lsp: Session):
    uri = "file:///tmp/e2e/republish/claims.837"
    text = P837
    lsp.open(uri, text)
    await lsp.diagnostics(uri)
    for n, (old, new) in enumerate(STEPS):
        at = text.index(old)
        text = edit(lsp, uri, text, at, at + len(old), new)
        # Each version converted and compared: the next edit starts from its cache.
        assert await lsp.diagnostics(uri) == await fresh_open(lsp, text, n), old
    for old, new in BURST:  # keystrokes sent back to back: one check of several edits
        at = text.index(old)
        text = edit(lsp, uri, text, at, at + len(old), new)
    edited = await lsp.diagnostics(uri)
    fresh = await fresh_open(lsp, text, len(STEPS))
    assert any(d.code == "not-billable" for d in fresh)  # the E11s typed above are found
    assert edited == fresh
    lsp.close(uri)
