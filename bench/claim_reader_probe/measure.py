"""CPU seconds and Python opcodes per claim of the walk (document.walk) and of the probe
(probe.Reader(...).claims()) over one file, each handing every claim to a consumer that drops it.

    python bench/claim_reader_probe/measure.py cpu FILE [N]      # best of N, rounds interleaved
    python bench/claim_reader_probe/measure.py floor FILE [N]    # the floors (floor_read, floor_objects)
    python bench/claim_reader_probe/measure.py opcodes FILE      # traced (about 15x slower: 5k file)
    python bench/claim_reader_probe/measure.py callgrind walk|probe FILE   # under valgrind, README

Each run starts with fresh memos (a new _Walk / Reader), the process-wide date memo warm after
the first round, as bench/opcodes.py. The walk does more than the probe gives: envelope
problems, SE / GE / IEA counts, control characters, the spans and the state a re-walk needs
(incremental.py); `walk` below is document.walk whole, `walk (claims only)` is _Walk.run alone.
"""

import functools
import re
from itertools import repeat
import gc
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import opcodes  # noqa: E402  (bench/opcodes.py)
from probe import Reader  # noqa: E402

from medcode.server.x12 import document  # noqa: E402
from medcode.server.x12.delimiters import detect  # noqa: E402
from medcode.server.x12.document import Claim, Line  # noqa: E402


def run_walk(text: str) -> None:
    document.walk(text, lambda c, k: None)


def run_walk_only(text: str) -> None:
    d = detect(text).delimiters
    document._Walk(text, d, [], lambda c, k: None, keep_claims=False).run()


def run_probe(text: str) -> None:
    for _ in Reader(text).claims():
        pass


def run_probe_loop(text: str) -> None:
    for _ in Reader(text, batch=False).claims():
        pass


def floor_read(text: str) -> None:
    """What any claim-at-a-time reader pays to see its claims' segments: the bounds regex, and
    per claim one slice and one str.split (no ids, no offsets, no objects made)."""
    r = Reader(text)
    ms = list(r.bounds.finditer(text, r.d.start, r.end))
    starts = list(map(re.Match.start, ms, repeat(1)))
    sep = r.sep
    for s, e in zip(starts, starts[1:]):
        text[s:e].split(sep)


def floor_objects(claims: list) -> None:
    """What making the walk's outputs costs in Python, given their parts: per claim a Claim,
    its Lines and its code tuples (each a new tuple, as a reader must make with new offsets)."""
    for c, codes in claims:
        new = Claim(c.id, c.start, c.end, c.transaction, c.statement_from, c.admission, [Line(ln.number, ln.start, ln.date, ln.units) for ln in c.lines], c.diagnoses)
        [(line, [(e, x, p + 0, q, qs, pl, dx) for e, x, p, q, qs, pl, dx in found]) for line, found in codes]
        new.birth, new.sex = c.birth, c.sex


WORK = {"walk": run_walk, "walk (claims only)": run_walk_only, "probe (columns)": run_probe, "probe (loop)": run_probe_loop}


def traced(work, text) -> Counter:
    """Opcodes run by work(text), by file (bench/opcodes.py's tracer)."""
    return opcodes.traced(lambda: work(text))


def main() -> None:
    what, path = sys.argv[1], Path(sys.argv[2] if sys.argv[1] != "callgrind" else sys.argv[3])
    text = path.read_text()
    size = len(text.encode())
    claims = text.count("CLM*")
    if what == "callgrind":
        work = WORK[sys.argv[2]]
        work(text)
        gc.collect()
        functools.reduce(lambda a, b: work(text), [0, 1])
        return
    if what == "opcodes":
        for name, work in WORK.items():
            work(text)
            counts = traced(work, text)
            total = sum(counts.values())
            top = ", ".join(f"{Path(f).name} {n / claims:,.0f}" for f, n in counts.most_common(4))
            print(f"{name:<20} {total / claims:>7,.0f} opcodes a claim ({top})")
        return
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    if what == "floor":
        claims_out = list(Reader(text).claims())
        for name, work in (("read floor", floor_read), ("objects floor", lambda t: floor_objects(claims_out))):
            times = []
            for _ in range(n):
                gc.collect()
                c0 = time.process_time()
                work(text)
                times.append(time.process_time() - c0)
            best = min(times)
            print(f"  {name:<20} best of {n} {best:.3f} s, {best / claims * 1e6:.1f} µs a claim")
        return
    cpu: dict[str, list[float]] = {k: [] for k in WORK}
    for name, work in WORK.items():
        work(text)
    for _ in range(n):
        for name, work in WORK.items():
            gc.collect()
            c0 = time.process_time()
            work(text)
            cpu[name].append(time.process_time() - c0)
    print(f"{path.name}: {size / 1e6:.1f} MB, {claims:,} claims")
    for name, times in cpu.items():
        best = min(times)
        print(f"  {name:<20} best of {n} {best:.3f} s = {size / 1e6 / best:5.1f} MB/s, {best / claims * 1e6:.1f} µs a claim ({', '.join(f'{c:.2f}' for c in times)})")


if __name__ == "__main__":
    main()
