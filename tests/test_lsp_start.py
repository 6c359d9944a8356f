"""What `medcode serve` imports before it answers `initialize`: the checker, the feature
modules and the index builder are left for after it (lsp/server.py warm_up, or the first
request that needs them), so the editor gets its answer without waiting for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Modules the server needs only once a document is open or a request comes, or never while
# serving (the index builder's): none may be loaded by the time `initialize` is answered.
DEFERRED = (
    "medcode.server.analysis",
    "medcode.server.claim_edits",
    "medcode.server.claims.rules",
    "medcode.server.x12.document",
    "medcode.server.fhir.reader",
    "medcode.server.tables.hpt_json",
    "medcode.server.templates.patterns",
    "medcode.server.lsp.hover",
    "medcode.server.lsp.completion",
    "medcode.server.lsp.symbols",
    "medcode.server.lsp.inlay",
    "medcode.index_builder.build",
    "medcode.index_builder.catalogue",
    "medcode.index_builder.freshness",
    "medcode.index_builder.writer",
)

# Modules the server imports only once `initialize` is answered, and not by the warm-up: the
# index reader, the verdicts, the settings, the document store and what they bring
# (lsp/server.py makes its store, verdicts, documents and settings on first use), and
# importlib.metadata (the version the answer carries is read from our .dist-info folder:
# index_builder.version). Together about a fifth of the start-up when they were imported first.
AFTER_ANSWER = (
    "medcode.index_builder.reader",
    "medcode.index_builder.lookup",
    "medcode.server.verdicts",
    "medcode.server.kinds",
    "medcode.server.sniff",
    "medcode.server.reading",
    "medcode.server.x12.delimiters",
    "medcode.server.lsp.settings",
    "medcode.server.lsp.documents",
    "medcode.server.lsp.diagnostics",
    "medcode.server.lsp.actions",
    "medcode.server.lsp.stalls",
    "importlib.metadata",
)


def _message(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


def test_serve_answers_initialize_before_importing_the_checker(tmp_path):
    # The whole `medcode serve` path over stdio: initialize, shutdown, exit (no `initialized`,
    # which starts the warm-up); the probe then names the deferred modules it finds loaded.
    probe = (
        "import sys\n"
        "from medcode.server import cli\n"
        "code = cli.main(['serve'])\n"
        f"deferred = {DEFERRED + AFTER_ANSWER!r}\n"
        "print('LOADED', sorted(m for m in deferred if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    stdin = b"".join(
        _message(m)
        for m in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}},
            {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        )
    )
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(tmp_path / "idx")}
    out = subprocess.run([sys.executable, "-c", probe], input=stdin, capture_output=True, env=env, timeout=120)
    assert b'"capabilities"' in out.stdout, out.stderr.decode(errors="replace")[-2000:]  # initialize was answered
    assert out.returncode == 0
    loaded = [line for line in out.stderr.decode().splitlines() if line.startswith("LOADED")]
    assert loaded == ["LOADED []"], out.stderr.decode(errors="replace")[-2000:]


def test_warm_up_imports_what_the_first_check_and_requests_need():
    probe = (
        "import sys\n"
        "from medcode.server.lsp import server\n"
        "server.warm_up().join()\n"
        f"deferred = {DEFERRED!r}\n"
        "print(sorted(m for m in deferred if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    needed = [m for m in DEFERRED if not m.startswith("medcode.index_builder")]  # the builder stays out
    assert out.stdout.strip() == str(sorted(needed)), out.stdout + out.stderr
