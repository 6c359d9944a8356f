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
from medcode.server.lsp import publish_hold
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


# -- a large publish (publish_hold.py) -------------------------------------------------------------
# Every publish here counts as large unless a test says otherwise: the fixture's diagnostics are
# a few KB, the bench file's 2.7 MB.


class _Publishing:
    """A server with the fixture open whose publishes and the test's answers land in `events`
    in the order the client would read them; `when_ready` runs on the loop at the moment the
    check's diagnostics are done, before the server decides when to write them."""

    def __init__(self, index, monkeypatch, large: bool = True):
        if large:
            monkeypatch.setattr(publish_hold, "LARGE", 0)
        self.events: list[str] = []
        monkeypatch.setattr(server_module, "publish_json", lambda _ls, _uri, version, _body: self.events.append(f"publish {version}"))
        self.ls = MedcodeServer(str(index))
        self.ls.documents.open(types.TextDocumentItem(URI, "x12", 1, P837))
        self.ls.versioned_publish = True  # every version is published
        self.when_ready = lambda: None
        checked = self.ls.diagnostics

        async def diagnostics(doc, always=True):
            result = await checked(doc, always)
            self.when_ready()
            return result

        self.ls.diagnostics = diagnostics

    def answer(self, key: str) -> None:
        self.events.append(f"answer {key}")
        priority.request_done(key)

    def run(self, body) -> None:
        async def main() -> None:
            self.ls.settings_event().set()
            await body(asyncio.get_running_loop())

        try:
            asyncio.run(main())
        finally:
            stop_workers(self.ls)

    def publish(self, ready, settle: float) -> list[str]:
        """The events of one publish: `ready(loop)` runs at the moment its diagnostics are done
        (the client's requests around it), and the test looks `settle` seconds after the server
        decided when to write it."""

        async def body(loop) -> None:
            self.when_ready = lambda: ready(loop)
            await self.ls._publish_later(URI, 0)
            await asyncio.sleep(settle)

        self.run(body)
        return self.events

    def request(self, loop, key: str, sent: float, answered: float) -> None:
        """A request the loop starts handling `sent` seconds from now and answers at `answered`."""
        loop.call_later(sent, priority.request_started, key)
        loop.call_later(answered, self.answer, key)


def test_a_request_that_arrived_before_a_large_publish_is_answered_before_it(default_index, monkeypatch):
    p = _Publishing(default_index, monkeypatch)

    def arrived(loop) -> None:  # the request's bytes are in; the read loop handles it a turn later
        loop.call_soon(lambda: (priority.request_started("hover 1"), loop.call_later(0.02, p.answer, "hover 1")))

    assert p.publish(arrived, 0.05) == ["answer hover 1", "publish 1"]


def test_a_large_publish_goes_right_after_the_next_answer_while_the_client_sends_requests(default_index, monkeypatch):
    monkeypatch.setattr(server_module, "PUBLISH_HOLD", 30.0)  # the answer, not the bound, lets it go
    # The client counts as sending for 0.5 s, not 0.05: a loop held up by a loaded machine
    # must not end the stream between hover 1 and hover 2.
    monkeypatch.setattr(publish_hold, "STREAM", 0.5)
    p = _Publishing(default_index, monkeypatch)

    def ready(loop) -> None:
        priority.request_started("hover 1")  # answered just before the diagnostics were ready
        p.answer("hover 1")
        # The client's next two requests, one after the other.
        p.request(loop, "hover 2", 0.02, 0.025)
        p.request(loop, "hover 3", 0.045, 0.05)

    assert p.publish(ready, 0.1) == ["answer hover 1", "answer hover 2", "publish 1", "answer hover 3"]


def test_a_large_publish_waits_no_longer_once_the_client_stops_sending(default_index, monkeypatch):
    monkeypatch.setattr(server_module, "PUBLISH_HOLD", 30.0)
    p = _Publishing(default_index, monkeypatch)

    def ready(loop) -> None:
        priority.request_started("hover 1")
        p.answer("hover 1")
        p.request(loop, "much later", 3.0, 3.0)  # long after STREAM (0.05 s)

    assert p.publish(ready, 3.1) == ["answer hover 1", "publish 1", "answer much later"]


def test_a_steady_stream_of_requests_does_not_starve_a_publish(default_index, monkeypatch):
    # Always a request in flight, each answered after the next came: without the bound the
    # publish would wait for the stream to end.
    monkeypatch.setattr(server_module, "PUBLISH_HOLD", 0.05)
    p = _Publishing(default_index, monkeypatch)

    async def body(loop) -> None:
        async def stream() -> None:
            priority.request_started(0)
            for n in range(1, 400):  # 2 s or more
                await asyncio.sleep(0.005)
                priority.request_started(n)
                p.answer(n - 1)
            p.events.append("stream ends")
            p.answer(399)

        requests = asyncio.ensure_future(stream())
        await asyncio.sleep(0.01)
        await p.ls._publish_later(URI, 0)
        await requests

    p.run(body)
    assert "publish 1" in p.events and p.events.index("publish 1") < p.events.index("stream ends")
    assert not priority.answering()


def test_a_small_publish_goes_out_without_waiting_for_the_next_answer(default_index, monkeypatch):
    monkeypatch.setattr(server_module, "PUBLISH_HOLD", 30.0)
    p = _Publishing(default_index, monkeypatch, large=False)

    def ready(loop) -> None:
        priority.request_started("hover 1")
        p.answer("hover 1")
        p.request(loop, "hover 2", 0.02, 0.025)

    assert p.publish(ready, 0.05) == ["answer hover 1", "publish 1", "answer hover 2"]


def test_a_large_publish_goes_right_after_the_answer_in_flight(default_index, monkeypatch):
    # The answer in flight when the diagnostics were ready is the one it follows, even when it
    # is sent while the loop reads what has arrived: not the client's next one.
    monkeypatch.setattr(server_module, "PUBLISH_HOLD", 30.0)
    p = _Publishing(default_index, monkeypatch)

    def ready(loop) -> None:
        priority.request_started("hover 1")
        loop.call_soon(p.answer, "hover 1")
        p.request(loop, "hover 2", 0.02, 0.025)

    assert p.publish(ready, 0.05) == ["answer hover 1", "publish 1", "answer hover 2"]
