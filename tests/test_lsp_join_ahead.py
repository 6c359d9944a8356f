"""A large document's text is joined before its debounce ends (MedcodeServer._publish_later,
OpenDocument.join_ahead), not after it by the check: the re-publish after an edit of a 40 MB
file no longer waits for a join of tens of milliseconds. What is published is the same as a
fresh check's, whether the join ahead was used or an edit came after it.

In process, as tests/test_lsp_publish_unchanged.py: the write to the client is a list."""

from __future__ import annotations

import asyncio
import threading

import orjson
from lsp_session import P837, change_in_place
from lsprotocol import types

from medcode.server.analysis import DocumentChecker
from medcode.server.lsp import documents as documents_module
from medcode.server.lsp import server as server_module
from medcode.server.lsp.diagnostics import diagnostics_json
from medcode.server.lsp.protocol import stop_workers
from medcode.server.lsp.server import MedcodeServer
from medcode.server.positions import LineIndex

URI = "file:///w/claims.837"


def _fresh(ls: MedcodeServer, text: str) -> list:
    findings = DocumentChecker(ls.verdicts).check(text, URI, "x12", ls.settings.options).findings
    return orjson.loads(diagnostics_json(findings, LineIndex(text, ls.encoding), ls.settings).body)


def _server(monkeypatch, sent: list, index) -> MedcodeServer:
    monkeypatch.setattr(server_module, "publish_json", lambda _ls, _uri, version, body: sent.append((version, orjson.loads(body))))
    monkeypatch.setattr(server_module, "SYNC_CHECK_LIMIT", 100)  # the fixture counts as a large document
    monkeypatch.setattr(server_module, "JOIN_AHEAD", 0.15)
    ls = MedcodeServer(str(index))
    ls.documents.open(types.TextDocumentItem(URI, "x12", 1, P837))
    return ls


def _run(ls: MedcodeServer, run) -> None:
    try:
        asyncio.run(run())
    finally:
        stop_workers(ls)


def _spy(monkeypatch) -> list[tuple[str, bool]]:
    """(what ran, whether the document's text was one string then), in order."""
    seen: list[tuple[str, bool]] = []
    join_ahead, check = documents_module.OpenDocument.join_ahead, MedcodeServer._check

    def joined_ahead(doc):
        join_ahead(doc)
        seen.append(("join_ahead", doc.source.joined))

    def checked(ls, doc, *args):
        seen.append(("check", doc.source.joined))
        return check(ls, doc, *args)

    monkeypatch.setattr(documents_module.OpenDocument, "join_ahead", joined_ahead)
    monkeypatch.setattr(MedcodeServer, "_check", checked)
    return seen


def test_the_text_is_joined_before_the_debounce_ends(default_index, monkeypatch):
    sent: list[tuple[int, list]] = []
    ls = _server(monkeypatch, sent, default_index)
    seen = _spy(monkeypatch)

    async def run() -> None:
        ls.settings_event().set()
        await ls._publish_later(URI, 0)  # no debounce: nothing joined ahead
        assert seen == [("check", True)]
        change_in_place(ls, URI, 2, "E11.9", "E119")
        assert not ls.documents.get(URI).source.joined  # an edit leaves pieces, not a copy
        await ls._publish_later(URI, 0.3)
        # Joined in a worker 0.15 s before the check, which then found the text in one piece.
        assert seen[1:] == [("join_ahead", True), ("check", True)]
        text = ls.documents.get(URI).text
        assert sent[-1] == (2, _fresh(ls, text))

    _run(ls, run)


def test_an_edit_after_the_join_ahead_is_in_the_check(default_index, monkeypatch):
    sent: list[tuple[int, list]] = []
    ls = _server(monkeypatch, sent, default_index)
    seen = _spy(monkeypatch)

    async def run() -> None:
        ls.settings_event().set()
        await ls._publish_later(URI, 0)
        change_in_place(ls, URI, 2, "E11.9", "E119")
        task = asyncio.ensure_future(ls._publish_later(URI, 0.4))
        while ("join_ahead", True) not in seen:  # joined ahead at 0.25 s
            await asyncio.sleep(0.01)
        change_in_place(ls, URI, 3, "HI*ABK:E119", "HI*ABK:E11")  # then, before the check, another edit
        await task
        assert seen[-1] == ("check", False)  # the check joined the text with the new edit
        assert sent[-1] == (3, _fresh(ls, ls.documents.get(URI).text))
        assert any(d["code"] == "not-billable" for d in sent[-1][1])  # E11 is found

    _run(ls, run)


def test_no_join_ahead_for_a_short_debounce_or_while_a_check_holds_the_document(default_index, monkeypatch):
    sent: list[tuple[int, list]] = []
    ls = _server(monkeypatch, sent, default_index)
    seen = _spy(monkeypatch)

    async def run() -> None:
        ls.settings_event().set()
        await ls._publish_later(URI, 0)
        change_in_place(ls, URI, 2, "E11.9", "E119")
        await ls._publish_later(URI, 0.1)  # shorter than JOIN_AHEAD: the check joins
        assert seen[1:] == [("check", False)]

    _run(ls, run)
    doc = ls.documents.get(URI)
    change_in_place(ls, URI, 3, "HI*ABK:E119", "HI*ABK:E11")
    with doc.lock:  # a check runs: it joins for itself
        worker = threading.Thread(target=doc.join_ahead)
        worker.start()
        worker.join(10)
    assert seen[-1] == ("join_ahead", False)
    doc.join_ahead()
    assert seen[-1] == ("join_ahead", True)
