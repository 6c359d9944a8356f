"""The claim edits of X12 on FHIR Claim / ExplanationOfBenefit resources: ICD-10-CM tabular
and MCE edits across a resource's diagnoses and procedures (patient from a contained or Bundle
Patient; principal by diagnosis type, else sequence 1; inpatient / outpatient from type,
subType or type of bill), NCCI edits across its item[] lines. Resources are written here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from medcode.index_builder.build import import_ncci
from medcode.index_builder.reader import IndexStore
from medcode.server.analysis import DocumentChecker
from medcode.server.claims.fhir import claim_from_fhir
from medcode.server.claim_edits.inputs import ADMITTING, OTHER, PRINCIPAL, from_fhir
from medcode.server.fhir import reader
from medcode.server.verdicts import Verdicts

from fhir_resources import NOV, bundle, eob, patient, text_of
from ncci_files import mue_file, ptp_zip

EDIT_RULES = {
    "age-conflict", "sex-conflict", "manifestation-as-principal", "unacceptable-principal", "questionable-admission",
    "external-cause-as-principal", "requires-secondary-diagnosis", "duplicate-of-principal", "excludes1", "code-first",
    "non-covered-procedure", "ncci-ptp", "mue",
}


def check(store, text: str):
    return DocumentChecker(Verdicts(store)).check(text).findings


def edits(store, text: str) -> list[tuple[str, str]]:
    return [(f.rule, f.code) for f in check(store, text) if f.rule in EDIT_RULES]


def at(text: str, code: str) -> tuple[int, int]:
    """The span of a code's value in the JSON text (exactly one occurrence)."""
    assert text.count(f'"{code}"') == 1
    start = text.index(f'"{code}"') + 1
    return start, start + len(code)


def one(findings, rule: str):
    found = [f for f in findings if f.rule == rule]
    assert len(found) == 1, found
    return found[0]


# -- what is read -------------------------------------------------------------------------------
def test_reader_gives_roles_patient_and_setting():
    doc = bundle(
        patient("p1", "2001-02-03", "female"),
        eob(dx=[(2, "I10", None), (1, "E11.9", None), (3, "R51.9", "admitting")], kind="institutional", subtype="outpatient", patient="Patient/p1",
            items=[("99213", ["25"], 2, NOV)]),
    )
    text = text_of(doc)
    (res,) = reader.read(text).resources
    assert res.patient == reader.Patient(dt.date(2001, 2, 3), "F")
    assert (res.x12_kind, res.setting, res.bill_type) == ("I", "outpatient", "13")
    claim = from_fhir(res, dt.date(2026, 1, 1))
    # Untyped: sequence 1 is the principal, listed first; the others in sequence order.
    assert [(d.code, d.role) for d in claim.diagnoses] == [("E119", PRINCIPAL), ("I10", OTHER), ("R519", ADMITTING)]
    assert (claim.diagnoses[0].start, claim.diagnoses[0].end) == at(text, "E11.9")
    assert (claim.age, claim.sex, claim.inpatient) == (25, "F", False)
    lines = claim_from_fhir(res).lines
    assert [(ln.code, ln.modifiers, ln.units, ln.date, ln.number) for ln in lines] == [("99213", ("25",), 2.0, dt.date(2026, 11, 15), "1")]
    assert (lines[0].start, lines[0].end) == at(text, "99213") and lines[0].insert_at is None


@pytest.mark.parametrize("tob, inpatient", [("0111", True), ("111", True), ("0131", False), ("13", False)])
def test_type_of_bill_decides_inpatient(tob, inpatient):
    (res,) = reader.read(text_of(eob(dx=[(1, "E11.9", None)], kind="institutional", tob=tob))).resources
    assert from_fhir(res, dt.date(2026, 1, 1)).inpatient is inpatient


