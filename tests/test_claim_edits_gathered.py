"""The pre-filter's two ways of gathering a claim's diagnoses and their gates (issue 12): the
usual claim (one HI segment of diagnoses whose gates the process holds) by C loops, the others
(several HI segments, procedures, other qualifiers, codes not seen yet) by a pass over the codes
(ClaimEdits._gathered). Both must give the findings the pass gives.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
import re
import weakref
from pathlib import Path

import pytest

from claims_837 import make_837
from medcode.index_builder import layout
from medcode.server import claim_edits
from medcode.server.analysis import DocumentChecker
from medcode.server.findings import UNSPECIFIED_CODE, USE_ADDITIONAL_CODE
from medcode.server.kinds import Options
from medcode.server.verdicts import Verdicts

D = dt.date
NOV = D(2026, 11, 15)  # FY2027: CMS MCE v44

EDIT_RULES = {
    "age-conflict", "sex-conflict", "manifestation-as-principal", "unacceptable-principal",
    "external-cause-as-principal", "requires-secondary-diagnosis", "questionable-admission",
    "excludes1", "code-first", "use-additional-code", UNSPECIFIED_CODE,
}


def _edit_findings(findings) -> list[tuple[str, str]]:
    return [(f.rule, f.code) for f in findings if f.rule in EDIT_RULES]


def _claim(**kw) -> dict:
    base = dict(kind="P", day=NOV, birth=D(1960, 3, 1), sex="M", principal="I214")
    base.update(kw)
    return base


@pytest.fixture
def passes(monkeypatch):
    """How many claims went through the pass (_gathered)."""
    calls = [0]
    gathered = claim_edits.ClaimEdits._gathered

    def counted(self, *a):
        calls[0] += 1
        return gathered(self, *a)

    monkeypatch.setattr(claim_edits.ClaimEdits, "_gathered", counted)
    return calls


def _gen_837():
    spec = importlib.util.spec_from_file_location("gen_837", Path(__file__).parents[1] / "bench" / "gen_837.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench_837(store, seed: int, n: int = 300) -> str:
    """gen_837's claims (the cold check's bench) over billable codes of the index and a few that
    the claim edits speak about, for patients of either sex and any age, on days of several
    releases and MCE periods, some claims undated."""
    gen = _gen_837()
    r = random.Random(seed)
    (cm,) = store.releases("icd10cm")[-1:]
    dx = r.sample(list(cm.keys("", layout.FLAG_CODE)), 150)
    dx += ["O24419", "Z3800", "V0001XA", "F0280", "E089", "E243", "E119", "I10", "G8100", "N401", "G01", "A4851", "XYZ"] * 3
    days = ["20231001", "20240301", "20240930", "20250930", "20251001", "20261115"]
    claims = []
    for i in range(n):
        day = r.choice(days)
        undated = r.random() < 0.1
        out = []
        for s in gen.claim(i, r, dx, ["00002143380"]):
            if s.startswith("DTP*472"):
                if undated:
                    continue
                s = f"DTP*472*D8*{day}"
            elif s.startswith("DMG*"):
                s = f"DMG*D8*{r.randint(1930, 2026)}0101*{r.choice('MFU')}"
            out.append(s)
        claims.append(out)
    return gen._interchange(claims)


@pytest.mark.parametrize("rules_on", [frozenset(), frozenset({UNSPECIFIED_CODE, USE_ADDITIONAL_CODE})])
def test_the_usual_claims_gathered_by_c_loops_give_the_findings_of_the_pass(rules_on, default_store, monkeypatch, passes):
    text = _bench_837(default_store, 0)
    options = Options(rules_on=rules_on)
    DocumentChecker(Verdicts(default_store)).check(text, options=options)  # the process's gates
    passes[0] = 0
    fast = DocumentChecker(Verdicts(default_store)).check(text, options=options).findings
    assert passes[0] < 30  # of 300 claims: the others were gathered by the C loops
    monkeypatch.setattr(claim_edits, "_DX_QUALIFIER", lambda qualifier: False)  # every claim to the pass
    slow = DocumentChecker(Verdicts(default_store)).check(text, options=options).findings
    assert passes[0] > 250
    assert fast == slow
    assert {r for r, _ in _edit_findings(slow)} >= {"excludes1", "sex-conflict", "age-conflict", "external-cause-as-principal"}


def test_claims_left_to_the_pass_still_get_their_edits(default_store, monkeypatch, passes):
    """Codes the process has no gates of yet (worked out by the pass), then the same codes in
    two HI segments: each claim gets the edits it gets as one segment with its gates held."""
    pairs = [
        _claim(principal="E119", other=["I10", "O24419"], sex="F", birth=D(1990, 1, 1)),  # excludes1
        _claim(principal="V0001XA", other=["I10"]),  # external cause listed first
        _claim(principal="I10", other=["Z3800"]),  # a newborn's code at 66
    ]
    text = make_837(pairs)
    monkeypatch.setattr(claim_edits, "_GATES", weakref.WeakKeyDictionary())  # none held yet
    first = _edit_findings(DocumentChecker(Verdicts(default_store)).check(text).findings)
    assert passes[0] == len(pairs)
    assert {r for r, _ in first} >= {"excludes1", "external-cause-as-principal", "age-conflict"}
    passes[0] = 0
    held = _edit_findings(DocumentChecker(Verdicts(default_store)).check(text).findings)
    assert passes[0] == 0 and held == first
    # Each claim's last diagnosis in an HI segment of its own.
    split = re.sub(r"\*(ABF:\w+)~", r"~\nHI*\1~", text)
    assert split.count("\nHI*") == 2 * len(pairs)
    two = _edit_findings(DocumentChecker(Verdicts(default_store)).check(split).findings)
    assert passes[0] == len(pairs) and two == first
