"""The cold check's rule memos (issue 14) against the rules they stand for: what one code says
in one place is worked out once per distinct code and kept; a check served from the memos
gives exactly the findings of one that works every code out afresh.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
from pathlib import Path

import pytest

from claims_837 import make_837
from medcode.index_builder.codesets import ICD10CM
from medcode.server.analysis import DocumentChecker
from medcode.server.code_rules import ANY_QUALIFIER, CodeRules
from medcode.server.verdicts import Verdicts
from medcode.server.x12.rules import ClaimRules
from medcode.server.x12.slots import make_slot

FIXTURES = Path(__file__).parent / "fixtures" / "x12"


def _slot(code: str, qual: str):
    return lambda: make_slot((ICD10CM, code, len(qual) + 1, qual, 0, "HI01-02", True))


def test_a_clean_code_is_kept_once_for_every_qualifier(default_store):
    rules = ClaimRules(Verdicts(default_store))
    day = dt.date(2025, 1, 2)
    first = rules.cached(ICD10CM, "E119", "ABK", 0, day, _slot("E119", "ABK"), None)
    assert first.findings == []
    again = rules.cached(ICD10CM, "E119", "ABF", 0, day, _slot("E119", "ABF"), None)
    assert again is first
    assert [k[2] for k in rules._memo] == [ANY_QUALIFIER]


def test_findings_that_name_the_qualifier_are_kept_per_qualifier(default_store):
    rules = ClaimRules(Verdicts(default_store))
    day = dt.date(2014, 1, 2)  # before ICD-10: the fix changes the qualifier to its ICD-9 twin
    abk = rules.cached(ICD10CM, "E119", "ABK", 0, day, _slot("E119", "ABK"), None)
    abf = rules.cached(ICD10CM, "E119", "ABF", 0, day, _slot("E119", "ABF"), None)
    assert [f.fixes[0].text for f in abk.findings] == ["BK"]
    assert [f.fixes[0].text for f in abf.findings] == ["BF"]
    assert sorted(k[2] for k in rules._memo) == ["ABF", "ABK"]


def _claims(seed: int) -> list[dict]:
    """Claims whose codes recur under both diagnosis qualifiers, on days before and after
    ICD-10, with unknown, header and wrong-set codes among them."""
    r = random.Random(seed)
    codes = ["E119", "I10", "E11", "S72001A", "Z0000", "0DTJ4ZZ", "E1199", "J449", "XYZ"]
    days = [dt.date(2014, 3, 1), dt.date(2024, 3, 1), dt.date(2026, 3, 1)]
    return [
        {
            "kind": "I", "day": r.choice(days), "principal": r.choice(codes),
            "other": r.sample(codes, r.randint(0, 4)), "birth": dt.date(1960, 1, 1), "sex": "F",
        }
        for _ in range(60)
    ]


def _texts() -> list[str]:
    fixture = (FIXTURES / "claims_837p.x12").read_text()
    return [fixture, fixture.replace("20260310", "20140310"), make_837(_claims(1)), make_837(_claims(2))]


@pytest.mark.parametrize("n", range(4))
def test_shared_results_give_the_findings_of_results_kept_per_qualifier(n, default_store, monkeypatch):
    text = _texts()[n]
    shared = DocumentChecker(Verdicts(default_store)).check(text).findings
    assert shared
    monkeypatch.setattr(ClaimRules, "QUALIFIER_WORDS_ONLY", False)
    assert not CodeRules.QUALIFIER_WORDS_ONLY
    apart = DocumentChecker(Verdicts(default_store)).check(text).findings
    assert shared == apart


def _gen_837():
    spec = importlib.util.spec_from_file_location("gen_837", Path(__file__).parents[1] / "bench" / "gen_837.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mixed_837(seed: int) -> str:
    """gen_837's claims (the cold check's bench), over codes that are clean, headers, unknown,
    deleted or ICD-9, on days across the ICD-10 start and the fiscal years (other windows), some
    claims undated and some pointers past their claim's diagnoses."""
    gen = _gen_837()
    r = random.Random(seed)
    # B880 and C860: billable in FY2023, headers from FY2024 on (a window apart, no dates of their own).
    dx = ["B880", "C860", "E119", "I10", "J449", "Z0000", "S72001A", "E11", "E1199", "XYZ", "25000", "0DTJ4ZZ", "U071", "M54.5", "e119"]
    ndcs = ["00002143380", "0002-1433-80", "12345678901"]
    days = ["20140310", "20151001", "20230915", "20231001", "20250930", "20251001", "20260301"]
    claims = []
    for i in range(150):
        segs = gen.claim(i, r, dx, ndcs)
        day = r.choice(days)
        undated = r.random() < 0.15
        out = []
        for s in segs:
            if s.startswith("DTP*472"):
                if undated:
                    continue
                s = f"DTP*472*D8*{day}"
            elif s.startswith("SV1") and r.random() < 0.2:
                s = s.replace("***1:2", "***1:6")
            out.append(s)
        claims.append(out)
    return gen._interchange(claims)


@pytest.mark.parametrize("seed", range(3))
def test_the_day_tables_give_the_findings_of_the_memo_alone(seed, default_store, monkeypatch):
    """Results found by the code's text in the day's tables (CodeRules.keep_fine) against the
    same check with the tables never filled, and against results kept per qualifier."""
    text = _mixed_837(seed)
    fast = DocumentChecker(Verdicts(default_store))
    found = fast.check(text).findings
    assert fast.rules._fine_tables and {f.rule for f in found} >= {"invalid-code", "not-billable", "wrong-icd-version", "invalid-pointer"}
    monkeypatch.setattr(CodeRules, "keep_fine", lambda *a: None)
    monkeypatch.setattr(ClaimRules, "QUALIFIER_WORDS_ONLY", False)
    slow = DocumentChecker(Verdicts(default_store))
    assert slow.check(text).findings == found
    assert not slow.rules._fine_tables


def test_trim_empties_the_day_tables(default_store):
    checker = DocumentChecker(Verdicts(default_store))
    checker.check(_mixed_837(7))
    assert checker.rules._fine_by_day
    checker.trim(3)
    assert checker.rules._fine_by_day == {} and checker.rules._fine_tables == {} and len(checker.rules._memo) == 3
