"""A publish goes after the answers in flight: the client reads its messages in order and
parses a publish whole (megabytes for a 50,000-claim file), so an answer written behind one
waits for that parse. In process: the server's publishing step with the write replaced by a
list, and a hover in flight marked as the protocol marks one (priority.request_started).
"""

from __future__ import annotations

import asyncio

from lsp_session import P837
from lsprotocol import types

from medcode.server import priority
from medcode.server.lsp import server as server_module
from medcode.server.lsp.protocol import stop_workers
from medcode.server.lsp.server import MedcodeServer

URI = "file:///w/claims.837"


def test_a_publish_waits_for_the_answer_in_flight(default_index, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(server_module, "publish_json", lambda _ls, _uri, _version, _body: sent.append("publish"))
    ls = MedcodeServer(str(default_index))
    ls.documents.open(types.TextDocumentItem(URI, "x12", 1, P837))

    async def run() -> None:
        ls.settings_event().set()
        await ls._publish_later(URI, 0)  # the first check: nothing in flight, published at once
        assert sent == ["publish"]
        ls.versioned_publish = True  # every version is published
        ls.documents.get(URI).version = 2
        priority.request_started("hover in flight")
        try:
            task = asyncio.ensure_future(ls._publish_later(URI, 0))
            for _ in range(200):  # the check done, the publish waits for the answer
                if ls.documents.get(URI).analysis_version == 2:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.02)
            assert sent == ["publish"] and not task.done()
            sent.append("answer")
        finally:
            priority.request_done("hover in flight")
        await task
        assert sent == ["publish", "answer", "publish"]
        # A request never answered does not hold diagnostics back for long.
        priority.request_started("lost request")
        try:
            ls.documents.get(URI).version = 3
            await asyncio.wait_for(ls._publish_later(URI, 0), 5)
            assert sent[-1] == "publish" and len(sent) == 4
        finally:
            priority.request_done("lost request")

    try:
        asyncio.run(run())
    finally:
        stop_workers(ls)
