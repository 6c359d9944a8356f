"""Small 837I / 837P writers for the claim-edit tests and the MCE oracle test: one interchange,
one subscriber (and optionally one patient) loop per claim, correct SE / GE / IEA counts.

Codes are given dotless, as X12 carries them. A claim is a dict:
  kind "I" or "P"; day (date); birth (date or None: no DMG); sex ("F", "M", "U");
  patient_loop (True: DMG in 2010CA under HL 23, SBR02 = 01; False: subscriber is the patient);
  principal, admitting, other (list), procedures (list, 837I: first is BBR); bill_type ("111");
  admission (date, 837I: DTP*435, and the statement period runs from it to day).
"""

from __future__ import annotations

import datetime as dt


def _d8(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _claim_segments(n: int, c: dict, hl: list[int]) -> list[str]:
    day: dt.date = c["day"]
    segs = []
    hl[0] += 1
    sub = hl[0]
    patient_loop = c.get("patient_loop", False)
    segs.append(f"HL*{sub}*1*22*{1 if patient_loop else 0}")
    segs.append(f"SBR*P*{'01' if patient_loop else '18'}*******MA")
    segs.append(f"NM1*IL*1*DOE*JOHN****MI*MEMBER{n:05d}")
    if not patient_loop and c.get("birth"):
        segs.append(f"DMG*D8*{_d8(c['birth'])}*{c.get('sex', 'U')}")
    if patient_loop and c.get("subscriber_birth"):
        segs.append(f"DMG*D8*{_d8(c['subscriber_birth'])}*M")
    segs.append("NM1*PR*2*TEST PAYER*****PI*PAYER01")
    if patient_loop:
        hl[0] += 1
        segs.append(f"HL*{hl[0]}*{sub}*23*0")
        segs.append("PAT*19")
        segs.append("NM1*QC*1*DOE*JANE")
        if c.get("birth"):
            segs.append(f"DMG*D8*{_d8(c['birth'])}*{c.get('sex', 'U')}")
    kind = c.get("kind", "I")
    if kind == "I":
        bill = c.get("bill_type", "111")
        segs.append(f"CLM*C{n:05d}*1000.00***{bill[:2]}:A:{bill[2:] or '1'}**A*Y*Y")
        admission = c.get("admission")
        segs.append(f"DTP*434*RD8*{_d8(admission or day)}-{_d8(day)}")
        if admission:
            segs.append(f"DTP*435*D8*{_d8(admission)}")
        segs.append(f"CL1*1*1*{c.get('discharge_status', '01')}")
        # Principal and admitting diagnoses each in an HI of their own: the 837I TR3 gives each
        # HI01 only (x12/shapes.py).
        if c.get("principal"):
            segs.append(f"HI*ABK:{c['principal']}")
        if c.get("admitting"):
            segs.append(f"HI*ABJ:{c['admitting']}")
        if not (c.get("principal") or c.get("admitting")):
            segs.append("HI")
        if c.get("other"):
            segs.append("HI*" + "*".join(f"ABF:{x}" for x in c["other"]))
        procs = c.get("procedures") or []
        if procs:
            segs.append("HI*" + "*".join(f"{'BBR' if i == 0 else 'BBQ'}:{p}:D8:{_d8(day)}" for i, p in enumerate(procs)))
        segs.append("LX*1")
        segs.append("SV2*0300*HC:85025*10.00*UN*1")
        segs.append(f"DTP*472*D8*{_d8(day)}")
    else:
        segs.append(f"CLM*P{n:05d}*100.00***11:B:1*Y*A*Y*Y")
        codes = [c["principal"], *(c.get("other") or [])]
        segs.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{x}" for i, x in enumerate(codes)))
        segs.append("LX*1")
        segs.append("SV1*HC:99213*100.00*UN*1***1")
        segs.append(f"DTP*472*D8*{_d8(day)}")
    return segs


def make_837(claims: list[dict]) -> str:
    kind = claims[0].get("kind", "I") if claims else "I"
    version = "005010X223A2" if kind == "I" else "005010X222A1"
    body = [
        "ST*837*0001*" + version,
        "BHT*0019*00*0001*20260101*1200*CH",
        "NM1*41*2*MEDCODE TEST*****46*TEST01",
        "NM1*40*2*TEST PAYER*****46*PAYER01",
        "HL*1**20*1",
        "NM1*85*2*MEDCODE TEST HOSPITAL*****XX*1234567893",
    ]
    hl = [1]
    for n, c in enumerate(claims, 1):
        body += _claim_segments(n, c, hl)
    body.append(f"SE*{len(body) + 1}*0001")
    segs = [
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260101*1200*^*00501*000000001*0*T*:",
        f"GS*HC*SUBMITTER*RECEIVER*20260101*1200*1*X*{version}",
        *body,
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segs) + "~\n"


# -- an 837 with modifiers and units ------------------------------------------------------------
Line = tuple  # (code, modifiers, units, day)


def x12(kind: str, claims: list[tuple[str, list[Line]]], bill_type: str = "13") -> str:
    """An 837P (kind "P") or 837I ("I") with one claim per (claim id, lines)."""
    version = {"P": "005010X222A1", "I": "005010X223A2"}[kind]
    body = [f"ST*837*0001*{version}", "BHT*0019*00*0001*20260315*1200*CH", "HL*1**20*1", "NM1*85*2*CLINIC*****XX*1234567893"]
    for n, (claim_id, lines) in enumerate(claims, 2):
        place = "11:B:1" if kind == "P" else f"{bill_type}:A:1"
        body += [f"HL*{n}*1*22*0", "SBR*P*18*******CI", f"CLM*{claim_id}*100.00***{place}*Y*A*Y*Y", "HI*ABK:E119"]
        for i, (code, mods, units, day) in enumerate(lines, 1):
            composite = ":".join(["HC", code, *mods])
            seg = f"SV1*{composite}*50.00*UN*{units}***1" if kind == "P" else f"SV2*0450*{composite}*50.00*UN*{units}"
            body += [f"LX*{i}", seg, f"DTP*472*D8*{day:%Y%m%d}"]
    body.append(f"SE*{len(body) + 1}*0001")
    head = [
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260315*1200*^*00501*000000101*0*T*:",
        f"GS*HC*SUBMITTER*RECEIVER*20260315*1200*101*X*{version}",
    ]
    return "~\n".join(head + body + ["GE*1*101", "IEA*1*000000101"]) + "~\n"
