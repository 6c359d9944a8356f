"""Benchmark of `medcode index build`: time and index size per embedded set.

Builds every embedded default into a fresh temporary folder (or --sets), and prints per set the
wall-clock time, the CPU time of this process (on a shared machine the wall clock also counts
other processes' turns), the number of releases and records, and the bytes on disk; then the
totals next to the budgets (whole build ≤ 10 s, NDC index ≤ 40 MB). Writes the figures to
bench/out/results-build.json. A script, not a test: nothing here asserts a timing.

    python bench/bench_build.py [--sets icd10cm icd10pcs hcpcs ndc] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from medcode.index_builder.build import EMBEDDED_SETS, build_defaults
from medcode.index_builder.codesets import NDC

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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", nargs="+", default=list(EMBEDDED_SETS), choices=EMBEDDED_SETS)
    p.add_argument("--keep", type=Path, help="build into this folder and keep it (default: a temporary one)")
    args = p.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="medcode-bench-build-"))
    rows = []
    try:
        total_wall, total_cpu = time.perf_counter(), time.process_time()
        for set_id in args.sets:
            wall, cpu = time.perf_counter(), time.process_time()
            built = build_defaults(root, (set_id,))
            rows.append({
                "set": set_id,
                "seconds": round(time.perf_counter() - wall, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "releases": [b.result.release for b in built],
                "records": sum(b.records for b in built),
                "bytes": folder_bytes(root / set_id),
            })
        totals = {
            "seconds": round(time.perf_counter() - total_wall, 2),
            "cpu_seconds": round(time.process_time() - total_cpu, 2),
            "bytes": sum(r["bytes"] for r in rows),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{'set':<9} {'wall s':>7} {'cpu s':>7} {'releases':>9} {'records':>10} {'MB':>8}")
    for r in rows:
        print(f"{r['set']:<9} {r['seconds']:>7.1f} {r['cpu_seconds']:>7.1f} {len(r['releases']):>9} {r['records']:>10,} {r['bytes'] / 1e6:>8.1f}")
    print(f"{'total':<9} {totals['seconds']:>7.1f} {totals['cpu_seconds']:>7.1f} {'':>9} {'':>10} {totals['bytes'] / 1e6:>8.1f}")
    print(f"budget: whole build {BUDGET_SECONDS:.0f} s (wall {totals['seconds'] / BUDGET_SECONDS:.1f}x, cpu {totals['cpu_seconds'] / BUDGET_SECONDS:.1f}x); "
          f"load average at the end {totals['load_average']:.1f}")
    ndc = next((r for r in rows if r["set"] == NDC), None)
    if ndc:
        print(f"budget: NDC index {BUDGET_NDC_BYTES / 1e6:.0f} MB ({ndc['bytes'] / BUDGET_NDC_BYTES:.1f}x)")
    OUT.mkdir(exist_ok=True)
    (OUT / "results-build.json").write_text(json.dumps({"sets": rows, "totals": totals}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
