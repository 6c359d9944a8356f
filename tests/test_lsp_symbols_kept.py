"""The outline kept per document (lsp/symbols.py): one that cannot be carried over an edit is
dropped before the new one is built, so that two are never held at once."""

import asyncio
import re
import sys
from pathlib import Path

import orjson
from lsprotocol import types

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402
from test_x12_incremental import claims  # noqa: E402

from medcode.server.lsp import symbols  # noqa: E402
from medcode.server.lsp.server import MedcodeServer  # noqa: E402


def names(outline) -> list[str]:
    out = []
    for s in outline:
        s = s if isinstance(s, dict) else orjson.loads(orjson.dumps(s))
        out.append(s["name"])
        out += names(s.get("children") or [])
    return out


def test_an_outline_built_again_replaces_the_kept_one_first(tmp_path, monkeypatch):
    server = MedcodeServer(str(tmp_path))
    uri = "file:///w/claims.837"
    text = make_837(claims("P") * 2)
    doc = server.documents.open(types.TextDocumentItem(uri, "x12", 1, text))
    first = asyncio.run(symbols.document_symbols(server, doc))
    assert symbols._kept[uri].version == 1
    built = []
    real_build = symbols.build

    def build(*args):
        assert uri not in symbols._kept  # the old outline is gone before the new is built
        built.append(1)
        return real_build(*args)

    monkeypatch.setattr(symbols, "build", build)
    line = text[: text.index("CLM*")].count("\n")
    change = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(line, 0), types.Position(line, 0)), text="NTE*ADD*A NOTE~\n"
    )
    server.documents.change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version=2, uri=uri), [change]), server.encoding)
    again = asyncio.run(symbols.document_symbols(server, doc))
    assert built
    assert symbols._kept[uri].version == 2
    assert names(again) == names(first)  # a note moves the claims down; it names nothing new


def test_an_outline_is_forgotten_when_the_text_is_replaced_whole(tmp_path):
    """No edit carries an outline over a whole-text change: it is dropped at the change, and
    kept over ranged edits (which may carry it)."""
    server = MedcodeServer(str(tmp_path))
    uri = "file:///w/claims.837"
    text = make_837(claims("P") * 2)
    doc = server.documents.open(types.TextDocumentItem(uri, "x12", 1, text))
    asyncio.run(symbols.document_symbols(server, doc))
    ranged = types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="")
    server.documents.change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version=2, uri=uri), [ranged]), server.encoding)
    symbols.forget_stale(doc)
    assert uri in symbols._kept
    whole = types.TextDocumentContentChangeWholeDocument(text=text)
    server.documents.change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version=3, uri=uri), [whole]), server.encoding)
    symbols.forget_stale(doc)
    assert uri not in symbols._kept
    again = asyncio.run(symbols.document_symbols(server, doc))
    assert names(again) and symbols._kept[uri].version == 3


def test_the_entries_on_an_edited_line_are_found_by_their_spans():
    """_follow places again the entries whose symbol starts or ends on an edited line: found
    by a search of Built.spans' bytes (pair k spans lines spans[2k] to spans[2k + 1])."""
    from array import array

    spans = array("l", [3, 5, 5, 9, 7, 7, 1, 5, 0, 12])
    assert symbols._on_lines(spans, [5]) == {0, 1, 3}
    assert symbols._on_lines(spans, [7]) == {2} and symbols._on_lines(spans, [7, 12, 3]) == {0, 2, 4}
    assert symbols._on_lines(spans, [8]) == set() and symbols._on_lines(array("l"), [5]) == set()
    # Bytes that straddle two values are not a value: 256's (00 01 00 ...) are, little-endian,
    # the last byte of 5 and the first ones of 1.
    straddle = array("l", [5, 1])
    assert straddle.tobytes().find(array("l", [256]).tobytes()) > 0
    assert symbols._on_lines(straddle, [256]) == set() and symbols._on_lines(straddle, [1]) == {0}


def _change(server, doc, text: str, a: int, b: int, new: str) -> str:
    """Replace text[a:b] with new in the open document, as an editor's ranged change."""
    from medcode.server.positions import LineIndex

    index = LineIndex(text)
    rng = types.Range(types.Position(*index.position(a)), types.Position(*index.position(b)))
    change = types.TextDocumentContentChangePartial(range=rng, text=new)
    server.documents.change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version=doc.version + 1, uri=doc.uri), [change]), server.encoding)
    return text[:a] + new + text[b:]


