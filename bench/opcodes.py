"""Python opcodes per claim of a cold X12 check, by part, with and without the claim edits:
figures the machine's load does not move (issues 12 and 14), not a test.

    python bench/opcodes.py --file bench/out/claims-5k.837     # gen_837.py --claims 5000

Each figure is of one cold check by a fresh DocumentChecker after an untimed one (the
process-wide memos warm, as bench_x12.py's "check cold"), traced opcode by opcode
(sys.settrace with f_trace_opcodes: about 15x slower, so use the 5k file). Opcodes are counted
by the file of the code that runs them and summed into parts (PARTS). The untraced check's CPU
divided by its opcodes gives this machine's nanoseconds per opcode, and with it what a budget in
MB/s leaves per claim.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections import Counter
from pathlib import Path

# Part of a check -> the path fragments of the files whose opcodes count for it (first match).
PARTS = {
    "walk": ("server/x12/document.py", "server/x12/slots.py", "server/x12/delimiters.py", "server/x12/segments.py", "server/x12/incremental.py"),
    "claim edits": ("server/claim_edits/",),
    "code rules": ("server/x12/rules.py", "server/code_rules.py", "server/verdicts.py", "index_builder/"),
    "claim layer": ("server/claims/",),
}


def part_of(filename: str) -> str:
    path = filename.replace("\\", "/")
    for part, fragments in PARTS.items():
        if any(f in path for f in fragments):
            return part
    return "rest"


def traced(check) -> Counter:
    """Opcodes run by check(), by file."""
    counts: Counter = Counter()

    def local(frame, event, arg):
        if event == "opcode":
            counts[frame.f_code.co_filename] += 1
        return local

    def first(frame, event, arg):
        frame.f_trace_opcodes = True
        return local

    gc.collect()
    sys.settrace(first)
    try:
        check()
    finally:
        sys.settrace(None)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, required=True, help="an 837 file (gen_837.py)")
    ap.add_argument("--index-dir", type=Path, help="an index folder (default: MEDCODE_INDEX_DIR or the user's)")
    ap.add_argument("--budget", type=float, default=30.0, help="MB/s to set the opcodes against (default 30)")
    args = ap.parse_args()

    from medcode.index_builder.location import index_dir
    from medcode.index_builder.reader import IndexStore
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    store = IndexStore(args.index_dir or index_dir())
    text = args.file.read_text()
    size = len(text.encode())

    def checker(edits: bool) -> DocumentChecker:
        c = DocumentChecker(Verdicts(store))
        if not edits:
            c.rules.claim_edits = c.document_rules.claim_edits = None
        return c

    claims = 0
    by_part: dict[bool, Counter] = {}
    cpu: dict[bool, float] = {}
    for edits in (True, False):
        checker(edits).check(text)  # the process-wide memos, as bench_x12.py's untimed run
        c = checker(edits)
        gc.collect()
        t0 = time.process_time()
        analysis = c.check(text)
        cpu[edits] = time.process_time() - t0
        claims = len(analysis.x12.claims) if analysis.x12 is not None else 0
        counts = traced(lambda: checker(edits).check(text))
        by_part[edits] = Counter()
        for filename, n in counts.items():
            by_part[edits][part_of(filename)] += n
    if not claims:
        sys.exit(f"{args.file}: no claims")

    print(f"{args.file.name}: {size / 1e6:.1f} MB, {claims:,} claims, {size / claims:.0f} bytes a claim")
    print(f"{'opcodes per claim':<22}{'edits on':>10}{'edits off':>11}")
    for part in (*PARTS, "rest"):
        print(f"  {part:<20}{by_part[True][part] / claims:>10,.0f}{by_part[False][part] / claims:>11,.0f}")
    on, off = sum(by_part[True].values()), sum(by_part[False].values())
    print(f"  {'total':<20}{on / claims:>10,.0f}{off / claims:>11,.0f}   (edits: +{(on / off - 1) * 100:.1f}%)")
    ns = cpu[True] / on * 1e9
    allowed = size / claims / (args.budget * 1e6) * 1e9  # ns a claim at the budget
    print(f"untraced cold check CPU: {cpu[True]:.2f} s with edits, {cpu[False]:.2f} s without (+{(cpu[True] / cpu[False] - 1) * 100:.0f}%): "
          f"{ns:.0f} ns an opcode with edits, {cpu[False] / off * 1e9:.0f} without")
    print(f"{args.budget:g} MB/s leaves {allowed / 1000:.1f} µs a claim: {allowed / ns:,.0f} opcodes at {ns:.0f} ns "
          f"(the check runs {on / claims:,.0f}; the walk alone {by_part[True]['walk'] / claims:,.0f})")


if __name__ == "__main__":
    main()
