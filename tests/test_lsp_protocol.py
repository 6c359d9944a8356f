"""Protocol edges of `medcode serve`, over a raw JSON-RPC connection (stdio, and --tcp):
what a client gets when it breaks the protocol's rules, and what stays out of answers and logs.

pytest-lsp's client refuses to send most of these messages, so a small client here writes the
frames itself.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
import sys
import threading
from pathlib import Path

import pytest
from lsprotocol import types
from medcode.server.lsp.actions import CHOOSE
from lsp_session import HI_ERR, P837, STDERR_WRAPPER, line_of, place, rng, start, stop

pytestmark = pytest.mark.asyncio(loop_scope="function")

SERVE = [sys.executable, "-m", "medcode.server", "serve"]
WAIT = 60.0  # seconds for any one answer (a busy CI machine); never a timing assertion


class Raw:
    """A JSON-RPC peer over a (reader, writer) pair: stdio pipes or a socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proc=None):
        self.reader, self.writer, self.proc = reader, writer, proc
        self.next_id = 0
        self.notifications: list[dict] = []

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params=None) -> None:
        self.send({"method": method, **({"params": params} if params is not None else {})})

    async def request(self, method: str, params=None) -> dict:
        """Send a request and return its response (result or error), answering the server's
        own requests (configuration, progress) on the way."""
        self.next_id += 1
        my_id = self.next_id
        self.send({"id": my_id, "method": method, **({"params": params} if params is not None else {})})
        while True:
            message = await asyncio.wait_for(self.read(), WAIT)
            if message.get("id") == my_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a request from the server
                self.send({"id": message["id"], "result": [None] if message["method"] == "workspace/configuration" else None})
            elif "method" in message:
                self.notifications.append(message)

    async def read(self) -> dict:
        length = 0
        while True:
            line = await self.reader.readline()
            if not line:
                raise EOFError("the server closed the connection")
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif line in (b"\r\n", b"\n"):
                break
        return json.loads(await self.reader.readexactly(length))

    async def initialize(self) -> dict:
        answer = await self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})
        return answer


async def spawn(index: Path, command: list[str] | None = None) -> Raw:
    proc = await asyncio.create_subprocess_exec(
        *(command or SERVE),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "MEDCODE_INDEX_DIR": str(index)},
    )
    return Raw(proc.stdout, proc.stdin, proc)


async def ended(raw: Raw) -> int:
    return await asyncio.wait_for(raw.proc.wait(), WAIT)


@pytest.fixture
async def raw(default_index):
    client = await spawn(default_index)
    yield client
    if client.proc.returncode is None:
        client.proc.kill()
        await client.proc.wait()


OPEN = {"textDocument": {"uri": "file:///tmp/raw/claims.837", "languageId": "x12", "version": 1, "text": P837}}
HOVER = {"textDocument": {"uri": "file:///tmp/raw/claims.837"}, "position": {"line": 0, "character": 0}}


async def test_requests_before_initialize_get_server_not_initialized(raw: Raw):
    answer = await raw.request("textDocument/hover", HOVER)
    assert answer["error"]["code"] == -32002, answer
    raw.notify("textDocument/didOpen", OPEN)  # dropped: not an error, no answer
    assert "capabilities" in (await raw.initialize())["result"]
    # The document opened before initialize was not kept.
    assert (await raw.request("textDocument/hover", HOVER))["result"] is None


async def test_invalid_params_get_invalid_params(raw: Raw):
    await raw.initialize()
    for params in ({"textDocument": 5}, {"position": {"line": "x"}}, [1, 2, 3]):
        answer = await raw.request("textDocument/hover", params)
        assert answer["error"]["code"] == -32602, answer
        assert "data" not in answer["error"] or answer["error"]["data"] is None
    # ... and the server carries on.
    raw.notify("textDocument/didOpen", OPEN)
    line, col, _ = place(P837, "HI*ABK:E119", "E119")
    answer = await raw.request("textDocument/hover", {**HOVER, "position": {"line": line, "character": col + 1}})
    assert "Type 2 diabetes" in answer["result"]["contents"]["value"]