def _fresh(server, text: str):
    fresh = server.documents.open(types.TextDocumentItem("file:///w/fresh.837", "x12", 1, text))
    fresh.index(server.encoding)  # as the server's worker builds it after didOpen
    try:
        return asyncio.run(symbols.document_symbols(server, fresh))
    finally:
        server.documents.close(fresh.uri)
        symbols._kept.pop(fresh.uri, None)


def _counted(monkeypatch) -> list[str]:
    """What each outline request did: "build" or "follow" (carried over the edits)."""
    paths: list[str] = []
    real_build, real_follow = symbols.build, symbols._follow

    def build(*args):
        paths.append("build")
        return real_build(*args)

    async def follow(*args):
        carried = await real_follow(*args)
        paths.append("follow" if carried else "no follow")
        return carried

    monkeypatch.setattr(symbols, "build", build)
    monkeypatch.setattr(symbols, "_follow", follow)
    return paths


def _opened_many(tmp_path):
    """A server with a 600-claim 837P open and its outline built and kept: the short outline,
    which edits may carry. Returns the server, the document's URI, the document and its text."""
    server = MedcodeServer(str(tmp_path))
    uri = "file:///w/many.837"
    text = make_837(claims("P") * 150)
    doc = server.documents.open(types.TextDocumentItem(uri, "x12", 1, text))
    doc.index(server.encoding)
    asyncio.run(symbols.document_symbols(server, doc))
    return server, uri, doc, text


def _assert_blocks_counted(blocks, text: str) -> None:
    """The kept outline's terminator counts per block are those of the text."""
    assert [text[i:j].count("~") for i, j in zip(blocks.starts, blocks.starts[1:])] == list(blocks.counts)