def test_patient_references_resolve_contained_bundle_and_full_url():
    contained = eob(dx=[(1, "E11.9", None)], contained=[patient("pt", "1950-05-05")], patient="#pt")
    assert reader.read(text_of(contained)).resources[0].patient == reader.Patient(dt.date(1950, 5, 5), "M")
    by_url = bundle(eob(dx=[(1, "E11.9", None)], patient="urn:uuid:abc"), patient("x", "1960-01-01", "unknown"), urls=["urn:uuid:e", "urn:uuid:abc"])
    assert reader.read(text_of(by_url)).resources[0].patient == reader.Patient(dt.date(1960, 1, 1), "")
    absolute = bundle(eob(dx=[(1, "E11.9", None)], patient="https://example.org/fhir/Patient/p1/_history/3"), patient("p1"))
    assert reader.read(text_of(absolute)).resources[0].patient is not None
    missing = bundle(eob(dx=[(1, "E11.9", None)], patient="Patient/elsewhere"), patient("p1"))
    assert reader.read(text_of(missing)).resources[0].patient is None
    ndjson = "\n".join(json.dumps(r) for r in (eob(dx=[(1, "E11.9", None)], patient="Patient/p9"), patient("p9", "2020-06-01", "female")))
    assert reader.read(ndjson).resources[0].patient == reader.Patient(dt.date(2020, 6, 1), "F")


def test_institutional_without_setting_is_like_an_837i_without_type_of_bill():
    (res,) = reader.read(text_of(eob(dx=[(1, "E11.9", None)], kind="institutional"))).resources
    assert from_fhir(res, dt.date(2026, 1, 1)).inpatient and claim_from_fhir(res).bill_type == ""
    untyped = eob(dx=[(1, "E11.9", None)])
    del untyped["type"]
    (res,) = reader.read(text_of(untyped)).resources
    assert from_fhir(res, dt.date(2026, 1, 1)).kind == "" and claim_from_fhir(res).form == ""


# -- tabular and MCE edits ----------------------------------------------------------------------
def test_excludes1_pair_at_the_code_offsets(default_store):
    text = text_of(eob(dx=[(1, "E11.9", None), (2, "I10", None), (3, "O24.419", None)]))
    f = one(check(default_store, text), "excludes1")
    assert (f.start, f.end, f.code) == (*at(text, "O24.419"), "O24419")
    assert "“gestational diabetes (O24.4-)”" in f.message


def test_age_conflict_with_a_patient_and_none_without(default_store):
    dx = [(1, "I21.4", None), (2, "A48.51", None)]  # infant botulism: pediatric
    contained = text_of(eob(dx=dx, contained=[patient("pt", "1990-01-01")], patient="#pt"))
    f = one(check(default_store, contained), "age-conflict")
    assert (f.start, f.end) == at(contained, "A48.51") and "the patient is 36 on 2026-11-15" in f.message
    in_bundle = text_of(bundle(patient("p1", "1990-01-01"), eob(dx=dx, patient="Patient/p1")))
    assert ("age-conflict", "A4851") in edits(default_store, in_bundle)
    # No Patient (no reference, or one that resolves to nothing): no age, no age edit.
    assert edits(default_store, text_of(eob(dx=dx))) == []
    assert edits(default_store, text_of(eob(dx=dx, patient="Patient/nowhere"))) == []
    assert edits(default_store, text_of(eob(dx=dx, contained=[patient("pt", None)], patient="#pt"))) == []


def test_manifestation_as_principal_by_type_else_sequence_1(default_store):
    typed = text_of(eob(dx=[(1, "A39.0", None), (2, "G01", "principal")], kind="institutional", subtype="inpatient"))
    f = one(check(default_store, typed), "manifestation-as-principal")
    assert (f.start, f.end, f.code) == (*at(typed, "G01"), "G01") and "principal diagnosis" in f.message
    untyped = text_of(eob(dx=[(2, "A39.0", None), (1, "G01", None)]))
    assert ("manifestation-as-principal", "G01") in edits(default_store, untyped)
    second = text_of(eob(dx=[(1, "A39.0", None), (2, "G01", None)]))
    assert ("manifestation-as-principal", "G01") not in edits(default_store, second)


def test_inpatient_edits_only_on_inpatient_resources(default_store):
    def found(**kw):
        return edits(default_store, text_of(eob(dx=[(1, "Z00.00", None)], kind="institutional", **kw)))

    assert found(subtype="inpatient") == [("unacceptable-principal", "Z0000")]
    assert found(tob="0111") == [("unacceptable-principal", "Z0000")]
    assert found(subtype="outpatient") == []
    assert found(tob="0131") == []
    assert edits(default_store, text_of(eob(dx=[(1, "Z00.00", None)]))) == []  # professional


