"""NCCI edits: import time, index size, open time, and the check time they add on the
50,000-claim 837P of gen_837.py (budget: at most 15% more than without NCCI data).

    python bench/bench_ncci.py                 # synthetic PTP tables of 1.4 million pairs per setting
    MEDCODE_PYOCE=path/to/pyoce-0.1.0-py3-none-any.whl python bench/bench_ncci.py   # real pairs

The CMS NCCI files cannot be downloaded here, so the tables are written in the CMS layouts
(tests/ncci_files.py): with MEDCODE_PYOCE, the I/OCE's real outpatient hospital pairs
(1.59 million rows) serve as both the practitioner and the outpatient hospital table; without
it, as many synthetic pairs. MUE values are made up for every code in the pairs, add-on code
edits come from the I/OCE (or a few synthetic ones). Everything is written under bench/out/
(git-ignored). Figures go to bench/out/results-ncci.json. Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE.parent / "tests"))  # the CMS layouts and the pyoce reader live with the tests

from medcode.index_builder.location import index_dir  # noqa: E402

QUARTER_START = dt.date(2026, 4, 1)  # I/OCE 27.1; the 50k file's dates fall in 2026-01..06


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def synthetic_pairs(n: int, seed: int = 13) -> list[tuple[str, str, str, str, str]]:
    rng = random.Random(seed)
    codes = [f"{i:05d}" for i in range(10000, 99999, 7)] + [f"{c}{i:04d}" for c in "AGJ" for i in range(0, 9999, 9)]
    seen = set()
    out = []
    while len(out) < n:
        a, b = rng.choice(codes), rng.choice(codes)
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        dele = "*" if rng.random() < 0.88 else "20240101"
        out.append((a, b, rng.choice(["19960101", "20100101", "20200101"]), dele, "1" if rng.random() < 0.96 else "0"))
    return out


def write_files(folder: Path) -> tuple[list[Path], str]:
    from ncci_files import aoc_file, mue_file, ptp_text

    import pyoce_tables

    folder.mkdir(parents=True, exist_ok=True)
    mdb = pyoce_tables.find_mdb(OUT / "pyoce")
    if mdb is not None:
        tables = pyoce_tables.read(mdb)
        ptp, addon, source = tables.ptp, tables.addon, f"pyoce 0.1.0 I/OCE version {tables.version} (real outpatient hospital pairs)"
    else:
        ptp, addon, source = synthetic_pairs(1_594_456), [("99417", "99215", "1", "20230101", "")], "synthetic pairs"
    version = pyoce_tables.ptp_version(QUARTER_START)
    files = []
    for prefix in ("ccipra", "ccioph"):
        path = folder / f"{prefix}-v{version}r0-f1.txt"
        path.write_text(ptp_text(ptp))
        files.append(path)
    codes = sorted({c for row in ptp for c in row[:2]} | {"99213", "99214", "99215", "99203", "36415", "80053", "85025", "93000", "J1100", "J3301", "G0008", "A4253"})
    rng = random.Random(7)
    mue_rows = [(c, rng.choice([1, 1, 2, 3, 4, 10]), rng.choice("123")) for c in codes]
    for setting in ("practitioner", "outpatient", "dme"):
        files.append(mue_file(folder, setting, "04-01-2026", mue_rows))
    files.append(aoc_file(folder, "2026Q2", addon))
    return files, source


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def check_once(text: str, root: Path, no_claim_layer: bool = False) -> tuple[float, float, object]:
    """(wall s, CPU s, analysis) of one cold check with a fresh checker. CPU time is reported
    beside wall time: on a shared machine it is the steadier of the two."""
    from medcode.index_builder.reader import IndexStore
    from medcode.server.analysis import DocumentChecker
    from medcode.server.verdicts import Verdicts

    gc.collect()
    checker = DocumentChecker(Verdicts(IndexStore(root)))
    if no_claim_layer:
        checker.claim_layer.rules = []
    w0, c0 = time.perf_counter(), time.process_time()
    analysis = checker.check(text)
    return time.perf_counter() - w0, time.process_time() - c0, analysis


def layer_only(text: str, root: Path, repeats: int) -> float:
    """CPU seconds of the claim layer alone (building each claim and running the NCCI rules)
    over every claim of the file, best of `repeats`: the walk's output is collected first, so
    this is the layer's own share, steadier than a difference of two whole-check timings."""
    from medcode.index_builder.reader import IndexStore
    from medcode.server.claims.rules import ClaimLayer
    from medcode.server.claims.x12 import claim_from_x12
    from medcode.server.code_rules import Result
    from medcode.server.verdicts import Verdicts
    from medcode.server.x12.document import walk

    got: list = []
    walk(text, lambda claim, codes: got.append((claim, codes)))
    best = None
    for _ in range(repeats):
        layer = ClaimLayer(Verdicts(IndexStore(root)))
        gc.collect()
        c0 = time.process_time()
        for claim, codes in got:
            if claim.lines:
                layer.check(claim_from_x12(claim, codes, text), Result())
        took = time.process_time() - c0
        best = took if best is None else min(best, took)
    return best


