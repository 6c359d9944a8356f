"""Where medcode depends on pygls' internals (pygls 2.1): the one place to check on upgrades.

pygls 2.1 leaves several protocol edges unanswered or unsafe; this module fixes them by
overriding LanguageServerProtocol methods and by running the transports itself:

* A request whose params do not fit its method fails inside `structure_message` (a json
  object_hook), where pygls logs it and drops it: the client waits forever. Here the request
  becomes a `_BadRequest` answered with -32602 (InvalidParams).
* Lifecycle (`handle_message`): requests before `initialize` get -32002 (ServerNotInitialized),
  requests after `shutdown` get -32600 (InvalidRequest); pygls answers neither. Notifications
  in those states are dropped, except `exit`.
* `exit` (`lsp_exit`): pygls calls sys.exit inside the handler, which its own stdio loop
  swallows (exit status 0 even without `shutdown`) and which kills a TCP server. Here `exit`
  ends the connection's read loop; `medcode serve` then exits 0 after `shutdown`, else 1, and
  a TCP server keeps listening.
* Error responses (`_send_response`): pygls puts the exception's text and a traceback in the
  response (`JsonRpcInternalError.of`); here internal errors go out as a fixed sentence with
  no data, since exception text can quote the document.
* Transports (`serve_stdio`, `serve_tcp`): stdin is read by the event loop (a pipe), not by a
  blocked worker thread of the server's pool, so `exit` ends the process at once; each TCP
  connection gets a fresh server and the listener outlives it.
* Uncaught task errors (`quiet_task_errors`): one log line with the exception's type and
  the medcode line it came from, no traceback, no message.

Document synchronisation is also overridden here (our own store, documents.py).

The pygls internals used, and why (check each on a pygls upgrade):

* `LanguageServerProtocol._server`: the server a protocol belongs to; the overridden
  didOpen/didChange/didClose keep the text in medcode's store (`server.documents`) instead of
  pygls' workspace, which re-splits the whole text on every keystroke.
* `LanguageServerProtocol.fm.features`: after updating the store, those overrides hand the
  notification on to the handler create_server registered for it (pygls only calls the
  registered handler itself when it does the synchronisation).
* `JsonRpcProtocol._shutdown`, `_send_response`, `structure_message`, `handle_message`: the
  lifecycle and error answers above.
* `LanguageServer._thread_pool` (`stop_workers`): a TCP session's pool is shut down without
  waiting; the public `thread_pool` property would create one.
* `JsonRpcProtocol.writer`, `_include_headers`, `CONTENT_TYPE`, `CHARSET` (`_write`):
  diagnostics are published, and pull results answered, as JSON made by diagnostics.py
  (`publish_json`, `RawJson`), written the way pygls' `_send_data` writes a message: pygls
  would unstructure and json.dumps thousands of diagnostics on the event loop.
* The converter pygls passes to the protocol: told to send `PlainJson` results (the outline)
  as they are.
* `pygls.io_.StdinAsyncReader`, `StdoutWriter`: the reader and writer the transports are
  built from. The read loop itself is pygls' `run_async` redone here (`_read_loop`): it parses
  with orjson, and a large body from a pipe or socket as it arrives, chunk by chunk
  (large_json.py; from other readers: decoded, freed, then json: `_parse`).

Nothing else in medcode touches pygls below its public `LanguageServer` API.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
import stat
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import RPCRequest

from .. import pipes, priority
from .large_json import LargeBody, loads

if TYPE_CHECKING:
    from .server import MedcodeServer

log = logging.getLogger("medcode.lsp")

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
# Error messages pygls builds that carry no document text (the method name comes from the client).
_SAFE_CODES = {-32601, -32800, -32801, SERVER_NOT_INITIALIZED, INVALID_REQUEST}
# Requests answered on the loop without waiting for a check: background checks give way while
# one is in flight (priority.py). Not a diagnostics pull nor the outline, which wait for workers.
_ANSWERED_ON_LOOP = frozenset(
    (types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_COMPLETION, types.COMPLETION_ITEM_RESOLVE, types.TEXT_DOCUMENT_CODE_ACTION, types.TEXT_DOCUMENT_INLAY_HINT)
)


@dataclass(frozen=True, slots=True)
class RawJson:
    """A request's result already serialised: answered as is, not through pygls' converter."""

    body: bytes


class PlainJson(list):
    """A result already made of JSON values (lists, dicts, strings, numbers): pygls' converter
    sends it as it is instead of unstructuring each item (5,000 outline entries cost more to
    unstructure than to find)."""


@dataclass(frozen=True, slots=True)
class _BadRequest:
    """A request whose params could not be read: answered with InvalidParams."""

    id: int | str
    method: str
    jsonrpc: str = "2.0"


class MedcodeProtocol(LanguageServerProtocol):
    _server: MedcodeServer

    def __init__(self, server, converter):
        super().__init__(server, converter)
        converter.register_unstructure_hook(PlainJson, lambda value: value)
        self.initialize_seen = False
        self.exit_code: int | None = None
        self.on_exit: Callable[[], None] | None = None  # set by the transport: end the read loop

    # -- reading messages --------------------------------------------------------------------
    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if isinstance(data, dict) and "id" in data and isinstance(data.get("method"), str):
                return _BadRequest(data["id"], data["method"])
            log.warning("a message the server cannot read was ignored")
            return {}  # not a JSON-RPC message: handle_message drops it

    def handle_message(self, message) -> None:
        if isinstance(message, _BadRequest):
            log.warning("%s: invalid params", message.method)
            self._send_error(message.id, INVALID_PARAMS, f"invalid params for {message.method}")
            return
        if isinstance(message, dict):  # not JSON-RPC (see structure_message)
            return
        method = getattr(message, "method", None)
        if method is None or method == types.EXIT:  # responses to our requests, and exit
            return super().handle_message(message)
        is_request = isinstance(message, RPCRequest)
        if self._shutdown:
            if is_request:
                self._send_error(message.id, INVALID_REQUEST, f"{method}: the server is shutting down (only exit is accepted)")
            return
        if not self.initialize_seen:
            if method != types.INITIALIZE:
                if is_request:
                    self._send_error(message.id, SERVER_NOT_INITIALIZED, f"{method}: the server is not initialized yet")
                return
            self.initialize_seen = True
        if is_request and method in _ANSWERED_ON_LOOP:
            priority.request_started((id(self), message.id))
        super().handle_message(message)

    # -- answering -----------------------------------------------------------------------------
    def _send_error(self, msg_id, code: int, message: str) -> None:
        super()._send_response(msg_id, error=types.ResponseError(code=code, message=message))

    def _send_response(self, msg_id, result=None, error=None):
        try:
            self._answer(msg_id, result, error)
        finally:  # written (queued on the pipe): background work may take the GIL back
            priority.request_done((id(self), msg_id))

    def _answer(self, msg_id, result, error) -> None:
        if error is None and isinstance(result, RawJson):
            self._write(b'{"jsonrpc":"2.0","id":%s,"result":' % orjson.dumps(msg_id), result.body, b"}")
            return
        if error is not None:
            # Exception text can quote the document and tracebacks are of no use to a client.
            if error.code not in _SAFE_CODES:
                message = "invalid params" if error.code == INVALID_PARAMS else "internal error in medcode (details in the server log)"
                error = types.ResponseError(code=error.code, message=message)
            else:
                error = types.ResponseError(code=error.code, message=error.message)
        super()._send_response(msg_id, result=result, error=error)

    def _write(self, *parts: bytes) -> None:
        """One message of ready JSON, given in parts, as pygls' _send_data writes one
        (Content-Length counts bytes: orjson writes UTF-8, not pygls' ASCII-escaped text).
        Large parts are written as they are, not joined: a publish of 9,000 diagnostics is
        3 MB, and a copy of it held the loop for milliseconds more (the transport copies only
        what the pipe does not take at once). The loop writes one message at a time, so the
        parts go out together (the pipe transport's writes never wait)."""
        if self.writer is None:
            log.error("cannot send: no transport")
            return
        if self._include_headers:
            length = sum(map(len, parts))
            parts = (b"Content-Length: %d\r\nContent-Type: %s; charset=%s\r\n\r\n" % (length, self.CONTENT_TYPE.encode(), self.CHARSET.encode()), *parts)
        if len(parts) > 1 and (max(map(len, parts)) < _CHUNK or not isinstance(self.writer, _PipeWriter)):
            parts = (b"".join(parts),)  # small, or a writer that may await each write: one write
        try:
            for part in parts:
                res = self.writer.write(part)
                if inspect.isawaitable(res):
                    asyncio.ensure_future(res)
        except BrokenPipeError:
            raise
        except Exception as error:  # noqa: BLE001 - as pygls' _send_data: reported, not raised
            self._server.report_server_error(error, JsonRpcException)

    # -- lifecycle -------------------------------------------------------------------------------
    @lsp_method(types.EXIT)
    def lsp_exit(self, *args) -> None:
        self.exit_code = 0 if self._shutdown else 1
        if self.on_exit is not None:
            self.on_exit()

    # -- documents: kept in our own store (documents.py) instead of pygls' workspace ----------
    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        self._server.documents.open(params.text_document)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        self._server.documents.change(params, self._server.encoding)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        self._server.documents.close(params.text_document.uri)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


def publish_json(server: MedcodeServer, uri: str, version: int | None, diagnostics: bytes) -> None:
    """textDocument/publishDiagnostics with the diagnostics' JSON array (diagnostics.py).
    Call on the event loop."""
    version_json = b"" if version is None else b'"version":%d,' % version
    head = b'{"jsonrpc":"2.0","method":"%s","params":{"uri":%s,%s"diagnostics":' % (types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS.encode(), orjson.dumps(uri), version_json)
    server.protocol._write(head, diagnostics, b"}}")


def stop_workers(server: MedcodeServer) -> None:
    """Shut a session's worker threads down without waiting for a running check."""
    pool = server._thread_pool
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


# -- uncaught errors -----------------------------------------------------------------------------
def where(exc: BaseException) -> str:
    """The innermost medcode line an exception passed through ("analysis.py:120"), to locate
    it without a traceback."""
    found = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if "medcode" in frame.filename or "/server/" in frame.filename or "/index_builder/" in frame.filename:
            found = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
    return found


def quiet_task_errors(loop: asyncio.AbstractEventLoop) -> None:
    def handler(_loop, context: dict) -> None:
        exc = context.get("exception")
        if exc is None:
            log.error("internal error in a background task")
        else:
            log.error("internal error in a background task: %s at %s", type(exc).__name__, where(exc))

    loop.set_exception_handler(handler)


def report_error(server: MedcodeServer, error: Exception, source) -> None:
    """pygls' error reporter: a notification handler (or the read loop) failed. The user sees
    a fixed sentence once per session; the log gets the exception's type and place only."""
    cause = error.__cause__ or error.__context__ or error
    log.error("internal error (%s) at %s", type(cause).__name__, where(cause))
    if not getattr(server, "_error_shown", False):
        server._error_shown = True
        try:
            server.window_show_message(
                types.ShowMessageParams(types.MessageType.Error, "medcode: an internal error occurred; the server log has the details")
            )
        except Exception:  # noqa: BLE001 - no transport any more
            pass


# -- transports -------------------------------------------------------------------------------
_CHUNK = 1 << 20  # bytes: bodies larger than this are read chunk by chunk


class _StreamReader:
    """An asyncio.StreamReader as pygls' AsyncReader, where a connection closed mid-message
    reads as the end of input instead of raising."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader

    async def readline(self) -> bytes:
        try:
            return await self.reader.readline()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return b""

    async def readexactly(self, n: int) -> bytes | bytearray:
        try:
            if n <= _CHUNK:
                return await self.reader.readexactly(n)
            # A 40 MB didOpen: StreamReader.readexactly would let its buffer grow to the whole
            # body and then copy it twice; reading chunk by chunk holds one copy.
            body = bytearray()
            while len(body) < n:
                chunk = await self.reader.read(min(_CHUNK, n - len(body)))
                if not chunk:
                    return b""
                body += chunk
            return body
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""

    async def read_large(self, n: int) -> LargeBody | None:
        """A body of n > _CHUNK bytes, parsed as it is read (large_json.py); None when the
        connection closed before its end."""
        body = LargeBody()
        try:
            while n:
                chunk = await self.reader.read(min(_CHUNK, n))
                if not chunk:
                    return None
                n -= len(chunk)
                body.feed(chunk)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return body


def _own_pipe(stdin, stdout) -> bool:
    """stdin is a pipe of its own: reading it non-blocking cannot make stdout non-blocking
    (which a shared socket or terminal would)."""
    try:
        st_in, st_out = os.fstat(stdin.fileno()), os.fstat(stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(st_in.st_mode) and (st_in.st_dev, st_in.st_ino) != (st_out.st_dev, st_out.st_ino)


async def _pipe_reader(stdin, stdout) -> _StreamReader | StdinAsyncReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    if not _own_pipe(stdin, stdout):
        return StdinAsyncReader(stdin, None)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except (OSError, ValueError):
        # Not a pipe (a regular file, a test's buffer): read it in a worker thread.
        return StdinAsyncReader(stdin, None)
    return _StreamReader(reader)


_CONTENT_LENGTH = re.compile(rb"^Content-Length: (\d+)\r\n$")


def _parse(held: list[bytes | bytearray]):
    """A JSON-RPC message, its body taken out of `held` so that it can be freed midway.

    Bodies up to _CHUNK are read with orjson, the fastest. A larger one (a 40 MB didOpen or
    whole-text didChange) is decoded first and its bytes let go before json reads the text:
    orjson holds a working copy of the document beside the bytes and the string it makes
    (3x the document at its peak, measured on 38 MB), this way 2x, for about 50 ms more CPU
    (a pipe or socket's large bodies are parsed as they are read, 1x: large_json.py)."""
    body = held.pop()
    if len(body) > _CHUNK:
        text = body.decode("utf-8", "surrogatepass")  # as json.loads decodes bytes
        del body
        return json.loads(text)
    return loads(body)


async def _read_loop(stop: threading.Event, reader: _StreamReader | StdinAsyncReader, server: MedcodeServer) -> None:
    """pygls' run_async, with the body parsed by _parse and structured as a whole (pygls'
    structure_message only acts on the top-level object, which carries "jsonrpc")."""
    protocol = server.protocol
    length = 0
    while not stop.is_set():
        header = await reader.readline()
        if not header:
            break
        if not length and (match := _CONTENT_LENGTH.fullmatch(header)):
            length = int(match.group(1))
        if length and not header.strip():
            if length > _CHUNK and isinstance(reader, _StreamReader):
                large = await reader.read_large(length)
                length = 0
                if large is None:
                    break
                parse = large.message  # hands the text over: `large` keeps none of it
            else:
                held = [await reader.readexactly(length)]  # _parse takes the body out
                length = 0
                if not held[0]:
                    break
                parse = partial(_parse, held)
            try:
                data = parse()
                protocol.handle_message(protocol.structure_message(data) if isinstance(data, dict) else data)
            except Exception as exc:  # noqa: BLE001 - one bad message must not end the session
                log.error("a message could not be handled (%s)", type(exc).__name__)
                server.report_server_error(exc, JsonRpcException)


async def _serve(server: MedcodeServer, reader: _StreamReader | StdinAsyncReader) -> None:
    stop = threading.Event()

    def end() -> None:
        stop.set()
        if isinstance(reader, _StreamReader):
            reader.reader.feed_eof()  # wakes the pending read: the loop ends now

    server.protocol.on_exit = end
    await _read_loop(stop, reader, server)


class _PipeWriter:
    """stdout as the loop's pipe transport, as pygls' writer: a write queues the bytes and
    returns, and the loop hands them to the pipe as the client reads. With a blocking write,
    a 3.5 MB publish held the loop until the client had read all of it (250 ms measured on a
    busy machine), and every hover waited behind it."""

    def __init__(self, transport: asyncio.WriteTransport):
        self.transport = transport

    def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise BrokenPipeError("the client closed the connection")
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()

    async def flushed(self, timeout: float) -> None:
        """Wait (at most timeout seconds) until what was written has reached the pipe."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.transport.get_write_buffer_size() and not self.transport.is_closing() and loop.time() < deadline:
            await asyncio.sleep(0.01)


async def _pipe_writer(stdin, stdout) -> _PipeWriter | None:
    """stdout as a pipe transport when it is a pipe of its own (as _own_pipe tells for stdin:
    the transport makes the descriptor non-blocking); None: keep pygls' blocking writer."""
    try:
        if not (_own_pipe(stdin, stdout) and stat.S_ISFIFO(os.fstat(stdout.fileno()).st_mode)):
            return None
        transport, _ = await asyncio.get_running_loop().connect_write_pipe(asyncio.Protocol, stdout)
    except (OSError, ValueError, AttributeError):
        return None
    # A publish of 9,000 diagnostics is 3.5 MB: through a 64 KB pipe it takes some 55
    # hand-overs between the client's reads and the loop's writes, each needing the loop.
    # Wider, the publish is out sooner, and fewer answers come behind it (26 to 15 of ~245
    # during re-checks in one bench_x12 run; those still wait for the client to parse it).
    pipes.widen(stdout.fileno())
    return _PipeWriter(transport)


def serve_stdio(server: MedcodeServer) -> int:
    """Serve one client on stdin/stdout; the exit status LSP asks for (0 after shutdown, else 1;
    0 when the client simply closes the pipe after shutdown)."""
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))

    async def main() -> None:
        quiet_task_errors(asyncio.get_running_loop())
        writer = await _pipe_writer(sys.stdin.buffer, sys.stdout.buffer)
        if writer is not None:
            sys.stdout.flush()  # nothing written yet goes after what the transport writes
            server.protocol.set_writer(writer)
        try:
            await _serve(server, await _pipe_reader(sys.stdin.buffer, sys.stdout.buffer))
        finally:
            if writer is not None:
                await writer.flushed(5.0)  # the shutdown answer, the last diagnostics

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the connection to the client is lost; stopping")
    finally:
        server.shutdown()
    code = server.protocol.exit_code
    if code is None:  # the client went away without `exit`
        code = 0 if server.protocol._shutdown else 1
    return code


def serve_tcp(new_server: Callable[[], MedcodeServer], host: str, port: int) -> None:
    """Listen on host:port; each connection gets a server of its own, and the listener keeps
    accepting after a client disconnects (or sends `exit`)."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = new_server()
        server.protocol.set_writer(writer)
        try:
            await _serve(server, _StreamReader(reader))
        finally:
            log.info("a client disconnected")
            writer.close()
            server.end_session()

    async def main() -> None:
        quiet_task_errors(asyncio.get_running_loop())
        listener = await asyncio.start_server(connection, host, port)
        async with listener:
            await listener.serve_forever()

    asyncio.run(main())
