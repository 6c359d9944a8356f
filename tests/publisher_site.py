"""A local web server that behaves like a code-set publisher (or a bad connection), and the
catalogue entries that point `medcode index fetch` at it. Shared by the fetch tests."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit


# -- a local web server that behaves like a publisher (or a bad connection) --------------------
class Site:
    """Files by path, with per-path misbehaviour, and a log of every request received."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, str] = {}  # path -> "truncate-once" | "truncate-always"
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.hits: Counter[str] = Counter()
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, data: bytes, mode: str | None = None) -> str:
        self.files[path] = data
        if mode:
            self.modes[path] = mode
        return self.url(path)


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def do_CONNECT(self):  # a proxy asked to tunnel HTTPS: record it and refuse
            site.requests.append(("CONNECT", self.path, dict(self.headers)))
            self.send_response(502, "No tunnels here")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            site.requests.append(("GET", self.path, dict(self.headers)))
            path = urlsplit(self.path).path  # a proxy receives the absolute URL
            data = site.files.get(path)
            if data is None:
                body = b"<html><body>Page not found</body></html>"
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            site.hits[path] += 1
            mode = site.modes.get(path)
            ranged = self.headers.get("Range")
            if ranged and mode != "truncate-always":
                start = int(ranged.removeprefix("bytes=").rstrip("-"))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("ETag", '"v1"')
                self.end_headers()
                self.wfile.write(data[start:])
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", '"v1"')
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if mode == "truncate-always" or (mode == "truncate-once" and site.hits[path] == 1):
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True  # the client sees the connection end early
                return
            self.wfile.write(data)

    return Handler


@contextmanager
def served() -> Iterator[Site]:
    """A Site served on a free local port for the duration of the block."""
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the catalogue the tests use instead of the shipped one ------------------------------------
def file_entry(url: str, *, members: str | None = None, sha256: str | None = None, optional: bool = False, unverified: bool = False) -> dict:
    entry = {"url": url, "what": "test file"}
    if members:
        entry["members"] = members
    if sha256:
        entry["sha256"] = sha256
    if optional:
        entry["optional"] = True
    if unverified:
        entry["unverified"] = True
        entry["note"] = "unverified: a test address"
    return entry


def write_catalogue(path: Path, sets: dict) -> Path:
    path.write_text(json.dumps({"format": 1, "checked": "2026-11-27", "sets": sets}, indent=2))
    return path


def use_catalogue(monkeypatch, tmp_path, sets: dict) -> Path:
    path = write_catalogue(tmp_path / "catalogue.json", sets)
    monkeypatch.setenv("MEDCODE_CATALOGUE", str(path))
    return path
