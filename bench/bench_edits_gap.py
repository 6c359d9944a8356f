"""Why the claim edits cost more CPU than their instructions (issue 12): figures, not a test.

    python bench/bench_edits_gap.py --file bench/out/claims-5k.837 [--rounds 7]   # gen_837.py --claims 5000

Every figure is of a cold check by a fresh DocumentChecker over one open index, after two
untimed checks (the third checker of a process: the process-wide memos of the edits, their gates,
tabular notes and MCE rows, are warm), as bench_x12.py's edits_share.

1. on / off: CPU (user, system), minor page faults, garbage collections, blocks still allocated
   and findings, with the claim edits and without them (medians of interleaved runs);
2. repeat: each claim's edits run three times in a row (thread CPU time of each run, summed over
   the claims): the same instructions, the second and third time on warm caches and predictors;
3. replay: the recorded calls of a check replayed alone, one claim after another, with no other
   rule's work between two claims;
4. findings: the time of the claim totals (every finding copied to its place) and the sort of the
   findings, on and off: the share of the extra findings themselves.

Instructions, cache misses and mispredictions: run one check under cachegrind, warmed as above,
with `--driver on|off|none` (one process each; the difference on - off is the edits', off - none
the rest of the check):

    valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes --LL=524288,8,64 \
        python bench/bench_edits_gap.py --file F --driver on
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from pathlib import Path


def checker_factory(store):
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    def make(edits: bool):
        checker = DocumentChecker(Verdicts(store))
        if not edits:
            checker.rules.claim_edits = checker.document_rules.claim_edits = None
        return checker

    return make


def on_off(make, text: str, rounds: int) -> dict:
    def one(edits: bool) -> dict:
        gc.collect()
        checker = make(edits)
        r0, b0 = resource.getrusage(resource.RUSAGE_SELF), sys.getallocatedblocks()
        g0 = [s["collections"] for s in gc.get_stats()]
        found = len(checker.check(text).findings)
        r1, b1 = resource.getrusage(resource.RUSAGE_SELF), sys.getallocatedblocks()
        g1 = [s["collections"] for s in gc.get_stats()]
        return {
            "user_s": r1.ru_utime - r0.ru_utime, "sys_s": r1.ru_stime - r0.ru_stime, "minflt": r1.ru_minflt - r0.ru_minflt,
            "gc_collections": sum(g1) - sum(g0), "blocks_kept": b1 - b0, "findings": found,
        }

    runs: dict[bool, list[dict]] = {True: [], False: []}
    for r in range(rounds):
        for edits in (False, True) if r % 2 == 0 else (True, False):
            runs[edits].append(one(edits))
    return {("on" if e else "off"): {k: statistics.median(x[k] for x in xs) for k in xs[0]} for e, xs in runs.items()}


def repeat(make, text: str, rounds: int) -> list[float]:
    from medcode.server.claim_edits import ClaimEdits

    orig, clock, spent = ClaimEdits.for_x12, time.thread_time, [0.0, 0.0, 0.0]

    def thrice(self, *a):
        t0 = clock()
        found = orig(self, *a)
        t1 = clock()
        orig(self, *a)
        t2 = clock()
        orig(self, *a)
        t3 = clock()
        spent[0] += t1 - t0
        spent[1] += t2 - t1
        spent[2] += t3 - t2
        return found

    ClaimEdits.for_x12 = thrice
    try:
        out = []
        for _ in range(rounds):
            spent[:] = [0.0, 0.0, 0.0]
            gc.collect()
            make(True).check(text)
            out.append(list(spent))
    finally:
        ClaimEdits.for_x12 = orig
    return [statistics.median(x[i] for x in out) for i in range(3)]


def replay(make, text: str, rounds: int) -> tuple[int, float, float]:
    from medcode.server.claim_edits import ClaimEdits

    orig, clock, calls, inline = ClaimEdits.for_x12, time.thread_time, [], [0.0]

    def recorded(self, *a):
        t0 = clock()
        found = orig(self, *a)
        inline[0] += clock() - t0
        calls.append((self, a))
        return found

    ClaimEdits.for_x12 = recorded
    try:
        alone, within = [], []
        for _ in range(rounds):
            calls.clear()
            inline[0] = 0.0
            gc.collect()
            make(True).check(text)
            within.append(inline[0])
            gc.disable()
            t0 = time.process_time()
            for self, a in calls:
                orig(self, *a)
            alone.append(time.process_time() - t0)
            gc.enable()
    finally:
        ClaimEdits.for_x12 = orig
    return len(calls), statistics.median(within), statistics.median(alone)


def findings_cost(make, text: str, rounds: int) -> dict:
    from medcode.server import analysis

    spent: dict[str, float] = {}

    def timed(name, fn):
        def run(*a, **k):
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - t0

        return run

    of, findings = analysis._ClaimTotals.of, analysis.DocumentChecker._findings
    analysis._ClaimTotals.of = classmethod(timed("totals_s", of.__func__))
    analysis.DocumentChecker._findings = timed("findings_sort_s", findings)
    try:
        out: dict[bool, list[dict]] = {True: [], False: []}
        for r in range(rounds):
            for edits in (False, True) if r % 2 == 0 else (True, False):
                spent.clear()
                gc.collect()
                make(edits).check(text)
                out[edits].append(dict(spent))
    finally:
        analysis._ClaimTotals.of, analysis.DocumentChecker._findings = of, findings
    return {("on" if e else "off"): {k: statistics.median(x[k] for x in xs) for k in xs[0]} for e, xs in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", required=True, type=Path, help="an 837 file (bench/gen_837.py)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--driver", choices=("on", "off", "none"), help="warm up, then one check (for cachegrind)")
    args = ap.parse_args()
    from medcode.index_builder.reader import IndexStore

    text = args.file.read_text()
    store = IndexStore(Path(os.environ["MEDCODE_INDEX_DIR"]))
    make = checker_factory(store)
    for edits in (True, False):  # the process-wide memos, as a long-running server has them
        make(edits).check(text)
    if args.driver is not None:
        if args.driver != "none":
            gc.collect()
            print(args.driver, len(make(args.driver == "on").check(text).findings), "findings", file=sys.stderr)
        return
    print(f"load before: {os.getloadavg()[0]:.1f}")
    res = on_off(make, text, args.rounds)
    for mode in ("off", "on"):
        print(mode, {k: round(v, 3) for k, v in res[mode].items()})
    print(f"edits' share of user CPU: {(res['on']['user_s'] / res['off']['user_s'] - 1) * 100:+.1f}%")
    first, second, third = repeat(make, text, args.rounds)
    print(f"each claim's edits run 3 times in a row: {first:.3f} s, {second:.3f} s, {third:.3f} s (thread CPU, summed over the claims)")
    n, within, alone = replay(make, text, args.rounds)
    print(f"{n} claims' edits: {within:.3f} s within the check (thread CPU per call), {alone:.3f} s replayed alone")
    cost = findings_cost(make, text, args.rounds)
    for mode in ("off", "on"):
        print(mode, "placing the findings:", {k: round(v, 4) for k, v in cost[mode].items()})
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
