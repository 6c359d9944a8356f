"""Generate a large, realistic 837P for benchmarks: real ICD-10-CM and NDC codes from the
installed index, a few seeded errors, deterministic for a given seed.

    python bench/gen_837.py --claims 50000 --out bench/out/claims-50k.837
    python bench/gen_837.py --claims 50000 --skew 1 --out bench/out/claims-50k-skew1.837

The codes are drawn uniformly from 5,000 billable codes by default (every code as rare as any
other: the worst case for per-code memos and caches). `--skew S` draws them with weight
1/rank^S instead, as real claims do (with S = 1 the 200 commonest codes make about two thirds of
the diagnoses); the default's files stay byte-identical.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from medcode.index_builder import layout
from medcode.index_builder.location import index_dir
from medcode.index_builder.reader import IndexStore

# Procedure codes are numbers only (no CPT text is involved); HCPCS codes are CMS's.
PROCEDURES = ["99213", "99214", "99215", "99203", "36415", "80053", "85025", "93000", "J1100", "J3301", "G0008", "A4253"]
MODIFIERS = ["", "", "", "25", "59", "LT", "RT", "GA"]
ERRORS = ["E11", "E11.9", "E1199", "0DTJ4ZZ", "S72001"]  # header, dotted, unknown, wrong set, 7th char


def header(n_claims: int) -> list[str]:
    return [
        "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*RECEIVER01     *260115*1200*^*00501*000000001*0*P*:",
        "GS*HC*SUBMITTER01*RECEIVER01*20260115*1200*1*X*005010X222A1",
        "ST*837*0001*005010X222A1",
        "BHT*0019*00*BATCH0001*20260115*1200*CH",
        "NM1*41*2*BENCH CLINIC*****46*123456789",
        "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*BENCH PAYER*****46*987654321",
        "HL*1**20*1",
        "NM1*85*2*BENCH CLINIC*****XX*1234567893",
        "N3*100 MAIN ST",
        "N4*ANYTOWN*CA*90001",
        "REF*EI*123456789",
    ]


def claim(i: int, rng: random.Random, dx: list[str], ndcs: list[str], weights: list[float] | None = None) -> list[str]:
    """weights: cumulative weights of dx for a skewed draw (None: uniform, as rng.sample)."""
    hl = i + 2
    day = f"2026{rng.randint(1, 6):02d}{rng.randint(1, 28):02d}"
    codes = rng.sample(dx, 4) if weights is None else _skewed(rng, dx, weights, 4)
    if rng.random() < 0.02:
        codes[rng.randrange(4)] = rng.choice(ERRORS)
    hi = "HI*ABK:" + codes[0] + "".join(f"*ABF:{c}" for c in codes[1:])
    # Subscriber, payer, claim and provider loops as real 837P files carry them (a real claim
    # is mostly names, addresses and references around a few codes).
    segs = [
        f"HL*{hl}*1*22*0",
        "SBR*P*18*GRP0001******CI",
        f"NM1*IL*1*PATIENT{i}*TEST*Q***MI*MEMBER{i:07d}",
        f"N3*{100 + i % 900} ELM STREET*APT {i % 50}",
        "N4*ANYTOWN*CA*900011234",
        "DMG*D8*19700101*F",
        "NM1*PR*2*BENCH PAYER*****PI*987654321",
        "N3*PO BOX 1000",
        "N4*PAYERTOWN*CA*900021000",
        "REF*G2*PAYERPROV01",
        f"CLM*CLAIM{i:07d}*250.00***11:B:1*Y*A*Y*Y",
        f"REF*D9*CLEARINGHOUSE{i:08d}",
        "NTE*ADD*PATIENT SEEN FOR FOLLOW UP OF CHRONIC CONDITIONS",
        hi,
        "NM1*82*1*DOCTOR*RENDERING*A***XX*1234567893",
        "PRV*PE*PXC*207Q00000X",
        "NM1*77*2*BENCH CLINIC SITE*****XX*1234567893",
        "N3*100 MAIN ST",
        "N4*ANYTOWN*CA*900011234",
    ]
    for line in (1, 2):
        proc = rng.choice(PROCEDURES)
        mod = rng.choice(MODIFIERS)
        segs += [
            f"LX*{line}",
            f"SV1*HC:{proc}{':' + mod if mod else ''}*125.00*UN*1***1:2",
            f"DTP*472*D8*{day}",
            f"REF*6R*LINE{i:07d}{line}",
        ]
        if rng.random() < 0.1:
            segs += [f"LIN**N4*{rng.choice(ndcs)}", "CTP****1*UN"]
    return segs


def _codes(rng: random.Random) -> tuple[list[str], list[str]]:
    """5,000 billable ICD-10-CM codes and 2,000 NDCs from the installed index."""
    store = IndexStore(index_dir())
    (cm,) = store.releases("icd10cm")[-1:]
    billable = [k for k in cm.keys("", layout.FLAG_CODE)]
    dx = rng.sample(billable, 5000)
    ndc_rel = store.releases("ndc")[-1]
    ndcs = [k for _, k in zip(range(2000), ndc_rel.keys("0"))]
    return dx, ndcs


def _skewed(rng: random.Random, dx: list[str], weights: list[float], n: int) -> list[str]:
    """n distinct codes of dx drawn by cumulative weights."""
    out: list[str] = []
    while len(out) < n:
        (code,) = rng.choices(dx, cum_weights=weights)
        if code not in out:
            out.append(code)
    return out


def _weights(n: int, skew: float) -> list[float] | None:
    """Cumulative weights 1/rank^skew of n codes (None for skew 0: uniform)."""
    if not skew:
        return None
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += rank**-skew
        out.append(total)
    return out


def _interchange(claims: list[list[str]]) -> str:
    segs = header(len(claims))
    for c in claims:
        segs += c
    count = len(segs) - 2 + 1  # ST through SE
    segs += [f"SE*{count}*0001", "GE*1*1", "IEA*1*000000001"]
    return "~\n".join(segs) + "~\n"


def generate(n_claims: int, seed: int = 837, skew: float = 0.0) -> str:
    rng = random.Random(seed)
    dx, ndcs = _codes(rng)
    weights = _weights(len(dx), skew)
    return _interchange([claim(i, rng, dx, ndcs, weights) for i in range(n_claims)])


def generate_batches(n_files: int, claims_per_file: int, seed: int = 837) -> list[str]:
    """The claims of generate(n_files * claims_per_file, seed), one interchange per batch of
    claims_per_file: a folder of daily files drawing on the same codes."""
    rng = random.Random(seed)
    dx, ndcs = _codes(rng)
    return [
        _interchange([claim(i, rng, dx, ndcs) for i in range(f * claims_per_file, (f + 1) * claims_per_file)])
        for f in range(n_files)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=837)
    ap.add_argument("--skew", type=float, default=0.0, help="draw codes with weight 1/rank^SKEW (0: uniform)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "claims-50k.837")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(generate(args.claims, args.seed, args.skew))
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, {args.claims:,} claims")


if __name__ == "__main__":
    main()