def rule_counts(analysis) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in analysis.findings:
        out[f.rule] = out.get(f.rule, 0) + 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-dir", help="the folder with the embedded defaults (default: $MEDCODE_INDEX_DIR, else the user data directory)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--file", type=Path, default=OUT / "claims-50k.837")
    args = ap.parse_args()
    base = index_dir(args.index_dir)
    if not args.file.exists():
        say(f"generating {args.file} …")
        import subprocess

        subprocess.run([sys.executable, str(HERE / "gen_837.py"), "--out", str(args.file)], check=True, env={**os.environ, "MEDCODE_INDEX_DIR": str(base)})
    text = args.file.read_text()

    files, source = write_files(OUT / "ncci-files")
    say(f"NCCI files written from {source}: {sum(p.stat().st_size for p in files) / 1e6:.1f} MB")

    # Two index folders over the same defaults: without NCCI data, and with it.
    without = OUT / "idx-without-ncci"
    with_ncci = OUT / "idx-with-ncci"
    for root in (without, with_ncci):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        for set_dir in base.iterdir():
            if set_dir.is_dir() and not set_dir.name.startswith(".") and set_dir.name != "ncci":
                (root / set_dir.name).symlink_to(set_dir.resolve())

    from medcode.index_builder.build import import_ncci
    from medcode.index_builder.ncci_index import NcciRelease
    from medcode.index_builder.reader import Release

    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    (built,) = import_ncci(with_ncci, files)
    import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
    say(f"import: {import_s:.1f} s wall, {import_cpu:.1f} s CPU")

    t0 = time.perf_counter()
    rel = Release(built.path)
    view = NcciRelease(rel)
    view.ptp("practitioner", "99213", "36415")
    view.ptp("outpatient", "99213", "36415")
    view.mue("practitioner", "99213")
    open_ms = (time.perf_counter() - t0) * 1000

    # The three configurations interleaved, best of `repeats` each: the claim layer off (what
    # the check cost before NCCI), NCCI rules without data (the note only), NCCI rules with data.
    configs = {"layer_off": (with_ncci, True), "no_ncci_data": (without, False), "with_ncci": (with_ncci, False)}
    best: dict[str, tuple[float, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for _ in range(args.repeats):
        for name, (root, off) in configs.items():
            wall, cpu, analysis = check_once(text, root, off)
            counts[name] = rule_counts(analysis)
            analysis = None
            w, c = best.get(name, (wall, cpu))
            best[name] = (min(w, wall), min(c, cpu))
    off_w, off_c = best["layer_off"]
    layer_cpu = layer_only(text, with_ncci, args.repeats)
    layer_cpu_no_data = layer_only(text, without, args.repeats)
    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "source": source,
        "ptp_rows_per_setting": rel.manifest.counts.get("ptp-practitioner"),
        "import_wall_s": round(import_s, 2),
        "import_cpu_s": round(import_cpu, 2),
        "index_bytes": folder_bytes(built.path),
        "index_files": {p.name: p.stat().st_size for p in sorted(built.path.iterdir())},
        "open_and_first_lookups_ms": round(open_ms, 2),
        "file_bytes": len(text.encode()),
        "check_best_wall_s": {k: round(v[0], 3) for k, v in best.items()},
        "check_best_cpu_s": {k: round(v[1], 3) for k, v in best.items()},
        "added_cpu_pct_vs_layer_off": {k: round(100 * (v[1] / off_c - 1), 1) for k, v in best.items() if k != "layer_off"},
        "added_wall_pct_vs_layer_off": {k: round(100 * (v[0] / off_w - 1), 1) for k, v in best.items() if k != "layer_off"},
        "layer_only_cpu_s": {"with_ncci": round(layer_cpu, 3), "no_ncci_data": round(layer_cpu_no_data, 3)},
        "layer_only_pct_of_layer_off_check": {
            "with_ncci": round(100 * layer_cpu / off_c, 1), "no_ncci_data": round(100 * layer_cpu_no_data / off_c, 1),
        },
        "findings_by_rule": counts,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "results-ncci.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
