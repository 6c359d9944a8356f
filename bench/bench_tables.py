"""Benchmark for price files: a 200,000-row tall CMS CSV and a JSON of the same items.

For each file: the full check in process (cold best of 3, warm; wall and CPU seconds, MB/s
against the budget of 20 MB/s), `medcode check` in a fresh process (wall, CPU, peak RSS
against the budget of 3x the file size), and over LSP stdio the time from didOpen to the
first diagnostics, hover latency on code cells and the server's RSS with the file open. A
script, not a test: nothing here asserts a timing.

    python bench/bench_tables.py [--rows 200000] [--requests 300] [--skip-lsp] [--only csv|json]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_x12 import CLIENT_CAPABILITIES, LspClient, proc_status, summary_ms  # noqa: E402
from gen_hpt_csv import generate, generate_json  # noqa: E402

from medcode.index_builder.location import index_dir  # noqa: E402
from medcode.index_builder.reader import IndexStore  # noqa: E402
from medcode.server import kinds  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402

OUT = Path(__file__).parent / "out"
MBPS_BUDGET = 20.0
RSS_BUDGET = 3.0  # times the file size


def _timed(f):
    w, c = time.perf_counter(), time.process_time()
    result = f()
    return result, time.perf_counter() - w, time.process_time() - c


def inprocess(text: str, name: str) -> dict:
    store = IndexStore(index_dir())
    size = len(text.encode())
    cold = []
    for _ in range(3):
        checker = DocumentChecker(Verdicts(store))
        analysis, wall, cpu = _timed(lambda: checker.check(text, name=name))
        cold.append((cpu, wall))
        del analysis
    reading, read_s, read_cpu = _timed(lambda: kinds.read(text, name))
    slots = len(reading.slots)
    del reading
    analysis, warm, warm_cpu = _timed(lambda: checker.check(text, name=name))
    best_cpu, best_wall = min(cold)
    return {
        "bytes": size,
        "slots": slots,
        "findings": len(analysis.findings),
        "read_s": round(read_s, 3),
        "read_cpu_s": round(read_cpu, 3),
        "cold_best_s": round(min(w for _, w in cold), 3),
        "cold_best_cpu_s": round(best_cpu, 3),
        "warm_s": round(warm, 3),
        "warm_cpu_s": round(warm_cpu, 3),
        "cold_mbps": round(size / 1e6 / min(w for _, w in cold), 1),
        "cold_mbps_cpu": round(size / 1e6 / best_cpu, 1),
        "ratio_to_budget_cpu": round(size / 1e6 / best_cpu / MBPS_BUDGET, 2),
    }


def fresh_check(path: Path) -> dict:
    """`medcode check -j 1 --format json PATH` in its own process, run by /usr/bin/time: wall,
    CPU and peak RSS. (wait4's ru_maxrss would also count this script's own pages, which the
    child holds between fork and exec.)"""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        t = time.perf_counter()
        code = subprocess.call(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", out.name,
             sys.executable, "-m", "medcode.server", "check", "-j", "1", "--format", "json", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - t
        kb, user, system = out.read().split()[-3:]
    size = path.stat().st_size
    peak, cpu = int(kb) * 1024, float(user) + float(system)
    return {
        "exit": code,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "mbps_cpu": round(size / 1e6 / cpu, 1),
        "peak_rss_mb": round(peak / 1e6, 1),
        "peak_rss_x_size": round(peak / size, 2),
        "ratio_to_budget": round(peak / size / RSS_BUDGET, 2),
    }


def json_sites(text: str, requests: int, seed: int) -> list[tuple[int, int]]:
    """(line, character) inside code values of a price JSON (ASCII, so characters are offsets)."""
    import re

    starts = [m.end() for m in re.finditer(r'"code": ?"', text)]
    rng = random.Random(seed)
    sites = []
    for at in rng.sample(starts, min(requests, len(starts))):
        line = text.count("\n", 0, at)
        sites.append((line, at - (text.rfind("\n", 0, at) + 1) + 1))
    return sites


async def over_lsp(text: str, name: str, requests: int, seed: int, language: str = "csv") -> dict:
    env = {**os.environ}
    client = await LspClient.spawn([sys.executable, "-m", "medcode.server", "serve"], env, asyncio.subprocess.DEVNULL)
    try:
        await client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES})
        await client.notify("initialized", {})
        uri = Path(name).resolve().as_uri()
        t = time.perf_counter()
        await client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}})
        first = await client.wait_publish(uri, 1)
        first_s = first.at - t
        # Hover on code cells spread over the file.
        rng = random.Random(seed)
        lines = text.split("\n") if language == "csv" else []
        sites = [] if language == "csv" else json_sites(text, requests, seed)
        while len(sites) < requests and lines:
            n = rng.randrange(3, len(lines) - 1)
            row = next(csv.reader([lines[n]]), [])
            if len(row) > 2 and row[1]:
                at = lines[n].find("," + row[1] + ",")
                if at >= 0:
                    sites.append((n, at + 1 + len(row[1]) // 2))
        latencies, answered = [], 0
        for line, col in sites:
            result, s = await client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}})
            latencies.append(s)
            answered += result is not None
        status = proc_status(client.proc.pid)
        return {
            "first_diagnostics_s": round(first_s, 3),
            "diagnostics": first.count,
            "hover": summary_ms(latencies),
            "hover_answered": answered,
            "server_rss": status,
        }
    finally:
        await client.close()


def _report(kind: str, path: Path, results: dict) -> None:
    ip, fc = results["inprocess"], results["fresh_check"]
    size = ip["bytes"] / 1e6
    print(f"{kind} {path.name}: {size:.1f} MB, {ip['slots']:,} codes, {ip['findings']:,} findings")
    print(f"  read {ip['read_s']} s ({ip['read_cpu_s']} s CPU); full check cold {ip['cold_best_s']} s, "
          f"{ip['cold_best_cpu_s']} s CPU = {ip['cold_mbps_cpu']} MB/s of CPU (budget >= {MBPS_BUDGET}: ratio {ip['ratio_to_budget_cpu']}); "
          f"warm {ip['warm_s']} s ({ip['warm_cpu_s']} s CPU)")
    print(f"  medcode check in a fresh process: {fc['wall_s']} s, {fc['cpu_s']} s CPU ({fc['mbps_cpu']} MB/s of CPU), "
          f"peak RSS {fc['peak_rss_mb']} MB = {fc['peak_rss_x_size']}x the file (budget <= {RSS_BUDGET}x: ratio {fc['ratio_to_budget']})")
    lsp = results.get("lsp")
    if lsp:
        h = lsp["hover"]
        print(f"  LSP didOpen -> first diagnostics {lsp['first_diagnostics_s']} s ({lsp['diagnostics']:,} diagnostics); "
              f"hover p50 {h['p50_ms']} ms, p95 {h['p95_ms']} ms, max {h['max_ms']} ms, {lsp['hover_answered']} answered")
        print(f"  server RSS with the file open {lsp['server_rss']}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-lsp", action="store_true")
    ap.add_argument("--only", choices=("csv", "json"))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": (OUT / f"hpt-tall-{args.rows // 1000}k_standardcharges.csv", lambda: generate(args.rows)),
        # The same items, minified as many hospitals publish them (the harder case: one line).
        "json": (OUT / f"hpt-{args.rows // 1000}k_standardcharges.json", lambda: generate_json(args.rows, indent=None)),
    }
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    all_results = {}
    for kind, (path, make) in files.items():
        if args.only and kind != args.only:
            continue
        if not path.exists():
            path.write_text(make(), newline="")
        with open(path, newline="", encoding="utf-8") as fh:
            text = fh.read()
        results = {"inprocess": inprocess(text, str(path)), "fresh_check": fresh_check(path)}
        if not args.skip_lsp:
            results["lsp"] = asyncio.run(over_lsp(text, str(path), args.requests, args.seed, language=kind))
        del text
        _report(kind, path, results)
        all_results[kind] = results
    (OUT / "results-tables.json").write_text(json.dumps(all_results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
