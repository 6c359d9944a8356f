"""Benchmark for `medcode check -j N` over a folder of 200 claim files.

Writes 200 837P files with gen_837.py into bench/out/claims-200x250/: the 50,000 claims of
bench_x12's file, 250 to an interchange (about 190 KB each), so the files draw on the same
5,000 diagnosis codes as a practice's daily batches do. It then runs `medcode check --format
json FOLDER` in a fresh process with `-j 1` and `-j 2` in interleaved pairs, and prints for each
run its wall-clock, its CPU seconds (user + sys of the process and its workers) and the load
average at its start and end; for `-j 2` also each process's CPU and the code facts it worked
out and took in from the other, and its timeline: when its last file ended after the fork and
how long the run's process waited for the others' outcomes (MEDCODE_CHECK_STATS,
check_pool._report). The figure is the
median of the pairs' speed-ups, with their spread, against the budget (at least 1.7x on 2
cores); beside it the speed-up the CPU seconds give on idle cores (-j 1 CPU over the -j 2 run's
critical path), which other users' load hardly moves. It also checks that every run prints
the same bytes and exits with the same status. A script, not a test: nothing here asserts a
timing. Results go to bench/out/results-check-parallel.json.

The runs read medcode's modules as compiled bytecode, as an installed medcode does (pip writes
it at install): with PYTHONDONTWRITEBYTECODE set, as on the shared development machine, every
run would compile them again (about 0.2 s CPU before any file, in -j 1 and -j N alike, where
-j N cannot share it out), so the bench gives its runs a bytecode cache of their own in
bench/out/pycache, filled by one untimed run. --no-bytecode measures the compiling too.

    python bench/bench_check_parallel.py [--files 200] [--claims 250] [--pairs 5] [--jobs 2] [--unshared] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass
class Run:
    jobs: int
    wall: float  # s
    cpu: float  # s, user + sys of the process and its workers
    load: tuple[float, float]  # 1-minute load average at its start and end
    code: int
    out: bytes
    err: bytes
    processes: list[dict]  # one line per process of a -j N run (check_pool._report)

    def summary(self) -> dict:
        return {
            "wall_s": round(self.wall, 3),
            "cpu_s": round(self.cpu, 3),
            "load_average": [round(x, 2) for x in self.load],
            "processes": self.processes,
        }


# The runs' environment besides the stats and sharing switches (main: the bytecode cache).
ENV: dict[str, str] = dict(os.environ)


def use_bytecode_cache() -> None:
    """The runs write and read medcode's bytecode in a cache of the bench's own."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str((OUT / "pycache").resolve())


