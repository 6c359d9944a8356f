"""What opening an index costs a fresh process: `medcode lookup E11.9` (its own CPU and wall
time) and a language server's spawn -> `initialize` and spawn -> first diagnostics of a
one-claim document, per interpreter given, with the index's stamps fresh (stamps.py) and
after a copy (`cp -a`: new inodes, so every file is hashed once). Runs are interleaved and
medians printed, with the load they ran under.

    python bench/bench_open.py --index /tmp/my-idx --python old=/venv-old/bin/python --python new=/venv/bin/python

The index is opened by each interpreter: give a copy you may write into (a medcode that
stamps writes .stamps.json beside each release's files)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_x12 import CLIENT_CAPABILITIES, LspClient  # noqa: E402
from official_layouts import claim_837p  # noqa: E402

DOC = claim_837p([("C1", ["E119", "I10"], [("J1100", dt.date(2026, 3, 10))])])
URI = "file:///bench/open.837"


def lookup(py: str, index: Path) -> tuple[float, float]:
    """(CPU ms of the process alone, wall ms)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([py, "-m", "medcode.server", "lookup", "E11.9"], env={**os.environ, "MEDCODE_INDEX_DIR": str(index)}, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        said = err.read().decode()
    if status != 0 or "warning" in said:
        raise SystemExit(f"{py} lookup failed: {said}")
    return (usage.ru_utime + usage.ru_stime) * 1000, wall * 1000


async def lsp(py: str, index: Path) -> tuple[float, float]:
    """(spawn -> initialize ms, spawn -> first diagnostics ms)."""
    t0 = time.perf_counter()
    client = await LspClient.spawn([py, "-m", "medcode.server", "serve"], {**os.environ, "MEDCODE_INDEX_DIR": str(index)}, subprocess.DEVNULL)
    try:
        await client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": CLIENT_CAPABILITIES})
        init = (time.perf_counter() - t0) * 1000
        await client.notify("initialized", {})
        await client.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "x12", "version": 1, "text": DOC}})
        await client.wait_publish(URI, 1, timeout=120)
        first = (time.perf_counter() - t0) * 1000
    finally:
        client.proc.kill()
        await client.proc.wait()
    return init, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--python", action="append", required=True, help="LABEL=PATH of an interpreter with medcode installed")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    pythons = dict(p.split("=", 1) for p in args.python)
    work = Path(tempfile.mkdtemp(prefix="bench-open-"))
    copy = work / "copy"

    def copied() -> Path:
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.run(["cp", "-a", str(args.index), str(copy)], check=True)
        time.sleep(0.05)  # a clock tick: files written within one are hashed again (stamps.py)
        return copy

    cases = [(label, py, False) for label, py in pythons.items()] + [(f"{label} after a copy", py, True) for label, py in pythons.items()]
    for _, py, _ in cases:
        lookup(py, args.index)  # stamps renewed, bytecode compiled, pages cached
    rows: dict[str, list[tuple[float, float, float, float]]] = {label: [] for label, _, _ in cases}
    loads = []
    try:
        for _ in range(args.runs):
            loads.append(os.getloadavg()[0])
            for label, py, fresh in cases:
                cpu, wall = lookup(py, copied() if fresh else args.index)
                init, first = asyncio.run(lsp(py, copied() if fresh else args.index))
                rows[label].append((cpu, wall, init, first))
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"median of {args.runs}, load average (1 min) {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'':28s} {'lookup CPU':>10s} {'wall':>8s} {'spawn→init':>11s} {'→first diag':>12s}")
    for label, got in rows.items():
        med = [statistics.median(r[i] for r in got) for i in range(4)]
        print(f"{label:28s} {med[0]:8.0f} ms {med[1]:5.0f} ms {med[2]:8.0f} ms {med[3]:9.0f} ms")


if __name__ == "__main__":
    main()
