"""Benchmark for price files: a 200,000-row tall CMS CSV.

Prints full-file diagnostics time (in process and over LSP stdio) and hover latency over
LSP, next to the X12 budgets of DESIGN.md (there is no separate CSV budget). A script, not a
test: nothing here asserts a timing.

    python bench/bench_tables.py [--rows 200000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_x12 import CLIENT_CAPABILITIES, LspClient, proc_status, summary_ms  # noqa: E402
from gen_hpt_csv import generate  # noqa: E402

from medcode.index_builder.location import index_dir  # noqa: E402
from medcode.index_builder.reader import IndexStore  # noqa: E402
from medcode.server import kinds  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402

OUT = Path(__file__).parent / "out"


def inprocess(text: str, name: str) -> dict:
    store = IndexStore(index_dir())
    cold = []
    for _ in range(3):
        checker = DocumentChecker(Verdicts(store))
        t = time.perf_counter()
        analysis = checker.check(text, name=name)
        cold.append(time.perf_counter() - t)
    t = time.perf_counter()
    reading = kinds.read(text, name)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    checker.check(text, name=name)
    warm = time.perf_counter() - t
    return {
        "bytes": len(text.encode()),
        "slots": len(reading.slots),
        "findings": len(analysis.findings),
        "read_s": round(read_s, 3),
        "cold_best_s": round(min(cold), 3),
        "warm_s": round(warm, 3),
        "cold_mbps": round(len(text.encode()) / 1e6 / min(cold), 1),
    }


async def over_lsp(text: str, name: str, requests: int, seed: int) -> dict:
    env = {**os.environ}
    client = await LspClient.spawn([sys.executable, "-m", "medcode.server", "serve"], env, asyncio.subprocess.DEVNULL)
    try:
        await client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES})
        await client.notify("initialized", {})
        uri = Path(name).resolve().as_uri()
        t = time.perf_counter()
        await client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "csv", "version": 1, "text": text}})
        first = await client.wait_publish(uri, 1)
        first_s = first.at - t
        # Hover on code cells spread over the file.
        rng = random.Random(seed)
        lines = text.split("\n")
        sites = []
        while len(sites) < requests:
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"hpt-tall-{args.rows // 1000}k_standardcharges.csv"
    if not path.exists():
        path.write_text(generate(args.rows))
    text = path.read_text()
    print(f"{path.name}: {len(text.encode()) / 1e6:.1f} MB, {args.rows:,} rows")
    results = {"inprocess": inprocess(text, str(path))}
    print(f"  read {results['inprocess']['read_s']} s; full check cold {results['inprocess']['cold_best_s']} s "
          f"({results['inprocess']['cold_mbps']} MB/s), warm {results['inprocess']['warm_s']} s; "
          f"{results['inprocess']['slots']:,} codes, {results['inprocess']['findings']:,} findings")
    results["lsp"] = asyncio.run(over_lsp(text, str(path), args.requests, args.seed))
    lsp = results["lsp"]
    print(f"  LSP didOpen -> first diagnostics {lsp['first_diagnostics_s']} s ({lsp['diagnostics']:,} diagnostics)")
    h = lsp["hover"]
    print(f"  LSP hover p50 {h['p50_ms']} ms, p95 {h['p95_ms']} ms, max {h['max_ms']} ms (budget p95 <= 20 ms); "
          f"{lsp['hover_answered']} of {args.requests} on codes answered")
    print(f"  server RSS {lsp['server_rss']}")
    (OUT / "results-tables.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
