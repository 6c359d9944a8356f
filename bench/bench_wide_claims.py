"""Hostile claims: one claim (or template encounter) with thousands of diagnoses.

Writes, from the installed ICD-10-CM index, an 837P, an 837I, a FHIR Claim and a documentation
template whose one claim lists N diagnoses (real billable codes, most of them carrying
Excludes1 / code-first / use-additional notes, some codes they name, a few repeats, the
principal repeated), then times `medcode check -j 1 --format json` on each in a fresh process
(CPU of the child: user + system; wall clock; findings). A script, not a test: nothing here
asserts a timing.

    python bench/bench_wide_claims.py [--sizes 1000 10000 50000] [--dense-sizes 1000 10000] [--out DIR] [--timeout 300]

Two families: sparse (no note of one code names the category of another: the edits compare
and find nothing, so their search is what is timed) and dense (random noted codes: the
Excludes1 findings grow as the square of the diagnoses, 266,000 for 10,000, and their output
is most of the time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

DAY = "2026-02-02"


def pick_codes(n: int, sparse: bool = False, seed: int = 32) -> list[str]:
    """n diagnoses in claim order: about two thirds with pairing notes, the rest other billable
    codes (among them codes the notes name), 5% repeats of earlier ones. sparse: no note of one
    code names the category of another (the edits compare, and find no pair)."""
    from bisect import bisect_left, bisect_right

    from medcode.index_builder import layout
    from medcode.index_builder.location import index_dir
    from medcode.index_builder.reader import IndexStore
    from medcode.server.claim_edits.tabular import SHARED

    store = IndexStore(index_dir())
    release = next(r for r in store.releases("icd10cm") if str(r.manifest.effective_from) <= DAY and (r.manifest.effective_to is None or DAY <= str(r.manifest.effective_to)))
    billable = sorted(release.keys("", layout.FLAG_CODE))
    notes = {c: SHARED.code_notes(release, c) for c in billable}
    noted = [c for c in billable if notes[c].all]
    plain = sorted(set(billable) - set(noted))
    rng = random.Random(seed)
    fresh = n - n // 20
    if sparse:
        categories = sorted({c[:3] for c in billable})
        named_by: set[str] = set()  # the categories the kept codes' notes name
        kept_categories: set[str] = set()
        codes = []
        pool = noted[:]
        rng.shuffle(pool)
        for c in pool:
            names = set()
            for t in (notes[c].x1, notes[c].cf, notes[c].ua):
                names |= t.categories
                for lo, hi in t.category_ranges:
                    names.update(categories[bisect_left(categories, lo) : bisect_right(categories, hi)])
            if c[:3] in named_by or c[:3] in names or names & kept_categories:
                continue
            codes.append(c)
            named_by |= names
            kept_categories.add(c[:3])
            if len(codes) >= fresh * 2 // 3:
                break
        others = [c for c in plain if c[:3] not in named_by]
        codes += rng.sample(others, min(len(others), fresh - len(codes)))
    else:
        take_noted = min(len(noted), fresh * 2 // 3)
        codes = rng.sample(noted, take_noted) + rng.sample(plain, min(len(plain), fresh - take_noted))
    rng.shuffle(codes)
    codes += [rng.choice(codes) for _ in range(n - len(codes))]
    rng.shuffle(codes)
    codes.insert(n // 2, codes[0])  # the principal again
    return codes[:n]


def x12(codes: list[str], kind: str) -> str:
    version = "005010X222A1" if kind == "P" else "005010X223A2"
    quals = ["ABK"] + ["ABF"] * (len(codes) - 1)
    if kind == "I" and len(codes) > 2:
        quals[1] = "ABJ"  # an admitting diagnosis
    elements = [f"{q}:{c}" for q, c in zip(quals, codes)]
    his = ["HI*" + "*".join(elements[i : i + 12]) for i in range(0, len(elements), 12)]
    clm = "CLM*WIDE01*500.00***11:B:1*Y*A*Y*Y" if kind == "P" else "CLM*WIDE01*5000.00***11:A:1**A*Y*Y"
    dates = [f"DTP*434*RD8*{DAY.replace('-', '')}-{DAY.replace('-', '')}"] if kind == "I" else []
    px = ["HI*BBR:02703ZZ:D8:20260202*BBQ:0DTJ4ZZ:D8:20260202"] if kind == "I" else []
    line = ["LX*1", "SV1*HC:99213*125.00*UN*1***1" if kind == "P" else "SV2*0305*HC:85025*13.39*UN*1", f"DTP*472*D8*{DAY.replace('-', '')}"]
    body = [
        "BHT*0019*00*0001*20260202*1200*CH", "NM1*41*2*CLINIC*****46*1", "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*PAYER*****46*2", "HL*1**20*1", "NM1*85*2*CLINIC*****XX*1234567893", "N3*1 MAIN ST",
        "N4*ANYTOWN*CA*90001", "REF*EI*123456789", "HL*2*1*22*0", "SBR*P*18*******MA",
        "NM1*IL*1*DOE*JANE****MI*M1", "DMG*D8*19700101*F", "NM1*PR*2*PAYER*****PI*2", clm, *dates, *his, *px, *line,
    ]
    segs = [
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260202*1200*^*00501*000000001*0*P*:",
        f"GS*HC*SUBMITTER*RECEIVER*20260202*1200*1*X*{version}",
        f"ST*837*0001*{version}",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segs) + "~\n"


def fhir(codes: list[str], kind: str) -> str:
    claim = {
        "resourceType": "Claim",
        "id": "wide",
        "status": "active",
        "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional" if kind == "P" else "institutional"}]},
        "billablePeriod": {"start": DAY},
        "diagnosis": [
            {"sequence": i + 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": c}]}}
            for i, c in enumerate(codes)
        ],
        "item": [{"sequence": 1, "diagnosisSequence": [1], "productOrService": {"coding": [{"system": "https://bluebutton.cms.gov/resources/codesystem/hcpcs", "code": "99213"}]}}],
    }
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:claim-1", "resource": claim}]}, indent=1)


def template(codes: list[str]) -> str:
    dotted = [c if len(c) <= 3 else f"{c[:3]}.{c[3:]}" for c in codes]
    # In the front matter's list: one group, however long.
    return f"---\ndate_of_service: {DAY}\ncodes:\n  icd10cm: [" + ", ".join(dotted) + "]\n---\n# Visit\n"


def write_inputs(sizes: list[int], out: Path, sparse: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    tag = "sparse" if sparse else "dense"
    for n in sizes:
        codes = pick_codes(n, sparse)
        for name, text in ((f"p-{tag}-{n}.837", x12(codes, "P")), (f"i-{tag}-{n}.837", x12(codes, "I")), (f"fhir-{tag}-{n}.json", fhir(codes, "P")), (f"template-{tag}-{n}.md", template(codes))):
            path = out / name
            path.write_text(text)
            paths.append(path)
    return paths


def time_check(path: Path, timeout: float) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "medcode.server", "check", "-j", "1", "--format", "json", str(path)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"file": path.name, "timeout": timeout}
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    findings = json.loads(done.stdout) if done.stdout.strip() else []
    rules: dict[str, int] = {}
    for f in findings:
        rules[f["rule"]] = rules.get(f["rule"], 0) + 1
    return {"file": path.name, "cpu": round(cpu, 2), "wall": round(wall, 2), "findings": len(findings), "edits": {k: v for k, v in sorted(rules.items()) if k in _EDITS}, "rc": done.returncode}


_EDITS = {"excludes1", "code-first", "use-additional-code", "duplicate-of-principal", "age-conflict", "sex-conflict"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000], help="diagnoses of the sparse claims")
    ap.add_argument("--dense-sizes", type=int, nargs="*", default=[1000, 10000], help="diagnoses of the dense claims (their findings grow as the square)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "wide")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--no-write", action="store_true", help="time the files already in --out")
    args = ap.parse_args()
    paths = []
    for sparse, sizes in ((True, args.sizes), (False, args.dense_sizes)):
        tag = "sparse" if sparse else "dense"
        if args.no_write:
            paths += sorted((p for n in sizes for p in args.out.glob(f"*-{tag}-{n}.*")), key=lambda p: (int(p.stem.split("-")[2]), p.name))
        else:
            paths += write_inputs(sizes, args.out, sparse)
    print(f"load {os.getloadavg()[0]:.1f}")
    for path in paths:
        r = time_check(path, args.timeout)
        if "timeout" in r:
            print(f"{r['file']:<26} > {r['timeout']:.0f} s (stopped)", flush=True)
        else:
            print(f"{r['file']:<26} cpu {r['cpu']:7.2f} s  wall {r['wall']:7.2f} s  findings {r['findings']:7d}  {r['edits']}  rc {r['rc']}", flush=True)


if __name__ == "__main__":
    main()
