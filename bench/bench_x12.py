"""Benchmark medcode on a large 837P against the budgets in DESIGN.md ("Performance budgets").

    pip install -e '.[bench]'
    python bench/bench_x12.py                 # 50,000 claims, about 2 minutes on 2 cores
    python bench/bench_x12.py --pyx12-full    # plus pyx12 validating the whole file (~4 min more)
    python bench/bench_x12.py --quick         # 5,000 claims, 100 requests, 1 repeat

Not a test: it prints figures and their ratio to each budget, and writes them as JSON to
bench/out/results-x12.json. Nothing here asserts a timing.

What it measures (bench/README.md explains each figure):
1. in-process: index open, DocumentChecker.check() cold / warm / after a one-character edit;
2. over real LSP stdio (`python -m medcode.server serve`, push-diagnostics client profile):
   start-up, time to first diagnostics after didOpen, hover and completion latency on code
   slots across the file, re-publish after an incremental edit, hover right after an edit,
   while a re-check runs and after a burst of keystrokes;
3. the server's memory (VmRSS / VmHWM from /proc/<pid>/status);
4. the same file through pyx12 (an established X12 parser/validator from PyPI).

The LSP client is a minimal JSON-RPC client written here (asyncio + orjson), so the latencies
are the server's plus the pipe's, not a client library's (de)serialisation. Requests are sent
one at a time, as an editor does when a person hovers or types.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
MB = 1e6  # MB/s here means 10^6 bytes of UTF-8 X12 per second

# DESIGN.md, "Performance budgets"
BUDGET_MBPS = 30.0  # diagnostics: >= 30 MB/s of X12 on one core (DESIGN.md, issue 14)
BUDGET_RECHECK_S = 0.3  # an edit re-published within the debounce + 300 ms
BUDGET_P95_MS = 20.0  # hover / completion round trip over stdio: p95 <= 20 ms on a 50,000-claim file
BUDGET_RSS_MB = 100.0  # server with every default index loaded: well under 100 MB RSS

# Completion prefixes typed after a qualifier, by slot: diagnosis codes after ABK:, description
# words after ABK: (medcode searches descriptions from 3 letters), procedure codes after HC:.
DX_CODE_PREFIXES = ["E11", "I1", "E1", "I10", "J4", "M54", "Z0", "R0", "K2", "F3", "S72", "C50", "N18", "Z", "E"]
DX_WORD_PREFIXES = ["diabet", "hypert", "asthma", "fractur", "pain", "chronic", "pneumo", "anemia"]
# HCPCS Level II only: CPT (numeric) needs the user's licensed AMA files, so a numeric prefix
# would answer an empty list and flatter the figure.
PROC_PREFIXES = ["J1", "G0", "A4", "J", "E0", "L3", "K0", "Q4"]


# -- small helpers -------------------------------------------------------------------------------
def say(msg: str = "") -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "max_ms": round(max(ms), 3) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan"),
    }


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile of a process, in MB (10^6 bytes)."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = round(int(value.split()[0]) * 1024 / MB, 1)
    except OSError:
        pass
    return out


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds the process has used (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


def _count_symbols(symbols: list[dict]) -> int:
    return sum(1 + _count_symbols(s.get("children") or []) for s in symbols)


def git_state() -> dict[str, Any]:
    """The commit measured, and which tracked files differed from it (figures belong to code)."""
    root = HERE.parent

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD"), "modified": git("diff", "--name-only", "HEAD").split()}


# -- 1. the input file ---------------------------------------------------------------------------
def ensure_file(path: Path, claims: int, regenerate: bool, env: dict[str, str]) -> None:
    if path.exists() and not regenerate:
        say(f"reusing {path} ({path.stat().st_size / MB:.1f} MB); --regenerate to rebuild it")
        return
    say(f"generating {claims:,} claims into {path} …")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(HERE / "gen_837.py"), "--claims", str(claims), "--out", str(path)], check=True, env=env)


# -- 2. in-process diagnostics -------------------------------------------------------------------
def edit_sites(text: str, n: int) -> list[tuple[int, str]]:
    """n one-character edits near the middle of the file: the last character of the first
    diagnosis code of an HI segment, changed to another digit/letter."""
    sites: list[tuple[int, str]] = []
    pos = len(text) // 2
    while len(sites) < n:
        i = text.find("\nHI*ABK:", pos)
        if i < 0:
            break
        code_start = i + len("\nHI*ABK:")
        code_end = code_start
        while text[code_end] not in "*~\n":
            code_end += 1
        at = code_end - 1
        old = text[at]
        new = "7" if old != "7" else "8"
        sites.append((at, new))
        pos = code_end + 20_000  # a different claim each time
    return sites


def edits_share(store, text: str, rounds: int) -> dict[str, Any]:
    """Cold checks with and without the claim edits, interleaved (see bench_inprocess)."""
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    def cold(edits: bool) -> tuple[float, float, int]:
        gc.collect()
        checker = DocumentChecker(Verdicts(store))
        if not edits:
            checker.rules.claim_edits = checker.document_rules.claim_edits = None
        t0, c0 = time.perf_counter(), time.process_time()
        found = len(checker.check(text).findings)
        return time.perf_counter() - t0, time.process_time() - c0, found

    cold(True)
    cold(False)
    runs: dict[bool, list[tuple[float, float, int]]] = {True: [], False: []}
    for r in range(rounds):
        for edits in (False, True) if r % 2 == 0 else (True, False):
            runs[edits].append(cold(edits))
    gc.collect()
    wall, cpu = {e: [x[0] for x in runs[e]] for e in runs}, {e: [x[1] for x in runs[e]] for e in runs}
    ratios = [(a / b - 1) * 100 for a, b in zip(cpu[True], cpu[False])]
    wall_ratios = [(a / b - 1) * 100 for a, b in zip(wall[True], wall[False])]
    return {
        "edits_rounds": rounds,
        "cold_s": [round(s, 3) for s in wall[True]],
        "cold_cpu_s": [round(s, 3) for s in cpu[True]],
        "cold_no_edits_s": [round(s, 3) for s in wall[False]],
        "cold_no_edits_cpu_s": [round(s, 3) for s in cpu[False]],
        "cold_no_edits_best_s": round(min(wall[False]), 3),
        "cold_cpu_median_s": round(statistics.median(cpu[True]), 3),
        "cold_no_edits_cpu_median_s": round(statistics.median(cpu[False]), 3),
        "findings_no_edits": runs[False][0][2],
        # Per round: CPU of the run with edits against the run without, in %.
        "edits_overhead_cpu_rounds_pct": [round(x, 1) for x in ratios],
        "edits_overhead_cpu_pct": round(statistics.median(ratios), 1),
        "edits_overhead_cpu_spread_pct": [round(min(ratios), 1), round(max(ratios), 1)],
        "edits_overhead_pct": round(statistics.median(wall_ratios), 1),  # wall clock: noisy
    }


# One fresh `medcode check` process, with the claim edits (on) or without them (off: the
# checker's claim edits set to None, as edits_share does; the product has no switch for them).
FRESH_CHECK = """
import os, resource, sys
from medcode.server import analysis
if sys.argv[1] == "off":
    init = analysis.DocumentChecker.__init__
    def without_edits(self, *a, **k):
        init(self, *a, **k)
        self.rules.claim_edits = self.document_rules.claim_edits = None
    analysis.DocumentChecker.__init__ = without_edits
