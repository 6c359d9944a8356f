"""The cold check's per-text memos (issue 14) against the readings they stand for: HI elements,
SBR, DMG, LX and types of bill read once per distinct text by the walk (x12/document.py,
x12/slots.py), and a code found fine under one X12 qualifier taken as fine under another
(code_rules.CodeRules.FINE_FOR_ANY_QUALIFIER).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from claims_837 import make_837
from medcode.server.analysis import DocumentChecker
from medcode.server.code_rules import CodeRules
from medcode.server.verdicts import Verdicts
from medcode.server.x12 import document, slots
from medcode.server.x12.document import walk
from medcode.server.x12.rules import ClaimRules
from test_x12_fast_paths import DOCUMENTS


def _state(text: str) -> tuple[list, str]:
    """Everything the walk hands the rules, as plain values, and the separator it settled on."""
    out: list = []
    doc = walk(text, lambda claim, groups: out.append((claim, groups)))
    assert doc is not None
    state = [(dataclasses.astuple(c), [(None if ln is None else dataclasses.astuple(ln), codes) for ln, codes in g]) for c, g in out]
    return state, doc.component


def _without_memos(monkeypatch) -> None:
    monkeypatch.setattr(document, "LINE_SEGMENTS_MAX", 0)
    monkeypatch.setattr(document, "DTPS_MAX", 0)
    monkeypatch.setattr(slots, "HI_ELEMENTS_MAX", 0)


# ISA16 says ':' but the composites use '>': the walk switches separator at the first code
# segment, and every memo read with the old one must be dropped.
_SWITCHED = DOCUMENTS[0].replace(":", ">").replace("*P*>~", "*P*:~", 1)


@pytest.mark.parametrize("text", [*DOCUMENTS, _SWITCHED])
def test_each_distinct_text_read_once_equals_each_copy_read_afresh(text, monkeypatch):
    kept = _state(text)
    _without_memos(monkeypatch)
    assert _state(text) == kept


def test_the_switched_separator_document_switches():
    state, component = _state(_SWITCHED)
    assert component == ">" and any(t[1] == "E119" for _, groups in state for _, codes in groups for t in codes)


def test_repeated_patient_and_bill_segments_give_each_claim_its_own():
    """Claims whose SBR, DMG and CLM05 texts recur in other subscriber loops, with and without a
    patient loop: each claim has the patient and type of bill its own loops give."""
    r = random.Random(14)
    claims = []
    for n in range(120):
        claims.append({
            "kind": "I", "day": dt.date(2026, 3, 1 + n % 28), "principal": "E119",
            "birth": r.choice([None, dt.date(1950, 1, 1), dt.date(2001, 5, 5)]), "sex": r.choice("FMU"),
            "patient_loop": r.random() < 0.4, "subscriber_birth": r.choice([None, dt.date(1940, 2, 2)]),
            "bill_type": r.choice(["111", "131", "851"]), "discharge_status": r.choice(["01", "20"]),
        })
    walked: list = []
    walk(make_837(claims), lambda claim, groups: walked.append(claim))
    assert len(walked) == len(claims)
    for claim, c in zip(walked, claims):
        assert (claim.birth, claim.sex if c["birth"] else "") == (c["birth"], c["sex"] if c["birth"] else "")
        assert claim.bill_type == c["bill_type"] and claim.discharge_status == c["discharge_status"]


_CODES = ["E119", "E11", "E11.9", "0DTJ4ZZ", "Z0000", "S72001A", "S72001", "XYZ", "25000", "I10", "e119"]
_QUALIFIERS = ["ABK", "ABF", "ABJ", "APR", "ABN", "BBR", "BBQ", "BK", "BF", "ZZZ", "DR"]


def _qualifier_file(day: str) -> str:
    r = random.Random(day)
    segs = ["ST*837*0001*005010X223A2", "BHT*0019*00*1*20260101*1200*CH", "HL*1**20*1"]
    for n in range(40):
        quals = r.sample(_QUALIFIERS, 4)
        codes = [r.choice(_CODES) for _ in quals]
        segs += [f"HL*{n + 2}*1*22*0", "SBR*P*18", f"CLM*C{n}*1***13:A:1", "HI*" + "*".join(f"{q}:{c}" for q, c in zip(quals, codes))]
        segs += ["LX*1", "SV2*0300*HC:85025*10*UN*1", f"DTP*472*D8*{day}"]
    segs.append(f"SE*{len(segs) + 1}*0001")
    head = ["ISA*00*          *00*          *ZZ*S              *ZZ*R              *260101*1200*^*00501*000000001*0*T*:", "GS*HC*S*R*20260101*1200*1*X*005010X223A2"]
    return "~\n".join(head + segs + ["GE*1*1", "IEA*1*000000001"]) + "~\n"


@pytest.mark.parametrize("day", ["20260301", "20140301", "20151001"])
def test_a_code_fine_under_one_qualifier_is_judged_as_under_any(day, default_store, monkeypatch):
    """The same codes under many qualifiers (ICD-10 and ICD-9 ones, either side of 2015-10-01)
    give the very findings of a check that works each qualifier out on its own, with fewer codes
    worked out."""
    text = _qualifier_file(day)
    worked: list[int] = []
    real = CodeRules._check_slot

    def counted(self, *args):
        worked.append(1)
        return real(self, *args)

    monkeypatch.setattr(CodeRules, "_check_slot", counted)

    def findings() -> list:
        worked.clear()
        return [dataclasses.astuple(f) for f in DocumentChecker(Verdicts(default_store)).check(text).findings]

    shared = findings()
    with_sharing = len(worked)
    monkeypatch.setattr(ClaimRules, "FINE_FOR_ANY_QUALIFIER", False)
    assert findings() == shared and len(shared) > 20
    assert with_sharing < len(worked)
