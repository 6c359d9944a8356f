"""Which answers come behind a re-check's publish, and why: timestamps from both sides.

    python bench/behind_publish.py --file /work/notes/claims-50k.837 [--rounds 20]

Runs bench_x12.py's re-check rounds (a 1-char edit; from the end of the debounce until the new
diagnostics arrive, a hover or completion every 10 ms after each answer) against a server
started with wrappers installed from outside (no product code carries them, no document text
is recorded). For every answer the client read behind a publish (and every one over 20 ms) it
prints, relative to the moment the server began writing that publish: when the client sent the
request, when the server read it and answered it, when the client had the publish's body and
when it had parsed it; and, at the write, whether a request was in flight (priority.answering)
and how many bytes of input the server had not read yet (FIONREAD on stdin). Then the time
from the write to the client having the whole body, per publish.

Times are time.perf_counter() in both processes (CLOCK_MONOTONIC).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import fcntl
import os
import random
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ENV = "MEDCODE_BEHIND_PUBLISH"
_events: list[tuple] = []


# -- the server side: wrappers -------------------------------------------------------------------
def _install() -> None:
    from pygls.protocol.json_rpc import RPCRequest

    from medcode.server import priority
    from medcode.server.lsp import protocol, server

    P = protocol.MedcodeProtocol
    handle, send = P.handle_message, P._send_response

    def handled(self, message):
        if isinstance(message, RPCRequest) and message.method in ("textDocument/hover", "textDocument/completion"):
            _events.append(("read", message.id, time.perf_counter()))
        return handle(self, message)

    def sent(self, msg_id, result=None, error=None):
        try:
            return send(self, msg_id, result, error)
        finally:
            _events.append(("answered", msg_id, time.perf_counter()))

    publish = server.publish_json

    def published(ls, uri, version, body):
        try:
            unread = struct.unpack("i", fcntl.ioctl(0, termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            unread = -1
        _events.append(("publish", version, time.perf_counter(), priority.answering(), unread, len(body)))
        return publish(ls, uri, version, body)

    P.handle_message, P._send_response, server.publish_json = handled, sent, published
    S = server.MedcodeServer
    diagnostics = S.diagnostics

    async def ready(self, *a, **k):
        result = await diagnostics(self, *a, **k)
        _events.append(("ready", result[1], time.perf_counter()))
        return result

    S.diagnostics = ready
    path = os.environ[ENV]
    atexit.register(lambda: Path(path).write_bytes(orjson.dumps(_events)))


def serve() -> int:
    _install()
    from medcode.server.cli import main

    return main(["serve"])


# -- the client ----------------------------------------------------------------------------------
async def run(args) -> None:
    sys.path.insert(0, str(HERE))
    from bench_x12 import CLIENT_CAPABILITIES, LspClient, _position, code_positions, edit_sites, server_debounce_s

    text = Path(args.file).read_text()
    events_file = Path(tempfile.mkstemp(prefix="behind-publish-", suffix=".json")[1])
    client = await LspClient.spawn([sys.executable, str(Path(__file__).resolve()), "--serve"], {**os.environ, ENV: str(events_file)}, None)
    uri = "file:///bench/claims.837"
    await client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES})
    await client.notify("initialized", {})
    await asyncio.sleep(1.0)
    await client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "x12", "version": 1, "text": text}})
    await client.wait_publish(uri, 1)
    await asyncio.sleep(1.0)
    positions = code_positions(text.splitlines(), random.Random(args.seed), 200)
    sites = edit_sites(text, args.rounds)
    debounce = server_debounce_s(len(text))
    requests = []  # (id, method, sent, answer read, publishes parsed before, after, version)
    for version, (at, new) in enumerate(sites, start=2):
        line, char = _position(text, at)
        n_before = len(client.published.get(uri, []))
        t_edit = time.perf_counter()
        change = {"range": {"start": {"line": line, "character": char}, "end": {"line": line, "character": char + 1}}, "text": new}
        await client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        await asyncio.sleep(max(0.0, t_edit + debounce - time.perf_counter()))
        k = 0
        while not any(p.version == version for p in client.published.get(uri, [])[n_before:]):
            k += 1
            hl, hc = positions[k % len(positions)]
            method = "textDocument/hover" if k % 2 else "textDocument/completion"
            msg_id, parses, t0 = client.next_id, len(client.large_parses), time.perf_counter()
            _, took = await client.request(method, {"textDocument": {"uri": uri}, "position": {"line": hl, "character": hc}})
            requests.append((msg_id, method, t0, t0 + took, parses, len(client.large_parses), version))
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
    large = [p for p in client.published.get(uri, []) if p.nbytes > (1 << 20)]
    body_read = {p.version: p.at - parse for p, parse in zip(large, client.large_parses)} if len(large) == len(client.large_parses) else {}
    parsed = {p.version: p.at for p in client.published.get(uri, [])}
    await client.close()
    events = orjson.loads(events_file.read_bytes())
    events_file.unlink()
    report(requests, parsed, body_read, events)


def report(requests, parsed, body_read, events) -> None:
    read = {e[1]: e[2] for e in events if e[0] == "read"}
    answered = {e[1]: e[2] for e in events if e[0] == "answered"}
    written = {e[1]: e for e in events if e[0] == "publish"}
    ready = {e[1]: e[2] for e in events if e[0] == "ready"}
    took = sorted(r[3] - r[2] for r in requests)
    behind = sum(r[5] > r[4] for r in requests)
    print(f"requests {len(took)}: p50 {1000 * took[len(took) // 2]:.1f} ms, p95 {1000 * took[int(0.95 * len(took))]:.1f} ms; read behind a publish: {behind}")
    print("ms from the server's write of the publish: sent / read / answered / client read the answer; diagnostics ready; client had the body / parsed it")
    for msg_id, method, t0, t1, before, after, version in requests:
        if after == before and t1 - t0 <= 0.02:
            continue
        w = written.get(version)

        def rel(t):
            return "     -" if t is None or w is None else f"{1000 * (t - w[2]):+6.1f}"

        print(
            f"v{version} {method.rsplit('/', 1)[1]:10} {1000 * (t1 - t0):6.1f} ms {'behind' if after > before else 'clear '}: "
            f"{rel(t0)} {rel(read.get(msg_id))} {rel(answered.get(msg_id))} {rel(t1)}; ready {rel(ready.get(version))}; "
            f"body {rel(body_read.get(version))} parsed {rel(parsed.get(version))}"
            + ("" if w is None else f"; at the write: in flight {w[3]}, unread input {w[4]} B, {w[5]} B of diagnostics")
        )
    transfer = sorted(round(1000 * (body_read[v] - written[v][2]), 1) for v in written if v in body_read and v > 1)
    print("write -> client has the body, per publish (ms):", transfer)


def main() -> int:
    if "--serve" in sys.argv:
        return serve()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", required=True, help="837 file, one segment per line (bench/gen_837.py)")
    ap.add_argument("--rounds", type=int, default=20, help="re-check rounds (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    asyncio.run(run(ap.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