from medcode.server.cli import main
sys.stdout = open(os.devnull, "w")
rc = main(["check", "-j", "1", "--format", "json", sys.argv[2]])
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime + r.ru_stime, rc, file=sys.stderr)
"""


def fresh_edits_share(path: Path, env: dict[str, str], rounds: int) -> dict[str, Any]:
    """The claim edits' share in fresh `medcode check` processes (nothing memoised: each works
    out its gates, tabular notes and MCE rows), with and without them, the order alternating
    by round. CPU of the whole process (start-up and index open included), user + system."""

    def run(mode: str) -> float:
        done = subprocess.run([sys.executable, "-c", FRESH_CHECK, mode, str(path)], env=env, capture_output=True, text=True, check=True)
        cpu, rc = done.stderr.strip().splitlines()[-1].split()
        if rc not in ("0", "1"):
            raise RuntimeError(f"medcode check exited {rc}")
        return float(cpu)

    cpu: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(rounds):
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            cpu[mode].append(run(mode))
    ratios = [(a / b - 1) * 100 for a, b in zip(cpu["on"], cpu["off"])]
    return {
        "fresh_edits_rounds": rounds,
        "fresh_cpu_s": [round(x, 3) for x in cpu["on"]],
        "fresh_no_edits_cpu_s": [round(x, 3) for x in cpu["off"]],
        "fresh_edits_overhead_cpu_rounds_pct": [round(x, 1) for x in ratios],
        "fresh_edits_overhead_cpu_pct": round(statistics.median(ratios), 1),
        "fresh_edits_overhead_cpu_spread_pct": [round(min(ratios), 1), round(max(ratios), 1)],
    }


def bench_inprocess(text: str, index_root: Path, repeats: int, rounds: int, profile: bool) -> dict[str, Any]:
    from medcode.index_builder.reader import IndexStore
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts
    from medcode.server.x12.document import walk
    from medcode.server.x12.edits import EditLog

    size = len(text.encode("utf-8"))
    res: dict[str, Any] = {"bytes": size}

    t0 = time.perf_counter()
    store = IndexStore(index_root)
    releases = store.releases()
    res["index_open_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    res["releases"] = [f"{r.set_id}/{r.label}" for r in releases]

    # Cold: a fresh checker (and fresh look-up memory) each time. Nothing from the previous run
    # is kept alive: a larger heap makes the garbage collector's full passes slower, which would
    # tax later runs.
    # The claim edits' share (issue 12: at most 15% more): the same cold check with and without
    # them, interleaved in this process (fresh checkers over the one open index, so both see the
    # same page cache and memos of the store), the order alternating round by round so that
    # neither always runs second. Each round's two runs are adjacent in time, under about the
    # same machine load: the share is the median of the per-round ratios, with their spread.
    # CPU times: on a shared machine they compare the two far better than wall clock. One
    # untimed run of each first: the first claim edits of a process also read the release's
    # category list and work out each code's gate, tabular notes and MCE rows, which every
    # later checker of the process shares (claim_edits: they derive from the index alone).
    res.update(edits_share(store, text, rounds))
    colds = res["cold_s"]
    res["cold_best_s"] = round(min(colds), 3)
    res["cold_mbps"] = round(size / MB / min(colds), 2)
    gc.collect()
    checker = DocumentChecker(Verdicts(store))
    analysis = checker.check(text)  # the warm runs below start from a cold check, as before
    res["claims"] = analysis.claims_checked
    res["findings"] = len(analysis.findings)

    # Warm: the same checker, the same text again (every claim served from the cache). As in
    # the server, the previous analysis stays alive while the next check runs.
    warms = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        again = checker.check(text)
        warms.append(time.perf_counter() - t0)
        analysis = again
    res["warm_s"] = [round(s, 3) for s in warms]
    res["warm_best_s"] = round(min(warms), 3)
    res["warm_mbps"] = round(size / MB / min(warms), 2)
    res["warm_claims_checked"] = again.claims_checked
    again = None

    # One-character edits near the middle, applied one after another to the warm checker:
    # each check should re-run the rules for the touched claim only.
    edits = []
    current = text
    for at, new in edit_sites(text, repeats):
        current = current[:at] + new + current[at + 1 :]
        gc.collect()
        t0 = time.perf_counter()
        analysis = checker.check(current)
        edits.append({"s": round(time.perf_counter() - t0, 3), "claims_checked": analysis.claims_checked})
    res["edit"] = edits
    res["edit_best_s"] = min(e["s"] for e in edits)

    # The same kind of edits with the edit log the editor keeps (lsp/documents.py): only the
    # part of the file each edit touched is walked again (x12/incremental.py).
    log = EditLog(current)
    checker.check(current, edits=log)
    incremental = []
    for at, new in edit_sites(current, repeats):
        current = current[:at] + new + current[at + 1 :]
        log = log.then(at, at + 1, 1).bound(current)
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        analysis = checker.check(current, edits=log)
        incremental.append({"s": round(time.perf_counter() - t0, 4), "cpu_s": round(time.process_time() - c0, 4), "claims_checked": analysis.claims_checked})
    res["edit_incremental"] = incremental
    res["edit_incremental_best_s"] = min(e["s"] for e in incremental)
    res["edit_incremental_best_cpu_s"] = min(e["cpu_s"] for e in incremental)
    checker = analysis = current = log = None

    # The share of the garbage collector: one cold check with it switched off.
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        DocumentChecker(Verdicts(store)).check(text)
        res["cold_gc_off_s"] = round(time.perf_counter() - t0, 3)
    finally:
        gc.enable()
        gc.collect()

    # The parse pass alone (segments, envelopes, claims, code slots; no look-ups, no rules):
    # the part comparable with a plain X12 reader.
    walks, walks_cpu = [], []
    for _ in range(repeats):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        walk(text)
        walks.append(time.perf_counter() - t0)
        walks_cpu.append(time.process_time() - c0)
    res["walk_best_s"] = round(min(walks), 3)
    res["walk_best_cpu_s"] = round(min(walks_cpu), 3)
    res["walk_mbps"] = round(size / MB / min(walks), 2)

    if profile:
        say("\n--- cProfile: DocumentChecker.check, cold (top 15 by own time) ---")
        pr = cProfile.Profile()
        checker = DocumentChecker(Verdicts(store))
        pr.enable()
        checker.check(text)
        pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(15)
        say(s.getvalue())
    return res


def bench_subset_check(text: str, index_root: Path) -> float:
    """medcode's cold check of a smaller file (to compare with pyx12's validator on the same)."""
    from medcode.index_builder.reader import IndexStore
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    t0 = time.perf_counter()
    DocumentChecker(Verdicts(IndexStore(index_root))).check(text)
    return time.perf_counter() - t0


def bench_handlers(text: str, index_root: Path, n: int, seed: int, profile: bool) -> dict[str, Any]:
    """The hover and completion handlers called directly on the server object (no JSON-RPC,
    no pipe): what the LSP round trip spends in medcode's own code."""
    from lsprotocol import types
    from medcode.server.analysis import DocumentChecker
    from medcode.server.lsp import completion, hover
    from medcode.server.lsp.documents import OpenDocument
    from medcode.server.lsp.pieces import EditedText
    from medcode.server.lsp.server import MedcodeServer

    ls = MedcodeServer(str(index_root))
    rng = random.Random(seed + 1)

    def opened(uri: str, body: str) -> OpenDocument:
        doc = OpenDocument(uri, EditedText(body), 1)
        doc.checker = DocumentChecker(ls.verdicts)
        doc.analysis, doc.analysis_version = doc.checker.check(body), 1
        return doc

    lines = text.split("\n")
    doc = opened("file:///bench/h.837", text)
    hover_pos = [types.Position(line, char) for line, char in code_positions(lines, rng, n)]
    comp_lines, sites = completion_sites(lines, rng, n)
    doc.checker = None  # only the analysis is needed from here: free the claim cache
    doc2 = opened("file:///bench/c.837", "\n".join(comp_lines))
    doc2.checker = None
    comp_pos = [types.Position(s["line"], s["character"]) for s in sites]
    hover.hover(ls, doc, hover_pos[0])  # first calls build the line index and caches
    completion.complete(ls, doc2, comp_pos[0])

    def timed(fn, d, positions) -> list[float]:
        out = []
        for pos in positions:
            t0 = time.perf_counter()
            fn(ls, d, pos)
            out.append(time.perf_counter() - t0)
        return out

    res = {"hover": summary_ms(timed(hover.hover, doc, hover_pos)), "completion": summary_ms(timed(completion.complete, doc2, comp_pos))}
    if profile:
        for name, fn, d, positions in (("hover", hover.hover, doc, hover_pos), ("completion", completion.complete, doc2, comp_pos)):
            pr = cProfile.Profile()
            pr.enable()
            timed(fn, d, positions)
            pr.disable()
            s = io.StringIO()
            pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(10)
            say(f"\n--- cProfile: {len(positions)} {name} handler calls, no JSON-RPC (top 10 by own time) ---")
            say(s.getvalue())
    return res


# -- 3. a minimal LSP client over stdio ----------------------------------------------------------
@dataclass
class Published:
    at: float
    version: int | None
    count: int
    nbytes: int


LARGE_MESSAGE = 1 << 20


