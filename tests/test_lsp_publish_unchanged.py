"""A re-check whose diagnostics equal those the client has is not sent again (a 50,000-claim
file's publish is megabytes the client parses whole, and most edits change no diagnostic),
except to a client that reads publishDiagnostics' version; a pull answers `unchanged`.

In process: the server's own publishing step (_publish_later) with the write to the client
replaced by a list, so that a publish left out is seen without waiting for one that never comes.
"""

from __future__ import annotations

import asyncio

import orjson
from lsp_session import P837, change_in_place
from lsprotocol import types

from medcode.server.lsp import server as server_module
from medcode.server.lsp.protocol import stop_workers
from medcode.server.lsp.server import MedcodeServer

URI = "file:///w/claims.837"


def test_only_changed_diagnostics_are_published_again(default_index, monkeypatch):
    sent: list[tuple[int, list]] = []
    monkeypatch.setattr(server_module, "publish_json", lambda _ls, _uri, version, body: sent.append((version, orjson.loads(body))))
    ls = MedcodeServer(str(default_index))
    ls.documents.open(types.TextDocumentItem(URI, "x12", 1, P837))

    async def run() -> None:
        ls.settings_event().set()
        await ls._publish_later(URI, 0)
        assert [v for v, _ in sent] == [1] and sent[0][1]
        change_in_place(ls, URI, 2, "NM1*IL*1*DOE*JANE", "NM1*IL*1*DOW*JANE")  # a name: no diagnostic changes
        await ls._publish_later(URI, 0)
        assert [v for v, _ in sent] == [1]
        change_in_place(ls, URI, 3, "E11.9", "E119")  # the dotted code fixed: one diagnostic fewer
        await ls._publish_later(URI, 0)
        assert [v for v, _ in sent] == [1, 3] and len(sent[1][1]) == len(sent[0][1]) - 1
        # A client that reads the version is told each version's diagnostics, even the same.
        ls.versioned_publish = True
        change_in_place(ls, URI, 4, "NM1*IL*1*DOW*JANE", "NM1*IL*1*DOE*JANE")
        await ls._publish_later(URI, 0)
        assert [v for v, _ in sent] == [1, 3, 4] and sent[2][1] == sent[1][1]

    try:
        asyncio.run(run())
    finally:
        stop_workers(ls)


def test_a_pull_after_an_edit_that_changes_no_diagnostic_is_unchanged(default_index):
    ls = MedcodeServer(str(default_index))
    ls.documents.open(types.TextDocumentItem(URI, "x12", 1, P837))

    def pull(previous: str | None):
        params = types.DocumentDiagnosticParams(types.TextDocumentIdentifier(URI), previous_result_id=previous)
        return ls.on_pull(params)

    async def run() -> None:
        ls.settings_event().set()
        first = await pull(None)
        first_id = orjson.loads(first.body)["resultId"]
        change_in_place(ls, URI, 2, "NM1*IL*1*DOE*JANE", "NM1*IL*1*DOW*JANE")
        same = await pull(first_id)
        assert isinstance(same, types.UnchangedDocumentDiagnosticReport) and same.result_id == first_id
        change_in_place(ls, URI, 3, "E11.9", "E119")
        changed = await pull(first_id)
        report = orjson.loads(changed.body)
        assert report["kind"] == "full" and report["resultId"] != first_id
        assert len(report["items"]) == len(orjson.loads(first.body)["items"]) - 1

    try:
        asyncio.run(run())
    finally:
        stop_workers(ls)