async def test_requests_after_shutdown_get_invalid_request_then_exit_0(raw: Raw):
    await raw.initialize()
    assert (await raw.request("shutdown"))["result"] is None
    answer = await raw.request("textDocument/hover", HOVER)
    assert answer["error"]["code"] == -32600, answer
    raw.notify("exit")
    assert await ended(raw) == 0


async def test_exit_without_shutdown_exits_1(raw: Raw):
    await raw.initialize()
    raw.notify("exit")  # stdin stays open: the server must still go
    assert await ended(raw) == 1


async def test_error_responses_carry_no_traceback_or_document_text(raw: Raw):
    """Arguments that fail to convert: pygls' answer quotes the exception, which quotes the
    argument (text from the document, in a real client)."""
    await raw.initialize()
    marker = "ZZSECRETQQ"
    answer = await raw.request(
        "workspace/executeCommand",
        {"command": CHOOSE, "arguments": ["file:///x.837", marker, 0, 0, 0, "icd10cm", "E11", "FY2026"]},
    )
    assert answer["error"]["code"] == -32602, answer
    text = json.dumps(answer)
    assert marker not in text and "raceback" not in text, text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_tcp_keeps_listening_after_a_client_disconnects(default_index):
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *SERVE, "--tcp", f"127.0.0.1:{port}", stderr=asyncio.subprocess.DEVNULL, env={**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}
    )
    try:
        async def connect() -> Raw:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT
            while True:
                try:
                    return Raw(*await asyncio.open_connection("127.0.0.1", port))
                except OSError:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.1)

        first = await connect()
        assert "capabilities" in (await first.initialize())["result"]
        first.writer.close()  # gone without shutdown or exit
        second = await connect()
        assert "capabilities" in (await second.initialize())["result"]
        second.notify("textDocument/didOpen", OPEN)
        line, col, _ = place(P837, "HI*ABK:E119", "E119")
        answer = await second.request("textDocument/hover", {**HOVER, "position": {"line": line, "character": col + 1}})
        assert "Type 2 diabetes" in answer["result"]["contents"]["value"]
        assert (await second.request("shutdown"))["result"] is None
        second.notify("exit")
        second.writer.close()
        third = await connect()  # exit ends a connection, not the listener
        assert "capabilities" in (await third.initialize())["result"]
        third.writer.close()
        assert proc.returncode is None
    finally:
        proc.kill()
        await proc.wait()


async def test_reversed_edit_range_is_rejected_and_logged(default_index, tmp_path):
    stderr = tmp_path / "stderr.txt"
    session = await start("visual-studio-code", default_index, command=[sys.executable, str(STDERR_WRAPPER), str(stderr), "INFO"])
    uri = "file:///tmp/e2e/reversed/claims.837"
    try:
        session.open(uri, P837)
        before = await session.diagnostics(uri)
        line = line_of(P837, HI_ERR)
        # End before start: applied, it would duplicate the 15 characters between them.
        session.change(uri, types.TextDocumentContentChangePartial(range=rng(line, 20, 5), text=""))
        after = await session.diagnostics(uri)
        assert [(d.code, d.range) for d in after] == [(d.code, d.range) for d in before]
        symbols = await session.symbols(uri)
        assert symbols
    finally:
        await stop(session)
    assert "an edit whose range ends before it starts was rejected" in stderr.read_text()


