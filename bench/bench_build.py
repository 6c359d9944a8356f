"""Benchmark of `medcode index build`: time and index size per embedded set.

Builds every embedded default into a fresh temporary folder (or --sets) with one call of
build_defaults, as `medcode index build` does (the sets in parallel worker processes unless
--workers 1), and prints per step (set, and the MCE tables built with ICD-10-CM) the wall-clock
and CPU seconds of the process that built it (on a shared machine the wall clock also counts
other processes' turns), the number of releases and records, and the bytes on disk; then the
whole build's wall clock and CPU seconds (this process and its workers) next to the budgets
(whole build ≤ 10 s, NDC index ≤ 40 MB). Writes the figures to bench/out/results-build.json.
A script, not a test: nothing here asserts a timing.

    python bench/bench_build.py [--sets icd10cm icd10pcs hcpcs ndc] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from medcode.index_builder.build import EMBEDDED_SETS, MCE_STEP, build_defaults
from medcode.index_builder.codesets import NDC
from medcode.index_builder.mce_index import EDITS_DIR

OUT = Path(__file__).parent / "out"
BUDGET_SECONDS = 10.0
BUDGET_NDC_BYTES = 40 * 10**6


def folder_bytes(path: Path) -> int:
    """Bytes on disk, each file once (releases of one set share hard-linked files)."""
    seen = {}
    for p in path.rglob("*"):
        if p.is_file():
            st = p.stat()
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def _children_cpu() -> float:
    """CPU seconds of the finished worker processes (the pool is shut down when the build ends)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _shown(load: float | None) -> str:
    return "unknown" if load is None else f"{load:.1f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", nargs="+", default=list(EMBEDDED_SETS), choices=EMBEDDED_SETS)
    p.add_argument("--keep", type=Path, help="build into this folder and keep it (default: a temporary one)")
    p.add_argument("--workers", type=int, help="worker processes (default: as `medcode index build`; 1: one after another)")
    args = p.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="medcode-bench-build-"))
    rows = []
    try:
        timings: dict[str, tuple[float, float]] = {}
        load_before = _load()
        wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        built = build_defaults(root, tuple(args.sets), workers=args.workers, timings=timings)
        totals = {
            "seconds": round(time.perf_counter() - wall, 2),
            "cpu_seconds": round(time.process_time() - cpu + _children_cpu() - children, 2),
            # 1-minute load averages before and after: on a shared machine the wall clock
            # also counts other processes' turns, the CPU seconds do not.
            "load_average_before": load_before,
            "load_average": _load(),
        }
        for step, (seconds, cpu_seconds) in timings.items():
            mine = [b for b in built if b.result.set_id == step]
            rows.append({
                "set": step,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
                "releases": [b.result.release for b in mine],
                "records": sum(b.records for b in mine),
                "bytes": folder_bytes(root / (EDITS_DIR if step == MCE_STEP else step)),
            })
        totals["bytes"] = sum(r["bytes"] for r in rows)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{'set':<9} {'wall s':>7} {'cpu s':>7} {'releases':>9} {'records':>10} {'MB':>8}")
    for r in rows:
        print(f"{r['set']:<9} {r['seconds']:>7.1f} {r['cpu_seconds']:>7.1f} {len(r['releases']):>9} {r['records']:>10,} {r['bytes'] / 1e6:>8.1f}")
    print(f"{'total':<9} {totals['seconds']:>7.1f} {totals['cpu_seconds']:>7.1f} {'':>9} {'':>10} {totals['bytes'] / 1e6:>8.1f}")
    print("(per step: its worker's wall and CPU seconds; total: the whole build's wall clock, and the CPU of this process and its workers)")
    print(f"budget: whole build {BUDGET_SECONDS:.0f} s (wall {totals['seconds'] / BUDGET_SECONDS:.1f}x, cpu {totals['cpu_seconds'] / BUDGET_SECONDS:.1f}x); "
          f"load average before {_shown(totals['load_average_before'])}, at the end {_shown(totals['load_average'])}")
    ndc = next((r for r in rows if r["set"] == NDC), None)
    if ndc:
        print(f"budget: NDC index {BUDGET_NDC_BYTES / 1e6:.0f} MB ({ndc['bytes'] / BUDGET_NDC_BYTES:.1f}x)")
    OUT.mkdir(exist_ok=True)
    (OUT / "results-build.json").write_text(json.dumps({"sets": rows, "totals": totals}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
