"""The cold check's rule memos (issue 14) against the rules they stand for: what one code says
in one place is worked out once per distinct code and kept; a check served from the memos
gives exactly the findings of one that works every code out afresh.
"""

from __future__ import annotations

import datetime as dt
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