async def test_hover_waits_for_a_running_check_without_blocking_the_loop(default_index):
    """The document's check holds its lock (a long check in a worker thread): hover awaits it
    while the event loop goes on serving; once the check is done, hover answers from it."""
    from medcode.server.lsp.server import create_server

    server = create_server(str(default_index))
    uri = "file:///tmp/in-process/claims.837"
    server.documents.open(types.TextDocumentItem(uri=uri, language_id="x12", version=1, text=P837))
    doc = server.documents.get(uri)
    handler = server.protocol.fm.features[types.TEXT_DOCUMENT_HOVER]
    line, col, _ = place(P837, "HI*ABK:E119", "E119")
    params = types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, col + 1))
    released = threading.Event()
    doc.lock.acquire()
    try:
        pending = handler(params)
        assert inspect.isawaitable(pending), "hover must not run (and wait) on the event loop"
        task = asyncio.ensure_future(pending)
        for _ in range(20):
            await asyncio.sleep(0.01)  # the loop keeps running other work
        assert not task.done()
    finally:
        doc.lock.release()
        released.set()
    hover = await asyncio.wait_for(task, WAIT)
    assert "Type 2 diabetes mellitus without complications" in hover.contents.value
    server.shutdown()


async def test_uncaught_task_errors_log_one_line(caplog):
    """An exception nobody awaited: one log line naming its type and medcode line, no
    traceback, no message text."""
    import logging

    from medcode.server.lsp.protocol import quiet_task_errors

    quiet_task_errors(asyncio.get_running_loop())

    async def fails():
        raise ValueError("ZZSECRETQQ patient text")

    with caplog.at_level(logging.ERROR, logger="medcode.lsp"):
        task = asyncio.ensure_future(fails())
        await asyncio.sleep(0.05)
        del task
        import gc

        gc.collect()
        await asyncio.sleep(0.05)
    records = [r for r in caplog.records if r.name == "medcode.lsp"]
    assert records, caplog.text
    assert all(r.exc_info is None for r in records)
    assert "ZZSECRETQQ" not in caplog.text and "ValueError" in caplog.text


async def test_stdout_writes_are_queued_not_waited_for():
    """A publish larger than the pipe (3.5 MB for 50,000 claims) is queued on the loop's pipe
    transport and written as the client reads: the write returns while nobody reads, and the
    bytes arrive whole and in order once the client does."""
    from medcode.server.lsp import protocol

    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()  # the server's stdin: a pipe of its own
    with os.fdopen(out_r, "rb") as client_end, os.fdopen(out_w, "wb") as stdout, os.fdopen(in_r, "rb") as stdin:
        writer = await protocol._pipe_writer(stdin, stdout)
        assert writer is not None
        data = bytes(range(256)) * (16 << 10)  # 4 MB
        writer.write(data[:1000])
        writer.write(data[1000:])  # nobody reads yet: a blocking write would never return
        assert writer.transport.get_write_buffer_size() > 0
        got = bytearray()
        reader = threading.Thread(target=lambda: got.extend(client_end.read(len(data))))
        reader.start()
        await writer.flushed(WAIT)
        reader.join(WAIT)
        assert bytes(got) == data
        writer.close()
        await asyncio.sleep(0)
        with pytest.raises(BrokenPipeError):
            writer.write(b"after close")
    os.close(in_w)


async def test_stall_record_is_written_on_exit(default_index, tmp_path):
    """MEDCODE_STALLS (bench/): the server records its loop's stalls and writes them on exit."""
    record = tmp_path / "stalls.json"
    proc = await asyncio.create_subprocess_exec(
        *SERVE, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "MEDCODE_INDEX_DIR": str(default_index), "MEDCODE_STALLS": str(record)},
    )
    raw = Raw(proc.stdout, proc.stdin, proc)
    await raw.initialize()
    raw.notify("textDocument/didOpen", OPEN)
    assert "result" in await raw.request("textDocument/hover", HOVER)
    assert (await raw.request("shutdown"))["result"] is None
    raw.notify("exit")
    assert await ended(raw) == 0
    data = json.loads(record.read_text())
    assert {"loop", "callbacks", "gc", "gil"} <= data.keys() and data["gil_probe"] is False
    assert all(len(row) == 4 for row in data["loop"] + data["callbacks"])