@dataclass
class LspClient:
    proc: asyncio.subprocess.Process
    next_id: int = 1
    pending: dict[int, asyncio.Future] = field(default_factory=dict)
    published: dict[str, list[Published]] = field(default_factory=dict)
    publish_event: asyncio.Event = field(default_factory=asyncio.Event)
    messages: list[str] = field(default_factory=list)
    reader: asyncio.Task | None = None
    # Seconds this client spent parsing each message over LARGE_MESSAGE bytes: an answer that
    # comes behind one (a 3.5 MB publish) is read only after it.
    large_parses: list[float] = field(default_factory=list)

    @classmethod
    async def spawn(cls, cmd: list[str], env: dict[str, str], stderr) -> LspClient:
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env, limit=1 << 20)
        client = cls(proc)
        client.reader = asyncio.ensure_future(client._read_loop())
        return client

    async def _send(self, msg: dict) -> None:
        body = orjson.dumps(msg)
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.proc.stdin.drain()

    async def request(self, method: str, params: Any) -> tuple[Any, float]:
        """Send a request and wait for its answer: (result, seconds from send to answer read)."""
        msg_id = self.next_id
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[msg_id] = fut
        t0 = time.perf_counter()
        await self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        result, at = await fut
        return result, at - t0

    async def notify(self, method: str, params: Any) -> None:
        await self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def _read_loop(self) -> None:
        r = self.proc.stdout
        while True:
            length = None
            while True:
                line = await r.readline()
                if not line:
                    return  # server gone
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await r.readexactly(length)
            read = time.perf_counter()
            msg = orjson.loads(body)
            at = time.perf_counter()
            if length > LARGE_MESSAGE:
                self.large_parses.append(at - read)
            if "id" in msg and "method" not in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    if "error" in msg:
                        fut.set_exception(RuntimeError(f"{msg['error']}"))
                    else:
                        fut.set_result((msg.get("result"), at))
            elif "id" in msg:  # a request from the server: answer as an editor would
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [{} for _ in msg["params"]["items"]]
                await self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif msg.get("method") == "textDocument/publishDiagnostics":
                p = msg["params"]
                self.published.setdefault(p["uri"], []).append(Published(at, p.get("version"), len(p["diagnostics"]), len(body)))
                self.publish_event.set()
            elif msg.get("method") in ("window/showMessage", "window/logMessage"):
                self.messages.append(msg["params"].get("message", ""))

    async def wait_publish(self, uri: str, version: int | None, after: int = 0, timeout: float = 600) -> Published:
        """The first publish for uri at this version (None: any) among those after index `after`."""
        deadline = time.perf_counter() + timeout
        while True:
            for p in self.published.get(uri, [])[after:]:
                if version is None or p.version == version:
                    return p
            self.publish_event.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no diagnostics for {uri} version {version} within {timeout} s")
            try:
                await asyncio.wait_for(self.publish_event.wait(), left)
            except TimeoutError:
                pass

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.request("shutdown", None), 30)
            await self.notify("exit", None)
            await asyncio.wait_for(self.proc.wait(), 30)
        except (TimeoutError, RuntimeError, ConnectionError, BrokenPipeError):
            self.proc.kill()
            await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()


CLIENT_CAPABILITIES = {
    # The push profile: no textDocument.diagnostic capability, so the server publishes.
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "completion": {
            "completionItem": {"snippetSupport": False, "labelDetailsSupport": True, "resolveSupport": {"properties": ["documentation"]}},
            "contextSupport": True,
        },
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": False},
    },
    "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": False}},
    "window": {"workDoneProgress": True},
}


def code_positions(lines: list[str], rng: random.Random, n: int) -> list[tuple[int, int]]:
    """n random (line, character) positions inside codes of HI and SV1 segments, spread over
    the file (one segment per line, as gen_837 writes them)."""
    candidates = [i for i, ln in enumerate(lines) if ln.startswith(("HI*", "SV1*"))]
    out = []
    for i in sorted(rng.sample(candidates, n)):
        ln = lines[i]
        spans = []
        if ln.startswith("HI*"):
            pos = 3
            for el in ln.rstrip("~").split("*")[1:]:
                q, _, code = el.partition(":")
                if code:
                    spans.append((pos + len(q) + 1, pos + len(q) + 1 + len(code)))
                pos += len(el) + 1
        else:  # SV1*HC:99213:25*...
            el = ln.split("*")[1]
            q, _, rest = el.partition(":")
            code = rest.split(":")[0]
            spans.append((4 + len(q) + 1, 4 + len(q) + 1 + len(code)))
        s, e = rng.choice(spans)
        out.append((i, rng.randrange(s, e + 1)))
    return out


