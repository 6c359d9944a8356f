"""Hostile shapes: very wide CSV header rows and large price-transparency JSON.

Prints CPU time for checking CSVs whose header row holds tens of thousands of cells, and the
peak memory (RSS) of checking a generated price-transparency JSON in a fresh process, next
to its size. A script, not a test: nothing here asserts a timing.

    python bench/bench_hostile.py [--json-mb 25] [--header-mb 1]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
_HPT_TOP = "hospital_name,last_updated_on,version\nGeneral,2025-01-01,3.0.0\n"


def wide_headers(megabytes: float) -> dict[str, str]:
    """Documents whose header row is about `megabytes` long, in a few hostile shapes."""
    size = int(megabytes * 1_000_000)

    def row(make) -> list[str]:
        out, n = [], 0
        while n < size:
            cell = make(len(out))
            out.append(cell)
            n += len(cell) + 1
        return out

    payers = row(lambda i: f"standard_charge|payer {i}|plan|negotiated_dollar")
    short = row(lambda i: f"c{i}")
    blank = row(lambda i: "")
    return {
        "hpt, payer headers": _HPT_TOP + ",".join(["description", "code|1", "code|1|type", *payers]) + "\nx,99213,CPT\n",
        "hpt, short headers": _HPT_TOP + ",".join(["description", "code|1", "code|1|type", *short]) + "\nx,99213,CPT\n",
        "hpt, blank headers": _HPT_TOP + ",".join(["description", "code|1", "code|1|type", *blank]) + "\nx,99213,CPT\n",
        "chargemaster, short headers": ",".join(["CPT", *short]) + "\n99213\n",
    }


def bench_wide(megabytes: float) -> dict:
    from medcode.index_builder.location import index_dir
    from medcode.index_builder.reader import IndexStore
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    store = IndexStore(index_dir())
    results = {}
    for name, text in wide_headers(megabytes).items():
        header = text.split("\n")[2 if name.startswith("hpt") else 0]
        t = time.process_time()
        analysis = DocumentChecker(Verdicts(store)).check(text, name="wide.csv")
        cpu = time.process_time() - t
        results[name] = {"header_bytes": len(header), "cells": header.count(",") + 1, "cpu_s": round(cpu, 3), "kind": analysis.kind}
        print(f"  {name}: header {len(header) / 1e6:.2f} MB, {header.count(',') + 1:,} cells: {cpu:.3f} s CPU ({analysis.kind})")
    return results


def hpt_json(megabytes: float, seed: int = 3, dense: bool = False) -> str:
    """A v3.0 price-transparency JSON of about `megabytes`, items shaped like the CMS example
    (dense: minified, one charge each, so nearly every byte is a code entry)."""
    rng = random.Random(seed)
    codes = [("CPT", "70551"), ("HCPCS", "J1100"), ("RC", "0611"), ("MS-DRG", "470"), ("NDC", "0002-8215-01")]
    items = []
    size = 0
    while size < megabytes * 1_000_000:
        kind, code = rng.choice(codes)
        item = {
            "description": f"item {len(items)}",
            "code_information": [{"code": code, "type": kind}, {"code": str(rng.randrange(100, 999)), "type": "RC"}],
            "standard_charges": [
                {
                    "setting": "outpatient",
                    "minimum": rng.randrange(100, 500),
                    "maximum": rng.randrange(500, 900),
                    "gross_charge": rng.randrange(900, 2000),
                    "payers_information": [
                        {"payer_name": f"Payer {p}", "plan_name": "PPO", "standard_charge_dollar": rng.randrange(100, 900), "methodology": "fee schedule"}
                        for p in range(4)
                    ],
                }
            ],
        }
        if dense:
            item["standard_charges"] = [{"setting": "both", "gross_charge": rng.randrange(900, 2000)}]
            item["code_information"].append({"code": "E11.9", "type": "ICD"})
        text = json.dumps(item, separators=(",", ":")) if dense else json.dumps(item, indent=2)
        items.append(text)
        size += len(text) + 2
    head = {"hospital_name": "General", "last_updated_on": "2025-01-01", "version": "3.0.0"}
    return json.dumps(head, indent=2)[:-2] + ',\n  "standard_charge_information": [\n' + ",\n".join(items) + "\n]\n}\n"


def _hwm_kb() -> int:
    """Peak RSS of this process (VmHWM; ru_maxrss would carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure_json(path: str) -> None:
    """In a fresh process: check the file as `medcode check` does, print peak RSS as JSON."""
    from medcode.index_builder.location import index_dir
    from medcode.index_builder.reader import IndexStore
    from medcode.server.check import check_paths

    before = _hwm_kb()
    t = time.process_time()
    report, _ = check_paths([path], IndexStore(index_dir()))
    cpu = time.process_time() - t
    peak = _hwm_kb()
    print(json.dumps({"rss_before_mb": round(before / 1024, 1), "peak_rss_mb": round(peak / 1024, 1), "cpu_s": round(cpu, 2), "findings": report.findings}))


def bench_json(megabytes: float, dense: bool) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"hpt-{megabytes:g}mb{'-dense' if dense else ''}_standardcharges.json"
    if not path.exists():
        path.write_text(hpt_json(megabytes, dense=dense))
    size = path.stat().st_size
    run = subprocess.run([sys.executable, __file__, "--measure-json", str(path)], capture_output=True, text=True, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["file_mb"] = round(size / 1e6, 1)
    grown = result["peak_rss_mb"] - result["rss_before_mb"]
    print(f"  {path.name}: {size / 1e6:.1f} MB; peak RSS {result['peak_rss_mb']} MB "
          f"(+{grown:.0f} MB over the {result['rss_before_mb']} MB before reading: {grown / (size / 1e6):.1f}x the file); "
          f"{result['cpu_s']} s CPU, {result['findings']:,} findings")
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json-mb", type=float, default=25)
    ap.add_argument("--header-mb", type=float, default=1)
    ap.add_argument("--measure-json", help=argparse.SUPPRESS)
    ap.add_argument("--json-only", action="store_true", help="skip the wide header rows")
    args = ap.parse_args()
    if args.measure_json:
        _measure_json(args.measure_json)
        return 0
    results: dict = {}
    if not args.json_only:
        print(f"wide header rows (~{args.header_mb} MB):")
        results["wide_headers"] = bench_wide(args.header_mb)
    print(f"price-transparency JSON (~{args.json_mb} MB):")
    results["json"] = bench_json(args.json_mb, dense=False)
    results["json_dense"] = bench_json(args.json_mb, dense=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-hostile.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
