"""Benchmark for FHIR claims: an NDJSON bulk export and a Bundle built from the repository's
Blue Button 2.0 fixtures, checked in process, next to `json.loads` of the same text (the
floor any JSON reader with positions pays). A script, not a test: nothing here asserts a timing.

    python bench/bench_fhir.py [--resources 4000]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

from medcode.index_builder.gcpause import paused_gc
from medcode.index_builder.location import index_dir
from medcode.index_builder.reader import IndexStore
from medcode.server.analysis import DocumentChecker
from medcode.server.fhir import reader
from medcode.server.verdicts import Verdicts

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "fhir"


def resources() -> list[dict]:
    names = ("bb2-eob-carrier.json", "bb2-eob-inpatient.json", "eob-seeded-errors.json")
    return [json.loads((FIXTURES / n).read_text(encoding="utf-8")) for n in names]


def timed(label: str, size: int, fn) -> float:
    started = time.perf_counter()
    fn()
    took = time.perf_counter() - started
    print(f"{label:<28} {took:7.2f} s  {size / 1e6 / took:6.1f} MB/s")
    return took


def _paused(fn, *args, **kwargs):
    with paused_gc():
        return fn(*args, **kwargs)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--resources", type=int, default=4000)
    n = p.parse_args().resources
    pool = resources()
    ndjson = "".join(json.dumps(pool[i % len(pool)]) + "\n" for i in range(n))
    bundle = json.dumps({"resourceType": "Bundle", "entry": [{"resource": pool[i % len(pool)]} for i in range(n)]}, indent=2)
    checker = DocumentChecker(Verdicts(IndexStore(index_dir())))
    for name, text, fname in (("NDJSON", ndjson, "export.ndjson"), ("Bundle", bundle, "bundle.json")):
        print(f"{name}: {n} resources, {len(text) / 1e6:.1f} MB")
        timed("  json.loads (per line)" if name == "NDJSON" else "  json.loads", len(text),
              lambda t=text, nd=name == "NDJSON": [json.loads(line) for line in t.splitlines()] if nd else json.loads(t))
        # As the check reads (analysis.py): with the cyclic collector paused, which would
        # otherwise rescan the growing tree again and again (a 30 MB Bundle's read took about twice as long).
        timed("  fhir reader", len(text), lambda t=text, nd=name == "NDJSON": _paused(reader.read, t, ndjson=nd))
        timed("  check (reader + rules)", len(text), lambda t=text, f=fname: checker.check(t, name=f))
        tracemalloc.start()
        reader.read(text, ndjson=name == "NDJSON")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  reader peak allocation      {peak / 1e6:7.1f} MB ({peak / len(text):.1f}x the text)")


if __name__ == "__main__":
    main()