def completion_sites(lines: list[str], rng: random.Random, n: int) -> tuple[list[str], list[dict]]:
    """Rewrite n code slots across the file into typed prefixes (ABK: codes, ABK: description
    words, HC: procedure codes); return the new lines and where to ask for completion."""
    lines = list(lines)
    hi = [i for i, ln in enumerate(lines) if ln.startswith("HI*ABK:")]
    sv1 = [i for i, ln in enumerate(lines) if ln.startswith("SV1*HC:")]
    kinds = ["dx-code"] * (n // 2) + ["dx-word"] * (n // 4)
    kinds += ["procedure"] * (n - len(kinds))
    hi_pick = iter(rng.sample(hi, sum(k != "procedure" for k in kinds)))
    sv_pick = iter(rng.sample(sv1, sum(k == "procedure" for k in kinds)))
    sites = []
    for kind in kinds:
        if kind == "procedure":
            i = next(sv_pick)
            prefix = rng.choice(PROC_PREFIXES)
            head, el, tail = lines[i].split("*", 2)
            parts = el.split(":")
            parts[1] = prefix
            lines[i] = f"{head}*{':'.join(parts)}*{tail}"
            char = len("SV1*HC:") + len(prefix)
        else:
            i = next(hi_pick)
            prefix = rng.choice(DX_CODE_PREFIXES if kind == "dx-code" else DX_WORD_PREFIXES)
            ln = lines[i]
            end = min(j for j in (ln.find("*", 7), ln.find("~", 7), len(ln)) if j >= 0)
            lines[i] = "HI*ABK:" + prefix + ln[end:]
            char = len("HI*ABK:") + len(prefix)
        sites.append({"line": i, "character": char, "kind": kind, "prefix": prefix})
    sites.sort(key=lambda s: s["line"])
    return lines, sites


RECHECK_ROUNDS_MAX = 40  # re-checks at most to gather `recheck_samples` requests during them


async def bench_lsp(
    text: str, index_root: Path, n_requests: int, seed: int, profile_path: Path | None, env: dict[str, str], recheck_samples: int = 120, bursts: int = 12
) -> dict[str, Any]:
    res: dict[str, Any] = {}
    # Windows of bench time ([start, end] perf_counter, shared with the server's clock) in which
    # the server's own record of its stalls (MEDCODE_STALLS, lsp/stalls.py) is summarised.
    phases: dict[str, list[list[float | None]]] = {}
    keep_stalls = "MEDCODE_STALLS" in env  # set by the caller: the raw record is kept there
    stalls_file = Path(env["MEDCODE_STALLS"]) if keep_stalls else Path(tempfile.mkstemp(prefix="medcode-stalls-", suffix=".json")[1])
    env = {**env, "MEDCODE_STALLS": str(stalls_file)}
    rng = random.Random(seed)
    uri = "file:///bench/claims.837"
    small_uri = "file:///bench/small.837"
    cmd = [sys.executable, "-m", "medcode.server", "serve"]
    if profile_path is not None:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile_path), "-m", "medcode.server", "serve"]
    stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below

    res["load"] = [os.getloadavg()[0]]
    t_spawn = time.perf_counter()
    client = await LspClient.spawn(cmd, env, stderr_file)
    pid = client.proc.pid
    try:
        init, _ = await client.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES, "clientInfo": {"name": "medcode-bench"}},
        )
        res["startup_to_initialize_ms"] = round((time.perf_counter() - t_spawn) * 1000, 1)
        res["position_encoding"] = init["capabilities"].get("positionEncoding")
        await client.notify("initialized", {})
        await asyncio.sleep(1.0)  # settings pulled, every release opened (IndexStore._load)
        res["rss_idle"] = proc_status(pid)

        # Warm-up on a small document: the first request of each method pays pygls' lazy
        # (un)structuring hooks; an editor pays it once per session, so it is reported apart.
        lines_all = text.split("\n")
        head = lines_all[:12] + lines_all[12 : 12 + 40 * 20]
        small = "\n".join(head + ["SE*1*0001~", "GE*1*1~", "IEA*1*000000001~", ""])
        small_lines = small.split("\n")
        await client.notify("textDocument/didOpen", {"textDocument": {"uri": small_uri, "languageId": "x12", "version": 1, "text": small}})
        await client.wait_publish(small_uri, 1, timeout=60)
        first = {}
        for pos in code_positions(small_lines, rng, 5):
            _, s = await client.request("textDocument/hover", {"textDocument": {"uri": small_uri}, "position": {"line": pos[0], "character": pos[1]}})
            first.setdefault("hover_first_ms", round(s * 1000, 2))
        small_edit, small_sites = completion_sites(small_lines, rng, 4)
        await client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": small_uri, "version": 2}, "contentChanges": [{"text": "\n".join(small_edit)}]},
        )
        for site in small_sites:
            _, s = await client.request(
                "textDocument/completion", {"textDocument": {"uri": small_uri}, "position": {"line": site["line"], "character": site["character"]}}
            )
            first.setdefault("completion_first_ms", round(s * 1000, 2))
        res.update(first)
        res["rss_small_doc"] = proc_status(pid)
        await client.notify("textDocument/didClose", {"textDocument": {"uri": small_uri}})
        await asyncio.sleep(0.2)

        # Time to first diagnostics after didOpen of the whole file.
        lines = lines_all
        say("LSP: didOpen of the whole file …")
        t0 = time.perf_counter()
        await client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "x12", "version": 1, "text": text}})
        res["didopen_write_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        # Hover and completion every 50 ms while the first check runs (answered from the text
        # at the cursor: the handlers must not wait for the check).
        probe_pos = code_positions(lines, rng, 200)
        during_open: dict[str, list[float]] = {"hover": [], "completion": []}
        while not client.published.get(uri):
            k = len(during_open["hover"])
            hl, hc = probe_pos[k % len(probe_pos)]
            for method in ("hover", "completion"):
                _, s = await client.request(f"textDocument/{method}", {"textDocument": {"uri": uri}, "position": {"line": hl, "character": hc}})
                during_open[method].append(s)
            await asyncio.sleep(0.05)
        pub = await client.wait_publish(uri, 1)
        res["during_first_check"] = {m: summary_ms(v) if v else None for m, v in during_open.items()}
        res["first_diagnostics_s"] = round(pub.at - t0, 3)
        res["first_diagnostics_count"] = pub.count
        res["first_diagnostics_message_bytes"] = pub.nbytes
        res["rss_after_open"] = proc_status(pid)

        # The outline: documentSymbol three times (the first may build what later ones reuse).
        symbol_times, symbol_count = [], 0
        for _ in range(3):
            result, s = await client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
            symbol_times.append(s)
            symbol_count = _count_symbols(result or [])
        res["document_symbol"] = summary_ms(symbol_times) | {"first_ms": round(symbol_times[0] * 1000, 1), "symbols": symbol_count}
        res["rss_after_symbols"] = proc_status(pid)

        # Hover on code slots across the file (the document is quiet: no check running).
        say(f"LSP: {n_requests} hovers …")
        hovers, empty = [], 0
        phases["at rest"] = [[time.perf_counter(), None]]
        for line, char in code_positions(lines, rng, n_requests):
            result, s = await client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": char}})
            hovers.append(s)
            empty += result is None
        phases["at rest"][-1][1] = time.perf_counter()
        res["hover"] = summary_ms(hovers) | {"empty": empty}

        # One-character incremental edits near the middle (each in a different claim).
        say("LSP: incremental edits …")
        version = 1
        sites = edit_sites(text, 3 + 2)
        applied = list(sites[:3])  # the one-character edits the server's text has had
        more_sites = edit_sites(text, 5 + RECHECK_ROUNDS_MAX + 5 * bursts + 10)[5:]
        while len(more_sites) < RECHECK_ROUNDS_MAX + 5 * bursts + 10:  # a small file: sites again
            more_sites += more_sites
        hover_pos = code_positions(lines, rng, 200)

        def change(at: int, new: str) -> dict:
            line, char = _position(text, at)  # one-character replacements keep every position
            rng_ = {"start": {"line": line, "character": char}, "end": {"line": line, "character": char + 1}}
            return {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": rng_, "text": new}]}

        async def hover_somewhere(k: int) -> float:
            hl, hc = hover_pos[k % len(hover_pos)]
            _, s = await client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": hl, "character": hc}})
            return s

        async def complete_somewhere(k: int) -> float:
            hl, hc = hover_pos[-1 - k % len(hover_pos)]
            _, s = await client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": hl, "character": hc}})
            return s

        # a) Edit, then nothing else until the new diagnostics arrive.
        #    The server's CPU seconds over each (both threads) say what the wall clock of a
        #    loaded machine does not.
        async def timed_change(params: dict) -> tuple[float, float]:
            n_before = len(client.published.get(uri, []))
            cpu0, t0 = proc_cpu_s(pid), time.perf_counter()
            await client.notify("textDocument/didChange", params)
            pub = await client.wait_publish(uri, version, after=n_before)
            cpu1 = proc_cpu_s(pid)
            await asyncio.sleep(0.5)
            return round(pub.at - t0, 3), round(cpu1 - cpu0, 3) if cpu0 is not None and cpu1 is not None else float("nan")

        republish, republish_cpu = [], []
        for at, new in sites[:3]:
            version += 1
            wall, cpu = await timed_change(change(at, new))
            republish.append(wall)
            republish_cpu.append(cpu)
        res["edit_republish_s"] = republish
        res["edit_republish_median_s"] = statistics.median(republish)
        res["edit_republish_cpu_s"] = republish_cpu
        res["debounce_s"] = server_debounce_s(len(text))

        # a2) A line added in a claim, then taken out again: every later diagnostic moves a
        #     line down and back (the text ends as it was, so the positions below still hold).
        line = _position(text, sites[0][0])[0]
        moves, moves_cpu = [], []
        for end_line, new in ((line, "NTE*ADD*BENCH NOTE~\n"), (line + 1, "")):
            version += 1
            span_ = {"start": {"line": line, "character": 0}, "end": {"line": end_line, "character": 0}}
            wall, cpu = await timed_change({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": span_, "text": new}]})
            moves.append(wall)
            moves_cpu.append(cpu)
        res["line_edit_republish_s"] = moves
        res["line_edit_republish_cpu_s"] = moves_cpu

        # b) Re-checks: edit, hover at once (answered after the server has applied the edit),
        #    then, from the end of the server's debounce until the new diagnostics arrive,
        #    hover and completion in turns every 10 ms: requests spread over the re-check in
        #    the server's worker thread. Rounds go on until both have `recheck_samples`
        #    (one slow answer decides a p95 of twenty).
        probes = []
        hovers_during_recheck: list[float] = []
        completions_during_recheck: list[float] = []
        symbols_during_recheck: list[float] = []  # the outline of the new version, once its check runs
        # Answers (hover and completion) during re-checks that this client read only after
        # parsing the new diagnostics (3.5 MB), with that parse's seconds; and all the others.
        behind_publish: list[tuple[float, float]] = []
        clear_of_publish: list[float] = []
        debounce = server_debounce_s(len(text))
        recheck_sites = iter(sites[3:5] + more_sites[: RECHECK_ROUNDS_MAX - 2])
        k = 0
        for rnd, (at, new) in enumerate(recheck_sites):
            if rnd >= 2 and min(len(hovers_during_recheck), len(completions_during_recheck)) >= recheck_samples:
                break
            version += 1
            applied.append((at, new))
            params = change(at, new)
            n_before = len(client.published.get(uri, []))
            t_edit = time.perf_counter()
            await client.notify("textDocument/didChange", params)
            first_after = await hover_somewhere(0)
            during = []
            await asyncio.sleep(max(0.0, t_edit + debounce - time.perf_counter()))
            phases.setdefault("re-check", []).append([time.perf_counter(), None])
            while not any(p.version == version for p in client.published.get(uri, [])[n_before:]):
                k += 1
                parses = len(client.large_parses)
                if k % 2:
                    during.append(await hover_somewhere(k))
                    took = during[-1]
                else:
                    completions_during_recheck.append(await complete_somewhere(k))
                    took = completions_during_recheck[-1]
                if len(client.large_parses) > parses:
                    behind_publish.append((took, sum(client.large_parses[parses:])))
                else:
                    clear_of_publish.append(took)
                if rnd < 2 and not symbols_during_recheck[rnd:]:
                    _, s = await client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
                    symbols_during_recheck.append(s)
                await asyncio.sleep(0.01)
            phases["re-check"][-1][1] = time.perf_counter()
            hovers_during_recheck.extend(during)
            probes.append(
                {
                    "hover_right_after_edit_ms": round(first_after * 1000, 1),
                    "hovers_during_recheck": len(during),
                    "hover_during_recheck_p50_ms": round(pct([d * 1000 for d in during], 50), 1) if during else None,
                    "hover_during_recheck_max_ms": round(max(during) * 1000, 1) if during else None,
                }
            )
            await asyncio.sleep(0.3)
        res["edit_probes"] = probes
        res["recheck_rounds"] = len(probes)
        res["document_symbol_during_recheck"] = summary_ms(symbols_during_recheck) if symbols_during_recheck else None
        res["during_recheck"] = {
            "hover": summary_ms(hovers_during_recheck) if hovers_during_recheck else None,
            "completion": summary_ms(completions_during_recheck) if completions_during_recheck else None,
        }
        res["during_recheck_split"] = {
            "clear_of_publish": summary_ms(clear_of_publish) if clear_of_publish else None,
            "behind_publish": summary_ms([t for t, _ in behind_publish]) if behind_publish else None,
            "client_parse_of_publish": summary_ms([p for _, p in behind_publish]) if behind_publish else None,
        }

        # c) Typing, then one hover: five one-character edits in five claims sent back to back
        #    (as VS Code sends keystrokes), then a hover; the time from the first keystroke to
        #    the hover's answer and to the last version's diagnostics, over `bursts` bursts.
        answered, hover_only, republished = [], [], []
        burst_iter = iter(more_sites[RECHECK_ROUNDS_MAX:])
        for b in range(bursts):
            n_before = len(client.published.get(uri, []))
            burst = []
            for _ in range(5):  # made before the clock starts: finding a line costs the client milliseconds
                at, new = next(burst_iter)
                version += 1
                applied.append((at, new))
                burst.append(change(at, new))
            t0 = time.perf_counter()
            phases.setdefault("after a burst", []).append([t0, None])
            for params in burst:
                await client.notify("textDocument/didChange", params)
            hover_only.append(await hover_somewhere(7 + b))
            hover_done = time.perf_counter()
            phases["after a burst"][-1][1] = hover_done
            pub = await client.wait_publish(uri, version, after=n_before)
            answered.append(hover_done - t0)
            republished.append(pub.at - t0)
            await asyncio.sleep(0.3)
        res["typing_5_edits"] = {
            "hover_answered_s": round(statistics.median(answered), 3),
            "republish_s": round(statistics.median(republished), 3),
            "answered": summary_ms(answered),
            "hover_request": summary_ms(hover_only),
            "republish": summary_ms(republished),
        }

        # d) Ten bursts of five keystrokes (one character each, in one claim, as a person types),
        #    each burst followed at once by a hover and a completion elsewhere in the file.
        typing: dict[str, list[float]] = {"hover": [], "completion": []}
        burst_sites = [next(burst_iter) for _ in range(10)]
        phases["typing"] = [[time.perf_counter(), None]]
        for b, (at, _new) in enumerate(burst_sites):
            burst = []
            for _ in range(5):
                version += 1
                # Retype the same character: the text stays as it is.
                burst.append(change(at, text[at]))
            for params in burst:
                await client.notify("textDocument/didChange", params)
            typing["hover"].append(await hover_somewhere(20 + b))
            typing["completion"].append(await complete_somewhere(20 + b))
        phases["typing"][-1][1] = time.perf_counter()
        pub = await client.wait_publish(uri, version, after=0)
        res["typing_bursts"] = {m: summary_ms(v) for m, v in typing.items()} | {"bursts": len(burst_sites), "edits_per_burst": 5}
        res["rss_after_edits"] = proc_status(pid)
        await asyncio.sleep(0.5)

        # Completion: replace the whole text once (full sync) with n code slots rewritten into
        # typed prefixes, wait until that version is checked, then ask at each prefix's end.
        say(f"LSP: {n_requests} completions …")
        current = _apply_edits(text, applied)  # the text as the server now has it
        comp_lines, comp_sites = completion_sites(current.split("\n"), rng, n_requests)
        version += 1
        n_before = len(client.published.get(uri, []))
        t0 = time.perf_counter()
        await client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": "\n".join(comp_lines)}]})
        pub = await client.wait_publish(uri, version, after=n_before)
        res["full_sync_republish_s"] = round(pub.at - t0, 3)
        await asyncio.sleep(0.3)
        by_kind: dict[str, list[float]] = {}
        items: list[int] = []
        empty_prefixes: set[str] = set()
        for site in comp_sites:
            result, s = await client.request(
                "textDocument/completion",
                {"textDocument": {"uri": uri}, "position": {"line": site["line"], "character": site["character"]}, "context": {"triggerKind": 1}},
            )
            by_kind.setdefault(site["kind"], []).append(s)
            items.append(len(result["items"]) if isinstance(result, dict) else len(result or []))
            if items[-1] == 0:
                empty_prefixes.add(f"{site['kind']}:{site['prefix']}")
        res["completion"] = summary_ms([s for v in by_kind.values() for s in v]) | {
            "items_mean": round(statistics.fmean(items), 1),
            "empty": sum(1 for n in items if n == 0),
            "empty_prefixes": sorted(empty_prefixes),
        }
        res["completion_by_kind"] = {k: summary_ms(v) for k, v in by_kind.items()}

        res["rss_end"] = proc_status(pid)
        res["server_cpu_s"] = proc_cpu_s(pid)
        res["load"].append(os.getloadavg()[0])
        res["peak_rss_mb"] = res["rss_end"].get("VmHWM")
    finally:
        await client.close()
        stderr_file.seek(0)
        err = stderr_file.read().decode("utf-8", "replace").strip()
        stderr_file.close()
        if err:
            res["server_stderr_tail"] = err[-2000:]
        res["stalls"] = read_stalls(stalls_file, phases)
        if keep_stalls:
            res["stalls_phases"] = phases
        else:
            stalls_file.unlink(missing_ok=True)
    if client.messages:
        res["server_messages"] = client.messages[-5:]
    return res


def read_stalls(path: Path, phases: dict[str, list[list[float | None]]]) -> dict[str, Any] | None:
    """The server's record of its stalls (lsp/stalls.py), summarised per bench phase: the
    longest time the loop was late and the process's CPU meanwhile (CPU near the stall's
    length: the server's own doing; far below: the machine was busy elsewhere), the longest
    wait for the GIL, the longest collections and the loop callbacks that ran long."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    out: dict[str, Any] = {}
    for name, windows in phases.items():
        spans = [(a, b) for a, b in windows if b is not None]

        def inside(rows: list) -> list:
            return [r for r in rows if any(a <= r[0] <= b for a, b in spans)]

        loop, gil, gcs, cbs = inside(data["loop"]), inside(data["gil"]), inside(data["gc"]), inside(data["callbacks"])
        worst = max(loop, key=lambda r: r[1], default=None)
        out[name] = {
            "seconds": round(sum(b - a for a, b in spans), 2),
            "loop_late_max_ms": round(worst[1] * 1000, 1) if worst else 0.0,
            "loop_late_max_process_cpu_ms": round(worst[3] * 1000, 1) if worst else 0.0,
            "loop_late_over_10ms": sum(1 for r in loop if r[1] > 0.010),
            "loop_late_over_10ms_busy": sum(1 for r in loop if r[1] > 0.010 and r[3] > 0.8 * r[1]),
            "gil_wait_max_ms": round(max((r[1] for r in gil), default=0.0) * 1000, 1) if data.get("gil_probe") else None,
            "gc_max_ms": round(max((r[1] for r in gcs), default=0.0) * 1000, 1),
            "gc_over_10ms": [(round(r[1] * 1000, 1), r[2], r[3], round(r[4] * 1000, 1) if len(r) > 4 else None) for r in gcs if r[1] > 0.010][:10],
            "long_callbacks": [(round(r[1] * 1000, 1), round(r[2] * 1000, 1), r[3]) for r in sorted(cbs, key=lambda r: -r[1])[:5]],
            # The stalls the server spent on its own CPU, longest first: (ms, main thread CPU, process CPU).
            "busy_stalls": [tuple(round(x * 1000, 1) for x in r[1:]) for r in sorted(loop, key=lambda r: -r[1]) if r[3] > 0.8 * r[1]][:8],
            "requests": _requests_summary(inside(data.get("requests", []))),
        }
    return out


def _requests_summary(rows: list) -> dict[str, Any] | None:
    """Hover and completion as the server saw them (message in to answer out): the wall time,
    the main thread's CPU in it, and the CPU the server's other threads used meanwhile (a check
    holding the GIL while the request waited for it). Wall beyond the two: the machine was busy
    elsewhere. Load-independent where the wall clock is not."""
    rows = [r for r in rows if r[4] in ("textDocument/hover", "textDocument/completion")]
    if not rows:
        return None
    ms = lambda values: [v * 1000 for v in values]  # noqa: E731
    wall, main = ms(r[1] for r in rows), ms(r[2] for r in rows)
    others = ms(max(0.0, r[3] - r[2]) for r in rows)
    return {
        "n": len(rows),
        "wall_p50_ms": round(pct(wall, 50), 1),
        "wall_p95_ms": round(pct(wall, 95), 1),
        "main_cpu_p95_ms": round(pct(main, 95), 1),
        "others_cpu_p50_ms": round(pct(others, 50), 1),
        "others_cpu_p95_ms": round(pct(others, 95), 1),
        "others_cpu_max_ms": round(max(others), 1),
    }


def server_debounce_s(chars: int) -> float:
    """The server's own delay before re-checking after didChange (server.schedule)."""
    from medcode.server.lsp.server import BIG
    from medcode.server.lsp.settings import Settings

    return Settings().debounce_ms / 1000 * (3 if chars > BIG else 1)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def _apply_edits(text: str, sites: list[tuple[int, str]]) -> str:
    for at, new in sites:
        text = text[:at] + new + text[at + 1 :]
    return text


def print_server_profile(path: Path) -> None:
    if not path.exists():
        say(f"(no server profile at {path})")
        return
    s = io.StringIO()
    st = pstats.Stats(str(path), stream=s)
    say("\n--- cProfile of the server's main thread (hover, completion, didChange, JSON-RPC) ---")
    st.sort_stats("tottime").print_stats(20)
    for module, function in (("hover", "hover"), ("completion", "complete")):
        st.print_callees(rf"lsp/{module}.py:\d+\({function}\)")
    say(s.getvalue())


# -- 5. pyx12 side by side -----------------------------------------------------------------------
def bench_pyx12(path: Path, subset_path: Path | None, subset_claims: int, full_validate: bool) -> dict[str, Any]:
    try:
        import pyx12
        import pyx12.params
        import pyx12.x12file
        import pyx12.x12n_document
    except ImportError:
        return {"error": "pyx12 is not installed: pip install -e '.[bench]'"}
    import logging

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    from importlib.metadata import version

    res: dict[str, Any] = {"package": "pyx12", "version": version("pyx12")}

    # X12Reader: tokenises segments and checks the ISA/GS/ST envelopes (no map, no code sets).
    say("pyx12: X12Reader over the whole file …")
    t0 = time.perf_counter()
    n = 0
    with pyx12.x12file.X12Reader(str(path)) as src:
        for _ in src:
            n += 1
    s = time.perf_counter() - t0
    size = path.stat().st_size
    res["reader_s"] = round(s, 3)
    res["reader_mbps"] = round(size / MB / s, 2)
    res["reader_segments"] = n

    # x12n_document: validation against the 837P 5010 map (loops, segments, elements, code
    # lists), writing a 999 - the counterpart of a full check.
    def validate(p: Path) -> tuple[float, str]:
        out = io.StringIO()
        t0 = time.perf_counter()
        pyx12.x12n_document.x12n_document(pyx12.params.params(), str(p), out, None, None)
        s = time.perf_counter() - t0
        ack = re.search(r"IK5\*(\w)", out.getvalue())
        return s, ack.group(1) if ack else "?"

    if subset_path is not None:
        say(f"pyx12: x12n_document (validation) on the first {subset_claims:,} claims …")
        s, ack = validate(subset_path)
        res["validate_subset_claims"] = subset_claims
        res["validate_subset_s"] = round(s, 3)
        res["validate_subset_mbps"] = round(subset_path.stat().st_size / MB / s, 3)
        res["validate_subset_ack"] = ack
    if full_validate:
        say("pyx12: x12n_document (validation) on the whole file (minutes) …")
        s, ack = validate(path)
        res["validate_full_s"] = round(s, 1)
        res["validate_full_mbps"] = round(size / MB / s, 3)
        res["validate_full_ack"] = ack
    return res


# -- report ----------------------------------------------------------------------------------------
def ratio(value: float, budget: float, higher_is_better: bool) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    r = value / budget
    ok = r >= 1 if higher_is_better else r <= 1
    return f"{r:.2f}x budget {'OK' if ok else 'MISS'}"


def typing_rows(t: dict[str, Any]) -> tuple[str, str, str, str]:
    """Five keystrokes, then a hover: first keystroke sent → hover answered, over the bursts."""
    a = t.get("answered")
    if a is None:  # results of an older bench: one burst
        return ("LSP 5 keystrokes, then hover: answered / re-published", f"{t['hover_answered_s']:.2f} s / {t['republish_s']:.2f} s", "p95 ≤ 20 ms (hover)", ratio(t["hover_answered_s"] * 1000, BUDGET_P95_MS, False))
    return (
        f"LSP 5 keystrokes, then hover: answered p50 / p95 / max (n={a['n']}); re-published p50",
        f"{a['p50_ms']:.1f} / {a['p95_ms']:.1f} / {a['max_ms']:.1f} ms; {t['republish']['p50_ms'] / 1000:.2f} s",
        "p95 ≤ 20 ms (hover)",
        ratio(a["p95_ms"], BUDGET_P95_MS, False),
    )


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    ip = results.get("inprocess")
    if ip:
        rows += [
            ("index open (IndexStore + every release)", f"{ip['index_open_ms']:.1f} ms", "milliseconds", ""),
            (
                f"check cold, best of {len(ip['cold_s'])}",
                f"{ip['cold_best_s']:.2f} s = {ip['cold_mbps']:.1f} MB/s; CPU {min(ip['cold_cpu_s']):.2f} s = {ip['bytes'] / MB / min(ip['cold_cpu_s']):.1f} MB/s",
                "≥ 30 MB/s",
                ratio(ip["cold_mbps"], BUDGET_MBPS, True),
            ),
            (
                f"claim edits' share, {ip['edits_rounds']} interleaved rounds (CPU)",
                f"{ip['cold_no_edits_cpu_median_s']:.2f} s → {ip['cold_cpu_median_s']:.2f} s (medians); "
                f"median of rounds {ip['edits_overhead_cpu_pct']:+.1f}% (spread {ip['edits_overhead_cpu_spread_pct'][0]:+.1f}% to {ip['edits_overhead_cpu_spread_pct'][1]:+.1f}%)",
                "≤ +15%",
                "OK" if ip["edits_overhead_cpu_pct"] <= 15 else "MISS",
            ),
        ]
        if "fresh_edits_overhead_cpu_pct" in ip:
            rows.append((
                f"claim edits' share, fresh `medcode check` processes, {ip['fresh_edits_rounds']} rounds (CPU)",
                f"{statistics.median(ip['fresh_no_edits_cpu_s']):.2f} s → {statistics.median(ip['fresh_cpu_s']):.2f} s (medians); "
                f"median of rounds {ip['fresh_edits_overhead_cpu_pct']:+.1f}% (spread {ip['fresh_edits_overhead_cpu_spread_pct'][0]:+.1f}% to {ip['fresh_edits_overhead_cpu_spread_pct'][1]:+.1f}%)",
                "≤ +15%",
                "OK" if ip["fresh_edits_overhead_cpu_pct"] <= 15 else "MISS",
            ))
        rows += [
            ("check warm (same text again)", f"{ip['warm_best_s']:.2f} s = {ip['warm_mbps']:.1f} MB/s", "≥ 30 MB/s", ratio(ip["warm_mbps"], BUDGET_MBPS, True)),
            (
                "check after 1-char edit, incremental (edit log)",
                f"{ip['edit_incremental_best_s'] * 1000:.1f} ms (CPU {ip['edit_incremental_best_cpu_s'] * 1000:.1f} ms), claims_checked {','.join(str(e['claims_checked']) for e in ip['edit_incremental'])}",
                f"≤ {BUDGET_RECHECK_S * 1000:.0f} ms",
                ratio(ip["edit_incremental_best_s"], BUDGET_RECHECK_S, False),
            ),
            (
                "check after 1-char edit, whole walk (no log)",
                f"{ip['edit_best_s']:.2f} s, claims_checked {','.join(str(e['claims_checked']) for e in ip['edit'])}",
                "re-check only what changed",
                "claims OK" if all(e["claims_checked"] == 1 for e in ip["edit"]) else "claims MISS",
            ),
            ("check cold, garbage collector off (1 run)", f"{ip['cold_gc_off_s']:.2f} s = {ip['bytes'] / MB / ip['cold_gc_off_s']:.1f} MB/s", "", ""),
            ("parse pass only (walk, no rules)", f"{ip['walk_best_s']:.2f} s = {ip['walk_mbps']:.1f} MB/s; CPU {ip['walk_best_cpu_s']:.2f} s", "", ""),
        ]
    hd = results.get("handlers")
    if hd:
        rows += [
            ("hover handler only (no JSON-RPC) p50 / p95", f"{hd['hover']['p50_ms']:.2f} / {hd['hover']['p95_ms']:.2f} ms", "", ""),
            ("completion handler only p50 / p95", f"{hd['completion']['p50_ms']:.2f} / {hd['completion']['p95_ms']:.2f} ms", "", ""),
        ]
    lsp = results.get("lsp")
    if lsp and "error" in lsp:
        rows.append(("LSP benchmark", "FAILED: " + lsp["error"][:60], "", ""))
    if lsp and "hover" in lsp:
        h, c = lsp["hover"], lsp["completion"]
        rows += [
            (
                "LSP spawn → initialize result",
                f"{lsp['startup_to_initialize_ms']:.0f} ms",
                "≤ 1 s (lsp_engineering §6.1)",
                ratio(lsp["startup_to_initialize_ms"], 1000, False),
            ),
            ("LSP didOpen → first diagnostics", f"{lsp['first_diagnostics_s']:.2f} s ({lsp['first_diagnostics_count']} diagnostics)", "", ""),
            (
                "LSP hover p50 / p95 / max",
                f"{h['p50_ms']:.2f} / {h['p95_ms']:.2f} / {h['max_ms']:.1f} ms (n={h['n']})",
                "p95 ≤ 20 ms",
                ratio(h["p95_ms"], BUDGET_P95_MS, False),
            ),
            (
                "LSP completion p50 / p95 / max",
                f"{c['p50_ms']:.2f} / {c['p95_ms']:.2f} / {c['max_ms']:.1f} ms (n={c['n']})",
                "p95 ≤ 20 ms",
                ratio(c["p95_ms"], BUDGET_P95_MS, False),
            ),
        ]
        for kind, v in lsp["completion_by_kind"].items():
            rows.append(
                (
                    f"  completion {kind}",
                    f"{v['p50_ms']:.2f} / {v['p95_ms']:.2f} / {v['max_ms']:.1f} ms (n={v['n']})",
                    "p95 ≤ 20 ms",
                    ratio(v["p95_ms"], BUDGET_P95_MS, False),
                )
            )
        rows += [
            (
                "LSP first hover / completion of a session",
                f"{lsp.get('hover_first_ms', float('nan')):.1f} / {lsp.get('completion_first_ms', float('nan')):.1f} ms",
                "",
                "",
            ),
            (
                "LSP 1-char edit → re-publish (median)",
                f"{lsp['edit_republish_median_s']:.2f} s (incl. {lsp['debounce_s']:.1f} s debounce)",
                "≤ 0.3 s after typing pauses (§6.1)",
                ratio(lsp["edit_republish_median_s"] - lsp["debounce_s"], 0.3, False),
            ),
            (
                "  server CPU per 1-char edit → re-publish",
                " / ".join(f"{c * 1000:.0f}" for c in lsp.get("edit_republish_cpu_s", [])) + " ms",
                "",
                "",
            ),
            (
                "LSP line added / removed → re-publish (server CPU)",
                " / ".join(f"{w:.2f} s ({c * 1000:.0f} ms)" for w, c in zip(lsp.get("line_edit_republish_s", []), lsp.get("line_edit_republish_cpu_s", []))),
                "≤ 0.3 s after typing pauses (§6.1)",
                ratio(max(lsp.get("line_edit_republish_s", [float("nan")])) - lsp["debounce_s"], 0.3, False),
            ),
            (
                f"LSP hover sent right after an edit p50 / p95 / max (n={len(lsp['edit_probes'])})",
                " / ".join(f"{pct([e['hover_right_after_edit_ms'] for e in lsp['edit_probes']], q):.1f}" for q in (50, 95, 100)) + " ms",
                "p95 ≤ 20 ms",
                ratio(pct([e["hover_right_after_edit_ms"] for e in lsp["edit_probes"]], 95), BUDGET_P95_MS, False),
            ),
            (
                "LSP hover while a re-check runs (p50, worst)",
                (
                    f"{statistics.median(e['hover_during_recheck_p50_ms'] or 0 for e in lsp['edit_probes']):.0f} ms, "
                    f"{max(e['hover_during_recheck_max_ms'] or 0 for e in lsp['edit_probes']):.0f} ms"
                ),
                "p95 ≤ 20 ms",
                "",
            ),
            typing_rows(lsp["typing_5_edits"]),
            ("LSP full-text didChange → re-publish", f"{lsp['full_sync_republish_s']:.2f} s", "", ""),
        ]
        for label, key in (("during the first check", "during_first_check"), ("during a re-check", "during_recheck"), ("after 5 keystrokes (10 bursts)", "typing_bursts")):
            for method in ("hover", "completion"):
                v = (lsp.get(key) or {}).get(method)
                if v:
                    rows.append(
                        (
                            f"LSP {method} {label} p50 / p95 / max",
                            f"{v['p50_ms']:.1f} / {v['p95_ms']:.1f} / {v['max_ms']:.1f} ms (n={v['n']})",
                            "p95 ≤ 20 ms",
                            ratio(v["p95_ms"], BUDGET_P95_MS, False),
                        )
                    )
        split = lsp.get("during_recheck_split") or {}
        if split.get("clear_of_publish"):
            c, b, p = split["clear_of_publish"], split.get("behind_publish"), split.get("client_parse_of_publish")
            rows.append(("  of these, answers not behind a publish p50 / p95 / max", f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f} / {c['max_ms']:.1f} ms (n={c['n']})", "", ""))
            if b and p:
                rows.append(
                    (
                        "  answers read after this client parsed a publish; its parse",
                        f"{b['p50_ms']:.1f} / {b['max_ms']:.1f} ms (p50 / max, n={b['n']}); parse {p['p50_ms']:.1f} / {p['max_ms']:.1f} ms",
                        "",
                        "",
                    )
                )
        if "document_symbol" in lsp:
            d = lsp["document_symbol"]
            rows.append(("LSP documentSymbol first / max", f"{d['first_ms']:.0f} / {d['max_ms']:.0f} ms ({d['symbols']:,} symbols)", "≤ 500 ms", ratio(d["max_ms"], 500, False)))
        if lsp.get("document_symbol_during_recheck"):
            d = lsp["document_symbol_during_recheck"]
            rows.append(("LSP documentSymbol of an edited version, during its re-check, max", f"{d['max_ms']:.0f} ms", "≤ 500 ms", ratio(d["max_ms"], 500, False)))
        for phase, st in (lsp.get("stalls") or {}).items():
            rows.append(
                (
                    f"server loop stalled, {phase} ({st['seconds']:.0f} s)",
                    f"longest {st['loop_late_max_ms']:.0f} ms (server CPU in it {st['loop_late_max_process_cpu_ms']:.0f} ms); "
                    f"> 10 ms: {st['loop_late_over_10ms']} ({st['loop_late_over_10ms_busy']} on the server's CPU); "
                    + (f"GIL wait ≤ {st['gil_wait_max_ms']:.0f} ms; " if st.get("gil_wait_max_ms") is not None else "")
                    + f"gc ≤ {st['gc_max_ms']:.0f} ms",
                    "≤ 10 ms",
                    ratio(st["loop_late_max_ms"], 10, False),
                )
            )
            for wall, cpu, what in st["long_callbacks"][:2]:
                rows.append((f"  longest loop callbacks, {phase}", f"{wall:.0f} ms (main thread CPU {cpu:.0f} ms): {what[:70]}", "", ""))
            if (rq := st.get("requests")) is not None:
                rows.append(
                    (
                        f"  server side: hover + completion, {phase} (n={rq['n']})",
                        f"wall p50 / p95 {rq['wall_p50_ms']:.1f} / {rq['wall_p95_ms']:.1f} ms; main thread CPU p95 {rq['main_cpu_p95_ms']:.1f} ms; "
                        f"other threads' CPU in them p50 / p95 / max {rq['others_cpu_p50_ms']:.1f} / {rq['others_cpu_p95_ms']:.1f} / {rq['others_cpu_max_ms']:.1f} ms",
                        "",
                        "",
                    )
                )
        rows += [
            ("machine load (1-min average) at LSP start / end", " / ".join(f"{x:.2f}" for x in lsp.get("load", [])), "", ""),
            ("server CPU (user+sys) over the LSP run", f"{lsp.get('server_cpu_s')} s", "", ""),
            (
                "server RSS, indexes opened, no document",
                f"{lsp['rss_idle'].get('VmRSS', 0):.1f} MB (anon {lsp['rss_idle'].get('RssAnon', 0):.1f}, file {lsp['rss_idle'].get('RssFile', 0):.1f})",
                "well under 100 MB",
                ratio(lsp["rss_idle"].get("VmRSS", 0), BUDGET_RSS_MB, False),
            ),
            (
                "server RSS, small document, indexes used",
                f"{lsp['rss_small_doc'].get('VmRSS', 0):.1f} MB",
                "well under 100 MB",
                ratio(lsp["rss_small_doc"].get("VmRSS", 0), BUDGET_RSS_MB, False),
            ),
            (
                "server RSS with the whole file open: after open / at the end",
                f"{lsp['rss_after_open'].get('VmRSS', 0):.1f} / {lsp['rss_end'].get('VmRSS', 0):.1f} MB",
                "≤ 150 MB (issue 14)",
                ratio(max(lsp["rss_after_open"].get("VmRSS", 0), lsp["rss_end"].get("VmRSS", 0)), 150, False),
            ),
            ("server peak RSS (VmHWM)", f"{lsp['peak_rss_mb']:.1f} MB", "≤ 250 MB (issue 14)", ratio(lsp["peak_rss_mb"], 250, False)),
        ]
    px = results.get("pyx12")
    if px and "reader_s" in px:
        ip = ip or {}
        rows += [
            (
                f"pyx12 {px['version']} X12Reader (tokenise + envelopes)",
                f"{px['reader_s']:.2f} s = {px['reader_mbps']:.1f} MB/s",
                "vs medcode walk",
                f"medcode {ip.get('walk_mbps', 0) / px['reader_mbps']:.1f}x faster" if ip else "",
            ),
        ]
        if "validate_subset_s" in px:
            sub = results.get("subset_medcode_s")
            rows.append(
                (
                    f"pyx12 x12n_document, {px['validate_subset_claims']:,} claims",
                    f"{px['validate_subset_s']:.2f} s = {px['validate_subset_mbps']:.2f} MB/s (999 IK5 {px['validate_subset_ack']})",
                    "vs medcode check",
                    f"medcode {sub:.2f} s, {px['validate_subset_s'] / sub:.0f}x faster" if sub else "",
                )
            )
        if "validate_full_s" in px:
            rows.append(
                (
                    "pyx12 x12n_document, whole file",
                    f"{px['validate_full_s']:.1f} s = {px['validate_full_mbps']:.2f} MB/s (999 IK5 {px['validate_full_ack']})",
                    "vs medcode check cold",
                    f"medcode {px['validate_full_s'] / ip['cold_best_s']:.0f}x faster" if ip else "",
                )
            )
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    out = [f"{'figure':<{w[0]}}  {'measured':<{w[1]}}  {'budget':<{w[2]}}  ratio"]
    out.append("-" * (sum(w) + 8))
    out += [f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d}" for a, b, c, d in rows]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=50_000, help="claims in the generated file (default 50,000)")
    ap.add_argument(
        "--file", type=Path, help="837 file to use, one segment per line as gen_837.py writes (default bench/out/claims-<N>k.837, generated when missing)"
    )
    ap.add_argument("--regenerate", action="store_true", help="regenerate the file even if it exists")
    ap.add_argument("--index-dir", help="index folder (default: $MEDCODE_INDEX_DIR, else the user data directory)")
    ap.add_argument("--requests", type=int, default=300, help="hover and completion requests each (default 300)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of each in-process measurement (default 3; the best is reported)")
    ap.add_argument(
        "--edits-rounds", type=int, default=5, help="rounds of cold checks with and without the claim edits, interleaved (default 5; --quick: 1)"
    )
    ap.add_argument(
        "--fresh-rounds", type=int, default=3,
        help="rounds of fresh `medcode check` processes with and without the claim edits (default 3; --quick: 1; 0: skip)",
    )
    ap.add_argument("--seed", type=int, default=837)
    ap.add_argument("--recheck-samples", type=int, default=120, help="hover and completion requests each during re-checks (default 120)")
    ap.add_argument("--bursts", type=int, default=12, help="bursts of 5 keystrokes, each followed by a hover (default 12)")
    ap.add_argument("--skip-lsp", action="store_true")
    ap.add_argument("--skip-pyx12", action="store_true")
    ap.add_argument("--skip-inprocess", action="store_true", help="only the LSP (and pyx12) parts: no in-process checks or handler calls")
    ap.add_argument("--pyx12-validate-claims", type=int, default=2000, help="claims for pyx12's full validation (0: skip; default 2,000)")
    ap.add_argument("--pyx12-full", action="store_true", help="also validate the whole file with pyx12 (about 4 minutes for 50k claims)")
    ap.add_argument("--profile", action="store_true", help="print cProfile of the cold check and of the hover / completion handlers")
    ap.add_argument(
        "--profile-server",
        action="store_true",
        help="run the server under cProfile (main thread; its latencies are then inflated) and print the profile",
    )
    ap.add_argument("--quick", action="store_true", help="5,000 claims, 100 requests, 1 repeat")
    ap.add_argument("--out", type=Path, default=OUT / "results-x12.json")
    args = ap.parse_args()
    if args.quick:
        args.claims, args.requests, args.repeats, args.edits_rounds, args.fresh_rounds = 5_000, 100, 1, 1, 1

    from medcode.index_builder.location import ENV_VAR, index_dir

    root = index_dir(args.index_dir)
    env = dict(os.environ)
    env[ENV_VAR] = str(root)
    path = args.file or OUT / f"claims-{args.claims // 1000}k.837"
    ensure_file(path, args.claims, args.regenerate, env)
    text = path.read_text(encoding="utf-8")
    claims = text.count("\nCLM*")

    results: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "file": {"path": str(path), "bytes": len(text.encode("utf-8")), "claims": claims, "lines": text.count("\n")},
        "index_dir": str(root),
        "git": git_state(),
        "budgets": {"diagnostics_mbps": BUDGET_MBPS, "hover_completion_p95_ms": BUDGET_P95_MS, "rss_mb": BUDGET_RSS_MB},
    }
    g = results["git"]
    say(f"file: {path} — {results['file']['bytes'] / MB:.1f} MB, {claims:,} claims; index: {root}")
    say(f"code: commit {g['commit'] or '?'}" + (f", modified: {', '.join(g['modified'])}" if g["modified"] else ""))

    if not args.skip_inprocess:
        say("in-process: DocumentChecker.check …")
        results["inprocess"] = bench_inprocess(text, root, args.repeats, args.edits_rounds, args.profile)
        if args.fresh_rounds:
            say(f"fresh processes: medcode check with and without the claim edits, {args.fresh_rounds} rounds …")
            results["inprocess"].update(fresh_edits_share(path, env, args.fresh_rounds))
        say("in-process: hover / completion handlers …")
        results["handlers"] = bench_handlers(text, root, args.requests, args.seed, args.profile)
        gc.collect()

    if not args.skip_lsp:
        profile_path = OUT / "server.prof" if args.profile_server else None
        results["server_profiled"] = bool(profile_path)
        try:
            results["lsp"] = asyncio.run(bench_lsp(text, root, args.requests, args.seed, profile_path, env, args.recheck_samples, args.bursts))
        except Exception as exc:  # noqa: BLE001 - report what failed, keep the other figures
            results["lsp"] = {"error": f"{type(exc).__name__}: {exc}"}
            say(f"LSP benchmark failed: {exc!r}")
        if profile_path is not None:
            print_server_profile(profile_path)

    if not args.skip_pyx12:
        subset = None
        n_sub = min(args.pyx12_validate_claims, claims)
        if n_sub > 0:
            subset = OUT / f"claims-{n_sub}.837"
            if not subset.exists() or args.regenerate:
                subprocess.run(
                    [sys.executable, str(HERE / "gen_837.py"), "--claims", str(n_sub), "--out", str(subset), "--seed", "837"],
                    check=True,
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
            results["subset_medcode_s"] = round(bench_subset_check(subset.read_text(encoding="utf-8"), root), 3)
        results["pyx12"] = bench_pyx12(path, subset, n_sub, args.pyx12_full)

    del text
    g = results["git"]
    print(
        f"medcode at {g['commit'] or '?'}{' + local changes' if g['modified'] else ''}; {results['file']['claims']:,} claims, {results['file']['bytes'] / MB:.1f} MB"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    say(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
