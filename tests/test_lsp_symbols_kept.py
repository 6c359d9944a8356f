"""The outline kept per document (lsp/symbols.py): one that cannot be carried over an edit is
dropped before the new one is built, so that two are never held at once."""

import asyncio
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
    """_follow places again the entries whose symbol starts or ends on the edited line: found
    by a scan of Built.spans (pair k spans lines spans[2k] to spans[2k + 1])."""
    from array import array

    spans = array("l", [3, 5, 5, 9, 7, 7, 1, 5, 0, 12])
    assert sorted(set(symbols._on_line(spans, 5))) == [0, 1, 3]
    assert sorted(set(symbols._on_line(spans, 7))) == [2]
    assert symbols._on_line(spans, 8) == [] and symbols._on_line(array("l"), 5) == []


def test_keystrokes_far_apart_are_not_read_whole_to_decide_on_a_rebuild(tmp_path, monkeypatch):
    """Two keystrokes at both ends of a large file: the edits since the kept outline span the
    file, which holds terminators, so the outline is built again; deciding that searches the
    span (the first terminator ends it) instead of slicing all of it on the loop. The outline
    is then that of the edited text opened afresh."""
    from medcode.server.lsp.pieces import EditedText

    server = MedcodeServer(str(tmp_path))
    uri = "file:///w/many.837"
    text = make_837(claims("P") * 150)  # 600 claims: the short outline, which edits may carry
    doc = server.documents.open(types.TextDocumentItem(uri, "x12", 1, text))
    asyncio.run(symbols.document_symbols(server, doc))
    assert symbols._kept[uri].built.short
    edited = text
    for version, at in ((2, text.index("HI*ABK:") + 8), (3, text.rindex("HI*ABK:") + 8)):
        line = edited[:at].count("\n")
        character = at - (edited.rfind("\n", 0, at) + 1)
        change = types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, character), types.Position(line, character + 1)), text="Z")
        server.documents.change(types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version=version, uri=uri), [change]), server.encoding)
        edited = edited[:at] + "Z" + edited[at + 1 :]
    sliced: list[int] = []
    real = EditedText.__getitem__

    def getitem(self, key):
        got = real(self, key)
        sliced.append(len(got))
        return got

    monkeypatch.setattr(EditedText, "__getitem__", getitem)
    assert asyncio.run(symbols._follow(server, doc, doc.delimiters(), symbols._kept[uri])) is False
    assert max(sliced, default=0) <= 1 << 16  # windows of the search, not the span of the edits
    monkeypatch.undo()
    outline = asyncio.run(symbols.document_symbols(server, doc))
    fresh = server.documents.open(types.TextDocumentItem("file:///w/fresh.837", "x12", 1, edited))
    assert orjson.dumps(outline) == orjson.dumps(asyncio.run(symbols.document_symbols(server, fresh)))