def test_procedures_and_sex_from_the_patient(default_store):
    text = text_of(eob(dx=[(1, "I21.4", None)], px=["0SR20JZ"], kind="institutional", subtype="inpatient",
                       contained=[patient("pt", "1960-01-01")], patient="#pt"))
    f = one(check(default_store, text), "non-covered-procedure")
    assert (f.start, f.end) == at(text, "0SR20JZ") and "over 60 (age 66)" in f.message


def test_existing_fixtures_read_their_claim_facts():
    here = Path(__file__).parent / "fixtures" / "fhir"
    (inpatient,) = reader.read((here / "bb2-eob-inpatient.json").read_text()).resources
    assert (inpatient.x12_kind, inpatient.setting, inpatient.bill_type) == ("I", "inpatient", "11")
    assert [e.role for e in inpatient.entries[:3]] == [None, ADMITTING, PRINCIPAL]
    (carrier,) = reader.read((here / "bb2-eob-carrier.json").read_text()).resources
    assert carrier.x12_kind == "P" and carrier.patient is None  # its Patient is not in the file
    assert [ln.code for ln in claim_from_fhir(carrier).lines] == ["77085"]


# -- NCCI ---------------------------------------------------------------------------------------
Q3 = "2026-08-03"


@pytest.fixture(scope="module")
def ncci_store(tmp_path_factory) -> IndexStore:
    base = tmp_path_factory.mktemp("fhir-ncci")
    files = [
        ptp_zip(base, "practitioner", "322", [("17000", "11900", "19960101", "*", "0"), ("99213", "36415", "20100101", "*", "1")]),
        ptp_zip(base, "outpatient", "322", [("96372", "96374", "20100101", "*", "0")]),
        mue_file(base, "practitioner", "07-01-2026", [("36415", 2, "2")]),
    ]
    import_ncci(base / "index", files)
    return IndexStore(base / "index")


def test_ncci_ptp_pair_on_professional_items(ncci_store):
    text = text_of(eob(items=[("17000", [], 1, Q3), ("11900", [], 1, Q3)]))
    f = one(check(ncci_store, text), "ncci-ptp")
    assert (f.start, f.end, f.code) == (*at(text, "11900"), "11900")
    assert "11900 (line 2) is column 2 of 17000 (line 1) on 2026-08-03" in f.message and "practitioner" in f.message
    # Another date of service for one of them: no pair.
    assert edits(ncci_store, text_of(eob(items=[("17000", [], 1, Q3), ("11900", [], 1, "2026-08-04")]))) == []


def test_ncci_modifiers_and_units_from_the_items(ncci_store):
    bypassed = text_of(eob(items=[("99213", ["25"], 1, Q3), ("36415", [], 1, Q3)]))
    assert edits(ncci_store, bypassed) == []
    f = one(check(ncci_store, text_of(eob(items=[("99213", [], 1, Q3), ("36415", [], 3, Q3)]))), "mue")
    assert "3 units on 2026-08-03" in f.message
    plain = one(check(ncci_store, text_of(eob(items=[("99213", [], 1, Q3), ("36415", [], 1, Q3)]))), "ncci-ptp")
    assert plain.fixes == []  # a modifier is a new Coding in JSON: no text fix


def test_ncci_institutional_outpatient_table_only_for_outpatient(ncci_store):
    items = [("96372", [], 1, Q3), ("96374", [], 1, Q3)]
    text = text_of(eob(items=items, kind="institutional", subtype="outpatient"))
    f = one(check(ncci_store, text), "ncci-ptp")
    assert (f.start, f.end) == at(text, "96374") and "outpatient hospital" in f.message
    assert edits(ncci_store, text_of(eob(items=items, kind="institutional", tob="0131"))) == [("ncci-ptp", "96374")]
    assert edits(ncci_store, text_of(eob(items=items, kind="institutional", subtype="inpatient"))) == []
    assert edits(ncci_store, text_of(eob(items=items))) == []  # not a practitioner pair
