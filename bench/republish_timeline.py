"""Where the time from an edit to its re-published diagnostics goes, step by step, in the server.

    python bench/republish_timeline.py --file /work/notes/claims-50k.837 [--rounds 4]

Spawns the language server with timestamps put around its steps from outside (this script runs
it with wrappers installed: no product code carries the instrumentation), opens the file, then
sends rounds of edits (a line added before a claim's HI, the line removed, one character of a
diagnosis code changed), each waiting for its re-publish, as bench_x12.py does. For each edit it
prints, from the client's didChange, when each step started and ended, its wall time and the CPU
seconds of the thread it ran in (wall beyond CPU: waiting for the GIL, a lock, the machine), the
pauses a background check made and how long they waited, and the client's read and parse.

Times are time.perf_counter() in both processes (CLOCK_MONOTONIC). No document text is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import functools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ENV = "MEDCODE_TIMELINE"

# -- the server side: wrappers -------------------------------------------------------------------
_events: list[tuple] = []  # (label, thread, wall0, wall1, cpu0, cpu1)


def _span(label: str, fn):
    @functools.wraps(fn)
    def timed(*a, **k):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            _events.append((label, threading.current_thread().name, t0, time.perf_counter(), c0, time.thread_time()))

    return timed


def _aspan(label: str, fn):
    @functools.wraps(fn)
    async def timed(*a, **k):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return await fn(*a, **k)
        finally:
            _events.append((label, threading.current_thread().name, t0, time.perf_counter(), c0, time.thread_time()))

    return timed


def _mark(label: str) -> None:
    t, c = time.perf_counter(), time.thread_time()
    _events.append((label, threading.current_thread().name, t, t, c, c))


def _install() -> None:
    from medcode.server import analysis, heap, priority
    from medcode.server.lsp import diagnostics, documents, pieces, protocol, server
    from medcode.server.x12 import incremental

    S = server.MedcodeServer
    S._check = _span("worker: _check", S._check)
    S._analyse = _span("worker: _analyse", S._analyse)
    S.diagnostics = _aspan("loop: diagnostics() (settings, executor, worker)", S.diagnostics)
    S.schedule = _span("loop: schedule (debounce starts)", S.schedule)
    S.owns = _span("any: owns", S.owns)
    server.publish_json = _span("loop: publish_json", server.publish_json)
    P = protocol.MedcodeProtocol
    P._write = _span("loop: _write", P._write)
    handle = P.handle_message

    def handled(self, message):
        method = getattr(message, "method", None)
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return handle(self, message)
        finally:
            if method == "textDocument/didChange":
                _events.append(("loop: didChange handled (edit applied, scheduled)", "MainThread", t0, time.perf_counter(), c0, time.thread_time()))

    P.handle_message = handled
    D = documents.Documents
    D.change = _span("loop: Documents.change (edit applied)", D.change)
    E = pieces.EditedText
    E.join = _span("worker: join", E.join)
    E.adopt = _span("worker: adopt", E.adopt)
    C = analysis.DocumentChecker
    C.check = _span("worker: checker.check", C.check)
    C._findings = _span("worker: _findings (collect, sort)", C._findings)
    analysis.rewalk = _span("worker: rewalk", incremental.rewalk)
    T = analysis._ClaimTotals
    T.after = _span("worker: totals.after (move tail)", T.after)
    W = incremental.WalkRecord
    W.document = _span("worker: record.document()", W.document)
    heap.give_back = _span("worker: heap.give_back", heap.give_back)

    class _GcShim:
        def __getattr__(self, name):
            import gc

            return getattr(gc, name)

        @staticmethod
        def freeze():
            import gc

            _span("worker: gc.freeze", gc.freeze)()

    server.gc = _GcShim()
    DC = diagnostics.DiagnosticsCache
    DC.convert = _span("worker: convert", DC.convert)
    diagnostics._array = _span("worker: _array (JSON)", diagnostics._array)
    post = diagnostics.DiagnosticsJson.__post_init__
    diagnostics.DiagnosticsJson.__post_init__ = _span("worker: digest", post)
    OD = documents.OpenDocument
    OD.index = _span("any: doc.index", OD.index)

    class _Idle:
        """priority._idle, with each wait a pause made recorded."""

        def __init__(self, ev):
            self.ev = ev

        def is_set(self):
            return self.ev.is_set()

        def set(self):
            self.ev.set()

        def clear(self):
            self.ev.clear()

        def wait(self, timeout=None):
            return _span("worker: pause waited", self.ev.wait)(timeout)

    priority._idle = _Idle(priority._idle)
    answering = priority.answering
    priority.answering = _span("loop: answering?", answering)

    path = os.environ[ENV]

    def dump():
        with open(path, "wb") as f:
            f.write(orjson.dumps(_events))

    atexit.register(dump)


def serve() -> int:
    _install()
    from medcode.server.cli import main

    return main(["serve"])


# -- the client ----------------------------------------------------------------------------------
class Client:
    def __init__(self, proc):
        self.proc = proc
        self.next_id = 1
        self.pending: dict[int, asyncio.Future] = {}
        self.published: list[tuple[int | None, float, float, float, int]] = []  # (version, head read, body read, parsed, bytes)
        self.event = asyncio.Event()

    async def send(self, msg: dict) -> None:
        body = orjson.dumps(msg)
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.proc.stdin.drain()

    async def request(self, method: str, params) -> object:
        i = self.next_id
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[i] = fut
        await self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        return await fut

    async def read_loop(self) -> None:
        r = self.proc.stdout
        while True:
            length, head = None, None
            while True:
                line = await r.readline()
                if not line:
                    return
                head = head or time.perf_counter()
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await r.readexactly(length)
            read = time.perf_counter()
            msg = orjson.loads(body)
            parsed = time.perf_counter()
            if "id" in msg and "method" not in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg.get("result"))
            elif "id" in msg:
                result = [{} for _ in msg["params"]["items"]] if msg["method"] == "workspace/configuration" else None
                await self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif msg.get("method") == "textDocument/publishDiagnostics":
                self.published.append((msg["params"].get("version"), head, read, parsed, length))
                self.event.set()

    async def wait_version(self, version: int, after: int) -> tuple:
        while True:
            for p in self.published[after:]:
                if p[0] == version:
                    return p
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), 600)


async def run(args) -> None:
    sys.path.insert(0, str(HERE))
    from bench_x12 import CLIENT_CAPABILITIES, _position, edit_sites, server_debounce_s

    text = Path(args.file).read_text()
    events_file = Path(tempfile.mkstemp(prefix="republish-timeline-", suffix=".json")[1])
    env = {**os.environ, ENV: str(events_file)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).resolve()), "--serve", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, limit=1 << 20
    )
    client = Client(proc)
    reader = asyncio.ensure_future(client.read_loop())
    uri = "file:///bench/claims.837"
    await client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES})
    await client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await asyncio.sleep(1.0)
    await client.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "x12", "version": 1, "text": text}}})
    await client.wait_version(1, 0)
    await asyncio.sleep(1.0)
    sites = edit_sites(text, 3 + args.rounds)
    line = _position(text, sites[0][0])[0]
    version = 1
    sends: list[tuple[str, int, float, tuple]] = []

    async def edit(kind: str, change: dict) -> None:
        nonlocal version
        version += 1
        n = len(client.published)
        t0 = time.perf_counter()
        await client.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}})
        pub = await client.wait_version(version, n)
        sends.append((kind, version, t0, pub))
        await asyncio.sleep(0.5)

    for r in range(args.rounds):
        at, new = sites[1 + r]
        ln, ch = _position(text, at)
        await edit("1-char", {"range": {"start": {"line": ln, "character": ch}, "end": {"line": ln, "character": ch + 1}}, "text": new})
        await edit("line added", {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": "NTE*ADD*BENCH NOTE~\n"})
        await edit("line removed", {"range": {"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}}, "text": ""})
    await client.request("shutdown", None)
    await client.send({"jsonrpc": "2.0", "method": "exit", "params": None})
    await proc.wait()
    reader.cancel()
    events = orjson.loads(events_file.read_bytes())
    events_file.unlink()
    debounce = server_debounce_s(len(text))
    report(sends, events, debounce)


def report(sends, events, debounce: float) -> None:
    totals: dict[str, list[float]] = {}
    for n, (kind, version, t0, pub) in enumerate(sends):
        t_end = pub[3]
        print(f"\n== {kind} (version {version}): re-published +{1000 * (t_end - t0):.0f} ms after didChange, {1000 * (t_end - t0 - debounce):.0f} ms after the debounce")
        rows = [e for e in events if t0 - 0.001 <= e[2] <= t_end]
        waits = [e for e in rows if e[0] == "worker: pause waited"]
        answering = [e for e in rows if e[0] == "loop: answering?"]
        rows = [e for e in rows if e[0] not in ("worker: pause waited", "loop: answering?")]
        for label, thread, w0, w1, c0, c1 in rows:
            print(f"  +{1000 * (w0 - t0):7.1f} .. +{1000 * (w1 - t0):7.1f}  wall {1000 * (w1 - w0):6.1f}  cpu {1000 * (c1 - c0):6.1f}  {label} [{thread}]")
            totals.setdefault(f"{kind}: {label}", []).append((w1 - w0, c1 - c0))
        if waits:
            print(f"  pauses waited: {len(waits)}, {1000 * sum(e[3] - e[2] for e in waits):.1f} ms")
        if answering:
            print(f"  answering? asked {len(answering)} times")
        print(f"  client: head read +{1000 * (pub[1] - t0):.1f}, body read +{1000 * (pub[2] - t0):.1f}, parsed +{1000 * (pub[3] - t0):.1f} ({pub[4]} bytes)")
        totals.setdefault(f"{kind}: after debounce (client parse included)", []).append((t_end - t0 - debounce, float("nan")))
        totals.setdefault(f"{kind}: client parse", []).append((pub[3] - pub[2], float("nan")))
    print("\nmedians (ms): wall, thread CPU")
    for k, v in totals.items():
        print(f"  {1000 * statistics.median(w for w, _ in v):7.1f} {1000 * statistics.median(c for _, c in v):7.1f}  {k}")


def main() -> int:
    if "--serve" in sys.argv:
        return serve()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"load {os.getloadavg()}")
    asyncio.run(run(args))
    print(f"load {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