def run_check(folder: Path, jobs: int, share: bool = True) -> Run:
    """One `medcode check -j jobs` in a fresh process, with what each of its processes reports;
    share=False: its processes do not send each other the codes they work out."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.jsonl"
        env = {**ENV, "MEDCODE_CHECK_STATS": str(stats), "MEDCODE_CHECK_SHARE": "1" if share else "0"}
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "medcode.server", "check", "-j", str(jobs), "--format", "json", str(folder)],
            capture_output=True,
            env=env,
        )
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        processes = [json.loads(line) for line in stats.read_text().splitlines()] if stats.exists() else []
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(jobs, wall, cpu, (load, os.getloadavg()[0]), done.returncode, done.stdout, done.stderr, processes)


def tail(run: Run) -> float | None:
    """The CPU seconds of a -j N run after its processes reported (they report as the pool
    closes): the run's process printing the findings and ending (and the workers' exits, which
    the kernel charges to them after their report). -j 1 pays the printing and ending too."""
    if not run.processes:
        return None
    return max(0.0, run.cpu - sum(p["cpu_s"] for p in run.processes))


def critical_path(run: Run) -> float | None:
    """The CPU seconds on the longest path of a -j N run: the run's process until it forked,
    then the busiest of the processes (a worker's CPU counts from its fork), then the run's
    process's tail (printing, ending). On idle cores this is about its wall-clock; unlike
    wall-clock it hardly moves with other users' load."""
    parent = next((p for p in run.processes if p["role"] == "parent"), None)
    workers = [p["cpu_s"] for p in run.processes if p["role"] == "worker"]
    if parent is None or not workers:
        return None
    return max(parent["cpu_s"], parent["cpu_at_fork_s"] + max(workers)) + (tail(run) or 0.0)


def _timeline(process: dict) -> str:
    """When the process's last file ended and when it ended (wall seconds after the fork), and
    how long it waited for the others' outcomes: a process that idles or waits while the other
    still checks shows here, which CPU seconds alone do not tell."""
    if "last_file_end_s" not in process:
        return ""
    line = f"; last file done {process['last_file_end_s']:.2f} s after the fork, ended {process['ended_s']:.2f} s"
    return line + (f", waited {process['waited_s']:.2f} s for outcomes" if process["role"] == "parent" else "")


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}x (min {min(values):.2f}x, max {max(values):.2f}x)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--claims", type=int, default=250, help="claims per file")
    ap.add_argument("--pairs", type=int, default=5, help="interleaved -j 1 / -j N pairs")
    ap.add_argument("--jobs", type=int, default=2, help="the -j compared with -j 1")
    ap.add_argument("--unshared", action="store_true",
                    help="also run -j N in each pair with MEDCODE_CHECK_SHARE=0 (each process works out every code itself)")
    ap.add_argument("--no-bytecode", dest="bytecode", action="store_false",
                    help="run with the environment as it is (PYTHONDONTWRITEBYTECODE: every run compiles medcode's modules)")
    args = ap.parse_args()
    folder = OUT / f"claims-{args.files}x{args.claims}"
    size = write_folder(folder, args.files, args.claims)
    if args.bytecode:
        use_bytecode_cache()
        run_check(folder, args.jobs)  # untimed: fills the bytecode cache (the pool's modules too)
    bytecode = "read from bench/out/pycache" if args.bytecode else (
        "compiled in every run" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "as the environment has it")
    load_start = os.getloadavg()
    print(f"{folder}: {args.files} files, {size / 1e6:.1f} MB; load average {load_start[0]:.1f} {load_start[1]:.1f} "
          f"{load_start[2]:.1f}, {os.cpu_count()} cores; medcode's bytecode {bytecode}")
    # The machine may be shared: every run is printed with the load average at its start and
    # end. Runs come in pairs, -j 1 and -j N back to back (in turn first, so a load that rises
    # or falls through the bench does not favour either), and the pair's ratio is the figure:
    # the two runs of a pair see about the same load, two best runs may not.
    pairs: list[tuple[Run, Run]] = []
    unshared: list[tuple[Run, Run]] = []  # (the pair's -j 1, -j N without sharing)
    for i in range(args.pairs):
        order: list = [1, args.jobs] if i % 2 == 0 else [args.jobs, 1]
        if args.unshared:
            order.insert(1, "unshared")
        got = {}
        for jobs in order:
            share = jobs != "unshared"
            run = got[jobs] = run_check(folder, args.jobs if not share else jobs, share)
            label = f"-j {run.jobs}" + ("" if share else " unshared")
            line = f"  {label}: wall {run.wall:.2f} s, CPU {run.cpu:.2f} s, exit {run.code}, load average {run.load[0]:.1f} -> {run.load[1]:.1f}"
            path = critical_path(run)
            if path is not None:
                procs = ", ".join(f"{p['role']} {p['cpu_s']:.2f} s ({p['files']} files, {p['worked_out']} code entries worked out, {p['taken']} taken in{_timeline(p)})" for p in run.processes)
                parent = next(p for p in run.processes if p["role"] == "parent")
                line += (f"; CPU by process: {procs}; before the fork {parent['cpu_at_fork_s']:.2f} s, after the reports "
                         f"{tail(run):.2f} s; critical path {path:.2f} s")
            print(line, flush=True)
        pairs.append((got[1], got[args.jobs]))
        if args.unshared:
            unshared.append((got[1], got["unshared"]))
    load_end = os.getloadavg()
    first = pairs[0][0]
    same = all((r.code, r.out, r.err) == (first.code, first.out, first.err) for pair in pairs + unshared for r in pair)
    walls = [a.wall / b.wall for a, b in pairs]
    cpus = [b.cpu / a.cpu for a, b in pairs]
    paths = [(a.cpu, critical_path(b)) for a, b in pairs]
    estimates = [cpu / path for cpu, path in paths if path]
    best = {1: min(a.wall for a, _ in pairs), args.jobs: min(b.wall for _, b in pairs)}
    speedup = statistics.median(walls)
    results = {
        "files": args.files,
        "bytes": size,
        "jobs": args.jobs,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "pairs": [{"-j 1": a.summary(), f"-j {args.jobs}": b.summary(), "speedup": round(a.wall / b.wall, 3)} for a, b in pairs],
        "pair_speedups": [round(w, 3) for w in walls],
        "speedup_median": round(speedup, 3),
        "speedup_min": round(min(walls), 3),
        "speedup_max": round(max(walls), 3),
        "best_wall_s": {f"-j {j}": round(w, 3) for j, w in best.items()},
        "speedup_best_vs_best": round(best[1] / best[args.jobs], 3),
        "cpu_ratio": [round(c, 3) for c in cpus],
        "speedup_cpu_estimate": [round(e, 3) for e in estimates],
        "unshared": [
            {"-j 1": a.summary(), f"-j {args.jobs}": b.summary(), "speedup": round(a.wall / b.wall, 3),
             "speedup_cpu_estimate": round(a.cpu / critical_path(b), 3) if critical_path(b) else None}
            for a, b in unshared
        ],
        "bytecode": args.bytecode,
        "budget": BUDGET,
        "ratio_to_budget": round(speedup / BUDGET, 3),
        "same_output": same,
    }
    print(f"load average at start {load_start[0]:.1f}, at end {load_end[0]:.1f}")
    print(f"speed-up of each pair (-j 1 wall / -j {args.jobs} wall): {', '.join(f'{w:.2f}x' for w in walls)}: {spread(walls)}")
    print(f"best vs best: -j 1 {best[1]:.2f} s ({size / 1e6 / best[1]:.1f} MB/s), -j {args.jobs} {best[args.jobs]:.2f} s "
          f"({size / 1e6 / best[args.jobs]:.1f} MB/s): {best[1] / best[args.jobs]:.2f}x")
    print(f"CPU of -j {args.jobs} over -j 1 (work done twice and the pool's own): {spread(cpus)}")
    if estimates:
        print(f"speed-up on idle cores, from CPU (-j 1 CPU / -j {args.jobs} critical path): {spread(estimates)}")
    if unshared:
        print(f"without sharing: speed-up of each pair {spread([a.wall / b.wall for a, b in unshared])}; CPU over -j 1 "
              f"{spread([b.cpu / a.cpu for a, b in unshared])}; on idle cores, from CPU "
              f"{spread([a.cpu / p for a, b in unshared if (p := critical_path(b))])}")
    print(f"speed-up -j {args.jobs} over -j 1: {speedup:.2f}x, median of {len(walls)} pairs (budget >= {BUDGET}x: ratio "
          f"{speedup / BUDGET:.2f}); identical output and exit status in every run: {same}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-check-parallel.json").write_text(json.dumps(results, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
