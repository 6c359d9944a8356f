"""A large claim file over real LSP stdio: requests never wait for its check, and the outline
lists one entry per claim up to its limit, says how many claims it left out, and follows edits.

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
from lsp_session import P837, as_tuple, rng, start, stop

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


OUTLINE_CLAIMS = 6000  # more than the outline's LIMIT entries, one per claim


def clm_line(text: str, claim: str) -> int:
    return text.split("\n").index(next(x for x in text.split("\n") if x.startswith(f"CLM*{claim}*")))


def short(symbols) -> list[tuple]:
    """What an outline shows: names, details, kinds and ranges, nested."""
    return [(s.name, s.detail, s.kind, as_tuple(s.range), as_tuple(s.selection_range), short(s.children or [])) for s in symbols]


async def test_outline_of_a_large_file_lists_its_claims_and_follows_edits(default_index):
    text = large_837(OUTLINE_CLAIMS)
    session = await start("visual-studio-code", default_index)
    uri = "file:///tmp/e2e/large/outline.837"
    try:
        session.open(uri, text)
        interchange, rest = await session.symbols(uri)
        assert interchange.kind == types.SymbolKind.Package
        (group,) = interchange.children
        (transaction,) = group.children
        assert transaction.name == "837P 0001"
        # Many claims: one entry per claim (no subscriber, patient or line entries), as many
        # as fit under the limit, in file order, with the claim's id and charge.
        claims = transaction.children
        assert len(claims) == LIMIT - 3
        assert [c.name for c in claims] == [f"Claim C{n:06d}" for n in range(len(claims))]
        assert all(c.detail == "$100.00" and c.kind == types.SymbolKind.Object and not c.children for c in claims)
        # A claim runs from its CLM to the segment before the next subscriber's HL.
        lines = text.split("\n")
        at = clm_line(text, "C000010")
        assert as_tuple(claims[10].selection_range) == (at, 0, at, 3)
        assert as_tuple(claims[10].range) == (at, 0, at + 9, len("CTP****1*UN"))
        assert lines[at + 10].startswith("HL*")
        # The rest: one entry counting the claims left out, from the cut to the end.
        match = re.fullmatch(r"… ([\d,]+) more claims not shown \(the outline stops after [\d,]+ entries\)", rest.name)
        assert match, rest.name
        assert len(claims) + int(match.group(1).replace(",", "")) == OUTLINE_CLAIMS
        assert (rest.range.start.line, rest.range.start.character) >= (claims[-1].range.end.line, claims[-1].range.end.character)
        assert rest.range.end.line == len(lines) - 1
        assert short(await session.symbols(uri)) == short([interchange, rest])  # asked again: the same

        # Edits: a claim renamed, another's charge changed, a third claim deleted whole.
        renamed = clm_line(text, "C000010")
        session.change(uri, types.TextDocumentContentChangePartial(range=rng(renamed, 4, 11), text="RENAMED"))
        charged = clm_line(text, "C000011")
        session.change(uri, types.TextDocumentContentChangePartial(range=rng(charged, 12, 18), text="75.5"))
        first = clm_line(text, "C000012") - 4  # its HL
        session.change(uri, types.TextDocumentContentChangePartial(range=types.Range(types.Position(first, 0), types.Position(first + 14, 0)), text=""))
        edited = lines[:]
        edited[renamed] = edited[renamed].replace("C000010", "RENAMED")
        edited[charged] = edited[charged].replace("100.00", "75.5")
        del edited[first : first + 14]
        edited_text = "\n".join(edited)
        interchange, rest = await session.symbols(uri)
        claims = interchange.children[0].children[0].children
        assert claims[10].name == "Claim RENAMED" and claims[11].detail == "$75.5"
        assert [c.name for c in claims[12:14]] == ["Claim C000013", "Claim C000014"]
        assert claims[12].range.start.line == clm_line(edited_text, "C000013") == clm_line(text, "C000013") - 14
        assert len(claims) == LIMIT - 3  # a claim from past the cut moved in
        assert int(re.search(r"([\d,]+) more", rest.name).group(1).replace(",", "")) == OUTLINE_CLAIMS - 1 - len(claims)
        # The outline after the edits is the outline of the edited text opened afresh.
        fresh = "file:///tmp/e2e/large/outline-fresh.837"
        session.open(fresh, edited_text)
        assert short(await session.symbols(fresh)) == short([interchange, rest])

        # Keystrokes inside one segment (a code, an amount, the end of a claim's last segment),
        # the outline asked for after each: it is carried over them, and still right.
        typed = edited_text.split("\n")
        hi = clm_line(edited_text, "C000020") + 1
        clm = clm_line(edited_text, "C000021")
        ctp = clm_line(edited_text, "C000022") + 9
        assert typed[hi].startswith("HI*ABK:E119") and typed[ctp] == "CTP****1*UN~"
        for line, first, last, new in ((hi, 8, 9, "Z"), (clm, 12, 18, "1234.56"), (ctp, 11, 11, "X")):
            session.change(uri, types.TextDocumentContentChangePartial(range=rng(line, first, last), text=new))
            typed[line] = typed[line][:first] + new + typed[line][last:]
            await session.symbols(uri)
        interchange, rest = await session.symbols(uri)
        claims = interchange.children[0].children[0].children
        assert claims[20].detail == "$1234.56"
        assert as_tuple(claims[21].range)[2:] == (ctp, len("CTP****1*UNX"))
        again = "file:///tmp/e2e/large/outline-typed.837"
        session.open(again, "\n".join(typed))
        assert short(await session.symbols(again)) == short([interchange, rest])
    finally:
        await stop(session)
