"""Benchmark for `medcode check -j N` over a folder of 200 claim files.

Writes 200 837P files with gen_837.py into bench/out/claims-200x250/: the 50,000 claims of
bench_x12's file, 250 to an interchange (about 190 KB each), so the files draw on the same
5,000 diagnosis codes as a practice's daily batches do. It then runs `medcode check --format
json FOLDER` in a fresh process with `-j 1` and `-j 2`, interleaved, best of N, and prints wall-clock and CPU seconds (user + sys of
the process and its workers) and the speed-up against the budget (at least 1.7x on 2 cores).
It also checks that both print the same bytes and exit with the same status. A script, not a
test: nothing here asserts a timing. Results go to bench/out/results-check-parallel.json.

    python bench/bench_check_parallel.py [--files 200] [--claims 250] [--repeats 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gen_837 import generate_batches  # noqa: E402

OUT = Path(__file__).parent / "out"
BUDGET = 1.7


def write_folder(folder: Path, files: int, claims: int) -> int:
    paths = [folder / f"claims-{i:03d}.837" for i in range(1, files + 1)]
    if not all(p.exists() for p in paths):
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in zip(paths, generate_batches(files, claims)):
            path.write_text(text)
    return sum(p.stat().st_size for p in paths)


def run_check(folder: Path, jobs: int) -> tuple[float, float, int, bytes, bytes]:
    """(wall s, CPU s of the process and its workers, exit status, stdout, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "medcode.server", "check", "-j", str(jobs), "--format", "json", str(folder)],
        capture_output=True,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode, done.stdout, done.stderr


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--claims", type=int, default=250, help="claims per file")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="the -j compared with -j 1")
    args = ap.parse_args()
    folder = OUT / f"claims-{args.files}x{args.claims}"
    size = write_folder(folder, args.files, args.claims)
    print(f"{folder}: {args.files} files, {size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} cores")
    # The machine may be shared: each run is printed with the load average it started under,
    # and the ratio is only worth reading from runs that started on idle cores.
    runs: dict[int, list[tuple[float, float, float]]] = {1: [], args.jobs: []}
    outputs = {}
    for _ in range(args.repeats):
        for jobs in runs:
            load = os.getloadavg()[0]
            wall, cpu, code, out, err = run_check(folder, jobs)
            runs[jobs].append((wall, cpu, load))
            outputs[jobs] = (code, out, err)
            print(f"  -j {jobs}: wall {wall:.2f} s, CPU {cpu:.2f} s, exit {code}, load average {load:.1f}", flush=True)
    same = outputs[1] == outputs[args.jobs]
    best = {jobs: min(r) for jobs, r in runs.items()}
    speedup = best[1][0] / best[args.jobs][0]
    # Each -j 1 run against the -j N run right after it: under a changing load a pair says more
    # than the two best runs, which may come from different minutes.
    pairs = [a[0] / b[0] for a, b in zip(runs[1], runs[args.jobs])]
    results = {
        "files": args.files,
        "bytes": size,
        "load_average_end": os.getloadavg()[0],
        "runs": {f"-j {j}": [{"wall_s": round(w, 3), "cpu_s": round(c, 3), "load_average": round(la, 2)} for w, c, la in r] for j, r in runs.items()},
        "best_wall_s": {f"-j {j}": round(b[0], 3) for j, b in best.items()},
        "speedup": round(speedup, 2),
        "pair_speedups": [round(p, 2) for p in pairs],
        "budget": BUDGET,
        "ratio_to_budget": round(speedup / BUDGET, 2),
        "same_output": same,
    }
    for jobs, (wall, cpu, _) in best.items():
        print(f"-j {jobs}: best wall {wall:.2f} s ({size / 1e6 / wall:.1f} MB/s), CPU {cpu:.2f} s")
    print(f"speed-up of each pair (-j 1 run / the -j {args.jobs} run after it): {', '.join(f'{p:.2f}x' for p in pairs)}")
    print(f"speed-up -j {args.jobs} over -j 1: {speedup:.2f}x (budget >= {BUDGET}x: ratio {speedup / BUDGET:.2f}); "
          f"identical output and exit status: {same}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-check-parallel.json").write_text(json.dumps(results, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