def test_keystrokes_far_apart_carry_the_outline(tmp_path, monkeypatch):
    """Two keystrokes at both ends of a large file, and a line added and taken out between
    them (as an editor's undo does): the outline is carried over each, not built again; the
    carry reads no more than windows of the text (no span of the edits is sliced); and the
    outline is that of the edited text opened afresh."""
    from medcode.server.lsp.pieces import EditedText

    server, uri, doc, text = _opened_many(tmp_path)
    assert symbols._kept[uri].built.short
    paths = _counted(monkeypatch)
    edited = _change(server, doc, text, text.index("HI*ABK:") + 8, text.index("HI*ABK:") + 9, "Z")
    at = edited.index("\n", len(edited) // 2) + 1
    edited = _change(server, doc, edited, at, at, "NTE*ADD*A NOTE~\n")
    edited = _change(server, doc, edited, at, at + len("NTE*ADD*A NOTE~\n"), "")
    edited = _change(server, doc, edited, edited.rindex("HI*ABK:") + 8, edited.rindex("HI*ABK:") + 9, "Z")
    sliced: list[int] = []
    real = EditedText.__getitem__

    def getitem(self, key):
        got = real(self, key)
        sliced.append(len(got))
        return got

    monkeypatch.setattr(EditedText, "__getitem__", getitem)
    threads = []
    real_to_thread = asyncio.to_thread
    monkeypatch.setattr(asyncio, "to_thread", lambda *a: threads.append(a) or real_to_thread(*a))
    outline = asyncio.run(symbols.document_symbols(server, doc))
    monkeypatch.setattr(EditedText, "__getitem__", real)
    assert paths == ["follow"]
    assert threads == []  # the terminators counted in the two blocks edited, on the loop
    # Windows of the terminators' count (outline.WINDOW) and of the searches, not the span.
    assert max(sliced, default=0) <= 1 << 18
    assert orjson.dumps(outline) == orjson.dumps(_fresh(server, edited))


def test_an_outline_carried_over_random_edits_is_the_one_built_afresh(tmp_path, monkeypatch):
    """Random batches of edits between outline requests (characters, elements, whole segments
    and lines added or taken out; in the envelope, across segments and claims): the outline
    answered, carried or built again, is the outline of the same text opened afresh, and is
    carried over most batches that add no terminator or line break."""
    import random

    sys.path.insert(0, str(Path(__file__).parent))
    from test_x12_parsing import _random_edits  # noqa: E402

    from medcode.server.x12 import outline as outline_module

    rnd = random.Random(28)
    monkeypatch.setattr(symbols, "LIMIT", 300)  # the outline stops halfway through the claims
    monkeypatch.setattr(outline_module, "WINDOW", 4096)  # text read, and terminators counted, in many blocks
    server, uri, doc, text = _opened_many(tmp_path)
    paths = _counted(monkeypatch)
    inserted = []
    real_insertions = symbols.follow_insertions
    monkeypatch.setattr(symbols, "follow_insertions", lambda *a: inserted.append(real_insertions(*a)) or inserted[-1])
    for _ in range(80):
        steps = []
        for _ in range(rnd.choice([1, 1, 2, 3, 6])):
            draw = rnd.random()
            if draw < 0.5:  # one character in a code, before or past the cut: typing
                a = rnd.choice([m.end() for m in re.finditer("ABK:[A-Z]", text)])
                b, new = a + rnd.choice([0, 1]), rnd.choice("7Z")
            elif draw < 0.75:  # a line, a segment, a claim or a line break put in
                a = rnd.choice([m.end() for m in re.finditer("[~\n]", text)])
                b, new = a, rnd.choice(["NTE*ADD*A NOTE~\n", "\n", "CLM*NEW*5***11:B:1~\n", "HL*9*1*22*0~\n", "REF*X~", "CL", "~"])
            else:  # anywhere, anything (_random_edits)
                edited, [(a, b, n)] = _random_edits(rnd, text, 1)
                new = edited[a : a + n]
            text = _change(server, doc, text, a, b, new)
            steps.append((a, b, new))
        outline = asyncio.run(symbols.document_symbols(server, doc))
        assert orjson.dumps(outline) == orjson.dumps(_fresh(server, text)), steps
        _assert_blocks_counted(symbols._kept[uri].built.terminators, text)
    assert paths.count("follow") > 20 and paths.count("build") > 5, paths
    assert sum(m is not None for m in inserted) > 3  # insertions past the cut carried


def test_two_requests_for_one_version_carry_the_outline_once(tmp_path, monkeypatch):
    """Edits in more blocks than are counted on the loop: the count runs in a thread, and a
    second request for the same version meanwhile carries the outline too; the first then
    finds it carried (not carried twice), and both answer the fresh outline."""
    from medcode.server.x12 import outline as outline_module

    monkeypatch.setattr(outline_module, "WINDOW", 2048)
    server, uri, doc, text = _opened_many(tmp_path)
    sites = [m.end() for m in re.finditer("ABK:[A-Z]", text)]
    for at in reversed(sites[:: len(sites) // (symbols.LOOP_BLOCKS + 2)]):  # the last first: offsets hold
        text = _change(server, doc, text, at, at + 1, "77")
    assert symbols._kept[uri].built.terminators.touched(symbols.disjoint(doc.edit_log.since(symbols._kept[uri].revision))) > symbols.LOOP_BLOCKS
    paths = _counted(monkeypatch)

    async def both():
        return await asyncio.gather(symbols.document_symbols(server, doc), symbols.document_symbols(server, doc))

    first, second = asyncio.run(both())
    assert paths == ["follow", "follow"]
    fresh = orjson.dumps(_fresh(server, text))
    assert orjson.dumps(first) == fresh and orjson.dumps(second) == fresh


def test_insertions_past_the_cut_carry_the_outline(tmp_path, monkeypatch):
    """Random insertions of lines, segments, claims, terminators and line breaks, anywhere
    (past the outline's cut, before it, in the envelope, inside segments): the outline answered
    is the one built afresh; those past the cut are carried (outline.follow_insertions), the
    claims they add counted in the entry that says how many are left out."""
    import random

    from medcode.server.x12 import outline as outline_module

    rnd = random.Random(14)
    monkeypatch.setattr(symbols, "LIMIT", 300)
    monkeypatch.setattr(outline_module, "WINDOW", 4096)
    server, uri, doc, text = _opened_many(tmp_path)
    carried = []
    real = symbols.follow_insertions
    monkeypatch.setattr(symbols, "follow_insertions", lambda *a: _tracked(real, carried, *a))
    names_left_out = set()
    for _ in range(50):
        for _ in range(rnd.choice([1, 1, 2, 3])):
            a = rnd.choice([m.end() for m in re.finditer("[~\n]", text)]) if rnd.random() < 0.6 else rnd.randrange(len(text) + 1)
            new = rnd.choice(["NTE*ADD*A NOTE~\n", "\n", "\n\n", "CLM*NEW*5***11:B:1~\n", "HL*9*1*22*0~\n", "REF*X~", "~", "CLM", "SE*1*1~\n", "  "])
            text = _change(server, doc, text, a, a, new)
        outline = asyncio.run(symbols.document_symbols(server, doc))
        assert orjson.dumps(outline) == orjson.dumps(_fresh(server, text))
        names_left_out.add(outline[-1]["name"])
        _assert_blocks_counted(symbols._kept[uri].built.terminators, text)
    assert sum(carried) > 15 and len(names_left_out) > 3, (sum(carried), names_left_out)


def _tracked(real, carried, *args):
    moved = real(*args)
    carried.append(moved is not None)
    return moved
