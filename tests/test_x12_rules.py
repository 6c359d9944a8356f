"""X12 837P/I/D: every seeded error found with its rule and exact range; valid codes silent.

The fixtures in tests/fixtures/x12 are written for these tests in the 5010 layouts; the codes
are checked against the embedded defaults (ICD-10-CM / PCS FY2023-FY2027, HCPCS to 2026-Q2, NDC 2019).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medcode.server.analysis import DocumentChecker
from medcode.server.positions import LineIndex
from medcode.server.verdicts import Verdicts

FIXTURES = Path(__file__).parent / "fixtures" / "x12"


def place(text: str, line_prefix: str, needle: str) -> tuple[int, int, int]:
    """(line, start character, end character) of needle on the first line starting with prefix."""
    for n, line in enumerate(text.splitlines()):
        if line.startswith(line_prefix):
            col = line.index(needle)
            return n, col, col + len(needle)
    raise AssertionError(f"no line starts with {line_prefix!r}")


def findings(text: str, store):
    a = DocumentChecker(Verdicts(store)).check(text)
    index = LineIndex(text)
    out = []
    for f in a.findings:
        (l1, c1), (l2, c2) = index.position(f.start), index.position(f.end)
        assert l1 == l2
        out.append((f.rule, l1, c1, c2, f))
    return out


def by_place(found):
    return {(rule, line, c1, c2) for rule, line, c1, c2, _ in found}


@pytest.fixture(scope="module")
def p837(default_store):
    text = (FIXTURES / "claims_837p.x12").read_text()
    return text, findings(text, default_store)


def test_837p_seeded_errors_have_rule_and_exact_range(p837):
    text, found = p837
    hi = "HI*ABK:E11*"
    expected = {
        ("not-billable", *place(text, hi, "E11*")[:2], place(text, hi, "E11*")[1] + 3),
        ("bad-format", *place(text, hi, "E11.9")),
        ("invalid-code", *place(text, hi, "E1199")),
        ("wrong-code-set", *place(text, hi, "0DTJ4ZZ")),
        ("not-billable", *place(text, hi, "S72001")),
        ("bad-format", *place(text, "SV1*HC:478331", "478331")),
        ("invalid-pointer", *place(text, "SV1*HC:478331", "9")),
        ("bad-format", *place(text, "LIN**N4*0002", "0002-8215-01")),
        ("wrong-icd-version", *place(text, "HI*BK:25000", "25000")),
    }
    assert expected <= by_place(found)
    # Nothing else but the one note that CPT codes could only be syntax-checked (HCPCS codes and
    # modifiers are judged by the embedded CMS I/OCE tables).
    others = [f for rule, line, c1, c2, f in found if (rule, line, c1, c2) not in expected]
    # (and, with no NCCI files imported, that NCCI edits were not checked)
    assert sorted((f.rule, f.code_set) for f in others) == [("not-in-index", "cpt"), ("not-in-index", "ncci")]
    assert all(f.effective_severity.label == "information" for f in others)


def test_837p_valid_claim_is_silent(p837):
    text, found = p837
    valid_lines = range(place(text, "CLM*VALID01", "VALID01")[0], place(text, "HL*3*", "HL")[0])
    assert [f.message for rule, line, *_, f in found if line in valid_lines and f.rule != "not-in-index"] == []


def test_837p_messages_and_fixes(p837):
    _, found = p837
    by = {(f.rule, f.code): f for *_, f in found}
    dotted = by[("bad-format", "E11.9")]
    assert [(x.title, x.text) for x in dotted.fixes] == [("Change to E119", "E119")]
    header = by[("not-billable", "E11")]
    assert "87 billable codes" in header.message
    assert header.fixes[0].text == "E119" and len(header.fixes) == 5
    seventh = by[("not-billable", "S72001")]
    assert "needs a 7th character" in seventh.message
    assert seventh.fixes[0].title.startswith("Add 7th character A: S72.001A")
    assert all(x.text.startswith("S72001") and len(x.text) == 7 for x in seventh.fixes)
    ndc = by[("bad-format", "0002-8215-01")]
    assert [x.text for x in ndc.fixes] == ["00002821501"]
    icd9 = by[("wrong-icd-version", "25000")]
    assert icd9.fixes[0].text == "ABK" and "2026-03-10" in icd9.message
    wrong = by[("wrong-code-set", "0DTJ4ZZ")]
    assert "Resection of Appendix" in wrong.message
    assert "E11.99 is not a code in ICD-10-CM FY2026 (CMS MCE v43 tables)" == by[("invalid-code", "E1199")].message


def test_837i_procedures_dates_and_revenue_codes(default_store):
    text = (FIXTURES / "claims_837i.x12").read_text()
    found = findings(text, default_store)
    bbq = "HI*BBR:02703ZZ"
    assert by_place(found) >= {
        ("wrong-code-set", *place(text, bbq, "E119")),
        ("bad-format", *place(text, bbq, "0DTJ4ZO")),
        ("bad-format", *place(text, "SV2*305", "305")),
        # The embedded FY2024 release is in force on 2024-04-20 and complete: Z99.99 is no code.
        ("invalid-code", *place(text, "HI*ABF:Z9999", "Z9999")),
    }
    silent = {"I214", "02703ZZ", "0DTJ4ZZ"}
    assert not [f for *_, f in found if f.code in silent]
    z = next(f for *_, f in found if f.code == "Z9999")
    assert z.effective_severity.label == "error" and z.message == "Z99.99 is not a code in ICD-10-CM FY2024 (CMS MCE v41 tables)"


def test_837d_cdt_and_pointers(default_store):
    text = (FIXTURES / "claims_837d.x12").read_text()
    found = findings(text, default_store)
    line, col, _ = place(text, "SV3*AD:2391", "1:3")
    assert by_place(found) == {
        ("bad-format", *place(text, "SV3*AD:2391", "2391")),
        ("invalid-pointer", line, col + 2, col + 3),  # the 3 of 1:3: the claim has 2 diagnoses
    }


def test_icd10_qualifier_before_the_transition(default_store):
    text = (FIXTURES / "claims_837p.x12").read_text().replace("20260310", "20140310")
    found = findings(text, default_store)
    versions = [f for *_, f in found if f.rule == "wrong-icd-version"]
    # Every ICD-10 diagnosis of claims dated 2014 is flagged; the ICD-9 one is then fine.
    assert {f.code for f in versions} == {"E119", "I10", "S72001A", "E11", "E11.9", "E1199", "0DTJ4ZZ", "S72001"}
    fixes = {f.code: f.fixes[0].text for f in versions}
    assert fixes["E119"] == fixes["E11"] == "BK" and fixes["I10"] == fixes["E1199"] == "BF"
    assert not [f for *_, f in found if f.code == "25000"]


def test_composite_separator_that_disagrees_with_isa16(default_store):
    text = (FIXTURES / "claims_837p.x12").read_text()
    # As in LinuxForHealth's demo.example6.837: ISA16 says ':' but every composite uses '>'.
    bent = "\n".join(
        line.replace(":", ">") if line.startswith(("HI*", "SV1*", "CLM*")) else line for line in text.splitlines()
    )
    found = findings(bent, default_store)
    structure = [f for *_, f in found if f.rule == "x12-structure"]
    assert len(structure) == 1 and "composites use '>'" in structure[0].message
    assert structure[0].fixes[0].text == ">"
    assert ("not-billable", "E11") in {(f.rule, f.code) for *_, f in found}


def test_a_result_that_names_its_day_is_kept_for_that_day_only(default_store):
    """Day-sensitivity travels on the result: two days the same releases answer share a
    result unless its message names the day (then each day gets its own)."""
    import datetime as dt

    from medcode.index_builder.codesets import ICD10CM
    from medcode.server.verdicts import Verdicts
    from medcode.server.x12.rules import ClaimRules
    from medcode.server.x12.slots import make_slot

    rules = ClaimRules(Verdicts(default_store))
    code = (ICD10CM, "E119", 0, "ABK", None, "HI01-02", True)
    early = [dt.date(2014, 1, 2), dt.date(2014, 6, 3)]  # before ICD-10: the message names the day
    results = [rules.cached(ICD10CM, "E119", "ABK", 0, day, lambda: make_slot(code), None) for day in early]
    assert all(r.day_sensitive for r in results)
    assert [day.isoformat() in r.findings[0].message for r, day in zip(results, early)] == [True, True]
    clean = rules.cached(ICD10CM, "E119", "ABK", 0, dt.date(2025, 1, 2), lambda: make_slot(code), None)
    assert clean.findings == [] and not clean.day_sensitive
