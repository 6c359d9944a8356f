"""Generate a large CMS hospital price transparency CSV (tall, template v3.0.0) for benchmarks.

Real codes: ICD-10-CM and NDC from the installed index (a small built-in list when no index is
installed), HCPCS J-codes and revenue codes from CMS / NUBC, MS-DRGs from the CMS v43 list;
procedure codes are CPT-shaped numbers only (no CPT text is involved). Each item is repeated for
two or three payer / plan pairs, as tall files do; about a third of the descriptions hold commas
and are quoted. Deterministic for a given seed.

    python bench/gen_hpt_csv.py --rows 200000 --out bench/out/hpt-tall-200k.csv
    python bench/gen_hpt_csv.py --time      # also time medcode's reader on the file
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

ROW1 = [
    "hospital_name", "last_updated_on", "version", "location_name", "hospital_address", "license_number|CA",
    "type_2_npi",
    (
        "To the best of its knowledge and belief, this hospital has included all applicable standard charge "
        "information in accordance with the requirements of 45 CFR 180.50, and the information encoded is true, "
        "accurate, and complete as of the date in the file. This hospital has included all payer-specific negotiated "
        "charges in dollars that can be expressed as a dollar amount. For payer-specific negotiated charges that cannot "
        "be expressed as a dollar amount in the machine-readable file or not knowable in advance, the hospital attests "
        "that the payer-specific negotiated charge is based on a contractual algorithm, percentage or formula that "
        "precludes the provision of a dollar amount and has provided all necessary information available to the "
        "hospital for the public to be able to derive the dollar amount, including, but not limited to, the specific "
        "fee schedule or components referenced in such percentage, algorithm or formula."
    ),
    "attester_name",
]
ROW2 = [
    "Bench General Hospital", "2026-04-01", "3.0.0", "Bench General Hospital|Bench Surgical Center",
    "100 Main Street, Anytown, CA 90001|200 Ocean Ave, Anytown, CA 90002", "500567", "1234567893|1234567901",
    "true", "Pat Attester",
]
ROW3 = [
    "description", "code|1", "code|1|type", "code|2", "code|2|type", "modifiers", "setting",
    "drug_unit_of_measurement", "drug_type_of_measurement", "standard_charge|gross", "standard_charge|discounted_cash",
    "payer_name", "plan_name", "standard_charge|negotiated_dollar", "standard_charge|negotiated_percentage",
    "standard_charge|negotiated_algorithm", "median_amount", "10th_percentile", "90th_percentile", "count",
    "standard_charge|methodology", "standard_charge|min", "standard_charge|max", "additional_generic_notes",
]

# CPT-shaped numbers (numbers only; no AMA text).
PROCEDURES = [
    "99213", "99214", "99215", "99203", "99204", "99283", "99284", "99285", "36415", "80048", "80053", "85025",
    "93000", "70551", "70553", "71046", "72148", "73721", "74177", "76700", "77067", "43239", "45378", "49505",
    "27447", "29881", "59510", "66984", "97110", "97140", "90834", "90837", "88305", "81001", "84443", "82947",
]
J_CODES = [
    "J0131", "J0132", "J0171", "J0690", "J0696", "J1040", "J1100", "J1120", "J1170", "J1450", "J1885", "J2001",
    "J2270", "J2405", "J2550", "J3301", "J3420", "J3490", "J7030", "J7050", "J9045", "J9267", "J0897", "J1745",
]
OTHER_HCPCS = ["C1785", "C1776", "G0008", "G0378", "H0017", "A4253", "E0114", "L3908", "Q9967", "P9016"]
REVENUE = [
    "0110", "0120", "0250", "0258", "0260", "0270", "0272", "0278", "0300", "0301", "0305", "0320", "0324", "0350",
    "0360", "0370", "0410", "0420", "0450", "0636", "0710", "0730", "0731", "0760", "0762", "120", "250", "300",
    "360", "450", "611", "762",
]
MS_DRGS = [
    "001", "003", "023", "057", "064", "065", "066", "101", "177", "189", "190", "193", "194", "247", "280", "291",
    "292", "293", "313", "329", "378", "392", "460", "469", "470", "480", "481", "536", "603", "682", "683", "690",
    "765", "766", "767", "775", "786", "794", "795", "807", "871", "872", "885", "897", "945",
]
ICD_FALLBACK = ["E11.9", "I10", "J18.9", "N39.0", "R07.9", "M54.50", "K21.9", "F32.A", "Z00.00", "S72.001A"]
NDC_FALLBACK = ["0093-8739-01", "10135-0729-62", "25021-0184-82", "17156-0026-30", "45802-0269-37", "63323-0044-01"]
PAYERS = [("Platform Health Insurance", "PPO"), ("Region Health Insurance", "HMO"), ("Coastal Care", "EPO")]
WORDS = ["level", "panel", "injection", "per diem", "with contrast", "without contrast", "bilateral", "complex"]
METHODS = ["fee schedule", "case rate", "percent of total billed charges", "per diem"]


def _real_codes(rng: random.Random) -> tuple[list[str], list[str]]:
    """ICD-10-CM (dotted, as people write them) and hyphenated 5-4-2 NDCs from the installed index."""
    try:
        from medcode.index_builder import layout
        from medcode.index_builder.location import index_dir
        from medcode.index_builder.reader import IndexStore

        store = IndexStore(index_dir())
        cm = store.releases("icd10cm")[-1]
        billable = [k for k in cm.keys("", layout.FLAG_CODE)]
        icd = [k if len(k) <= 3 else f"{k[:3]}.{k[3:]}" for k in rng.sample(billable, 3000)]
        ndc_rel = store.releases("ndc")[-1]
        packages = [k for k in ndc_rel.keys("") if len(k) == 11 and k.isdigit()]
        ndc = [f"{k[:5]}-{k[5:9]}-{k[9:]}" for k in rng.sample(packages, 3000)]
        return icd, ndc
    except Exception:  # noqa: BLE001 - no index installed: a few real codes still make a valid file
        return ICD_FALLBACK, NDC_FALLBACK


def _q(text: str) -> str:
    return f'"{text}"' if ("," in text or '"' in text) else text


def _item(rng: random.Random, icd: list[str], ndc: list[str]) -> tuple[str, list[str], str, str, str]:
    """description, [code1, type1, code2, type2], setting, drug unit, drug type."""
    kind = rng.random()
    if kind < 0.35:
        code = rng.choice(PROCEDURES)
        desc = f"Procedure {code} {rng.choice(WORDS)}"
        return desc, [code, "CPT", rng.choice(REVENUE), "RC"], "outpatient", "", ""
    if kind < 0.55:
        code = rng.choice(J_CODES)
        desc = f"Drug {code}, {rng.randint(1, 500)} mg, {rng.choice(WORDS)}"
        return desc, [code, "HCPCS", rng.choice(ndc), "NDC"], "both", str(rng.randint(1, 100)), rng.choice(["ML", "UN", "EA", "GR"])
    if kind < 0.65:
        desc = f"Drug package {rng.randint(1, 9999)}, oral"
        return desc, [rng.choice(ndc), "NDC", "", ""], "both", "1", "EA"
    if kind < 0.75:
        code = rng.choice(OTHER_HCPCS)
        return f"Supply or service {code}", [code, "HCPCS", rng.choice(REVENUE), "RC"], "outpatient", "", ""
    if kind < 0.87:
        drg = rng.choice(MS_DRGS)
        return f"Inpatient stay, MS-DRG {drg}, with mcc", [drg, "MS-DRG", "", ""], "inpatient", "", ""
    if kind < 0.95:
        rc = rng.choice(REVENUE)
        return f"Room and board {rc}", [rc, "RC", "", ""], "inpatient", "", ""
    dx = rng.choice(icd)
    return f"Condition-based package for {dx}, {rng.choice(WORDS)}", [dx, "ICD", rng.choice(REVENUE), "RC"], "both", "", ""


def _records(n_rows: int, seed: int):
    """(description, [code1, type1, code2, type2], setting, drug unit, drug type, gross, cash,
    [(payer, plan, dollar, methodology, min, max)]): one item with the payer rows of a tall file."""
    rng = random.Random(seed)
    icd, ndc = _real_codes(rng)
    rows = 0
    while rows < n_rows:
        desc, codes, setting, unit, unit_type = _item(rng, icd, ndc)
        if rng.random() < 0.0005:  # a few seeded mistakes: a type the template does not define, a missing type
            codes[1] = rng.choice(["BADCODE", "MS-DRG A", ""])
        gross = rng.randint(20, 90000)
        cash = round(gross * 0.9, 2)
        payers = []
        for payer, plan in PAYERS[: rng.choice((2, 3))]:
            if rows >= n_rows:
                break
            dollar = round(gross * rng.uniform(0.3, 0.8), 2)
            method = rng.choice(METHODS)
            payers.append((payer, plan, dollar, method, round(gross * 0.3, 2), round(gross * 0.8, 2)))
            rows += 1
        yield desc, codes, setting, unit, unit_type, gross, cash, payers


def generate(n_rows: int = 200_000, seed: int = 3) -> str:
    out = [",".join(_q(c) for c in ROW1), ",".join(_q(c) for c in ROW2), ",".join(ROW3)]
    for desc, codes, setting, unit, unit_type, gross, cash, payers in _records(n_rows, seed):
        for payer, plan, dollar, method, low, high in payers:
            cells = [
                _q(desc), *codes, "", setting, unit, unit_type, str(gross), str(cash), payer, plan, str(dollar),
                "", "", "", "", "", "", method, str(low), str(high), "",
            ]
            out.append(",".join(cells))
    return "\r\n".join(out) + "\r\n"


def generate_json(n_rows: int = 200_000, seed: int = 3, indent: int | None = 2) -> str:
    """The same items as generate(n_rows, seed) in the v3.0 JSON layout: one
    standard_charge_information entry per item, its payers nested as the JSON template nests them."""
    general = dict(zip(ROW1, ROW2))
    doc = {
        "hospital_name": general["hospital_name"],
        "last_updated_on": general["last_updated_on"],
        "version": general["version"],
        "location_name": general["location_name"].split("|"),
        "hospital_address": general["hospital_address"].split("|"),
        "license_information": {"license_number": general["license_number|CA"], "state": "CA"},
        "type_2_npi": general["type_2_npi"].split("|"),
        "attestation": {"attestation": ROW1[7], "confirm_attestation": True, "attester_name": general["attester_name"]},
        "standard_charge_information": [],
    }
    items = doc["standard_charge_information"]
    for desc, codes, setting, unit, unit_type, gross, cash, payers in _records(n_rows, seed):
        item: dict = {"description": desc}
        if unit:
            item["drug_information"] = {"unit": unit, "type": unit_type}
        item["code_information"] = [{"code": c, "type": t} for c, t in (codes[:2], codes[2:]) if c or t]
        item["standard_charges"] = [{
            "setting": setting, "gross_charge": gross, "discounted_cash": cash,
            "minimum": min(p[4] for p in payers), "maximum": max(p[5] for p in payers),
            "payers_information": [
                {"payer_name": payer, "plan_name": plan, "standard_charge_dollar": dollar, "methodology": method}
                for payer, plan, dollar, method, _, _ in payers
            ],
        }]
        items.append(item)
    return json.dumps(doc, indent=indent) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "hpt-tall-200k.csv")
    ap.add_argument("--time", action="store_true", help="time hpt_csv.read on the written file (best of 3)")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = generate(args.rows, args.seed)
    args.out.write_text(text, encoding="utf-8", newline="")
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, {args.rows:,} data rows")
    if args.time:
        from medcode.server.tables import hpt_csv

        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            reading = hpt_csv.read(text)
            best = min(best, time.perf_counter() - t0)
        assert reading is not None
        print(f"hpt_csv.read: {best:.2f} s ({len(text) / 1e6 / best:.1f} MB/s), {len(reading.slots):,} slots, {len(reading.problems)} problems")


if __name__ == "__main__":
    main()
