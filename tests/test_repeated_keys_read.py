"""Repeated keys where the FHIR reader takes a value without positions (session 33).

Session 32 made a repeat in the objects the reader walks a finding; the values it decodes in
one call of the json module (a Claim's type and subType, patient, total, contained, an item's
quantity and net, a diagnosis' type, a supportingInfo's category) kept the last value of a
repeated key without a word. Each is now said at the repeated key, naming the value read, and
where the repeat changes a check (a date, the claim type, a sequence pointers name, units, the
patient, a role, the type of bill) the message says what was used. Every case is read alone, in
a Bundle and as NDJSON; each fails on the reader before session 33 (no finding, or no `so ...`).
"""

from __future__ import annotations

import json

import pytest

from medcode.server.findings import FHIR_STRUCTURE, Severity
from medcode.server.fhir import reader
from medcode.server.tables import hpt_json

CT = "http://terminology.hl7.org/CodeSystem/claim-type"
CLAIM = (
    '{"resourceType": "Claim", "id": "c1", "billablePeriod": {"start": "2026-02-02"}, EXTRA'
    '"diagnosis": [{"sequence": 1, DXEXTRA"diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E119"}]}}], '
    '"item": [{"sequence": 1, ITEMEXTRA"diagnosisSequence": [1], '
    '"productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}}]}'
)
PATIENT = '{"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-05-05"}'


def claim(extra: str = "", dx: str = "", item: str = "") -> str:
    return CLAIM.replace("DXEXTRA", dx).replace("ITEMEXTRA", item).replace("EXTRA", extra)


def forms(resource: str, patient: str = PATIENT) -> dict[str, tuple[str, bool]]:
    """The resource alone, in a Bundle (after a Patient entry) and as NDJSON (after a Patient line)."""
    bundle = ('{"resourceType": "Bundle", "type": "collection", "entry": [\n  {"fullUrl": "urn:uuid:p1", "resource": '
              + patient + '},\n  {"fullUrl": "urn:uuid:c1", "resource": ' + resource + "}\n]}")
    return {"alone": (resource, False), "bundle": (bundle, False), "ndjson": (patient + "\n" + resource + "\n", True)}


FORMS = ["alone", "bundle", "ndjson"]


def repeats(text: str, ndjson: bool):
    reading = reader.read(text, ndjson=ndjson)
    assert reading is not None and reading.ndjson == ndjson
    return reading, [p for p in reading.problems if p.rule == FHIR_STRUCTURE]


# (name, the claim, the repeated key's copy found (its text just after the key), what the message says)
DECODED = [
    ("type", claim(extra=f'"type": {{"coding": [{{"system": "{CT}", "code": "institutional", "code": "professional"}}]}}, '),
     '"code": "professional"',
     'medcode reads this last value ("professional"), not the earlier one ("institutional"), so this Claim is checked as a professional claim (837P-like edits)'),
    ("subType", claim(extra=f'"type": {{"coding": [{{"system": "{CT}", "code": "institutional"}}]}}, '
                            '"subType": {"coding": [{"system": "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBInstitutionalClaimSubType", '
                            '"code": "outpatient", "code": "inpatient"}]}, '),
     '"code": "inpatient"',
     'not the earlier one ("outpatient"), so this Claim is checked as an institutional claim (inpatient; 837I-like edits)'),
    ("patient", claim(extra='"patient": {"reference": "Patient/p9", "reference": "Patient/p1"}, '),
     '"reference": "Patient/p1"',
     'not the earlier one ("Patient/p9"), so the patient whose age and sex the edits use is Patient/p1'),
    ("contained", claim(extra='"contained": [{"resourceType": "Patient", "id": "c", "birthDate": "1950-01-01", "birthDate": "2020-01-01"}], '),
     '"birthDate": "2020-01-01"',
     'medcode reads this last value ("2020-01-01"), not the earlier one ("1950-01-01");'),
    ("total", claim(extra='"total": {"value": 10, "value": 20}, '),
     '"value": 20}',
     "medcode reads this last value (20), not the earlier one (10);"),
    ("diagnosis type", claim(dx='"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": "admitting", "code": "principal"}]}], '),
     '"code": "principal"',
     'not the earlier one ("admitting"), so this diagnosis is read as principal'),
    ("category", claim(extra='"supportingInfo": [{"sequence": 1, "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", '
                             '"code": "typeofbill", "code": "info"}]}, "code": {"coding": [{"system": "x", "code": "0111"}]}}], '),
     '"code": "info"',
     'not the earlier one ("typeofbill"), so medcode reads no type of bill'),
    ("quantity", claim(item='"quantity": {"value": 1, "value": 3}, '),
     '"value": 3}',
     "medcode reads this last value (3), not the earlier one (1), so this item's units are 3;"),
    ("net", claim(item='"net": {"value": 1, "currency": "USD", "value": 3}, '),
     '"value": 3}',
     "medcode reads this last value (3), not the earlier one (1);"),
]

# Keys of objects the reader walks (said since session 32), whose message now says what was used.
WALKED = [
    ("servicedDate", claim(item='"servicedDate": "2026-01-02", "servicedDate": "2019-01-02", '),
     '"servicedDate": "2019-01-02"', "so this item's codes are judged on 2019-01-02;"),
    ("servicedPeriod.start", claim(item='"servicedPeriod": {"start": "2026-01-02", "start": "2019-01-02"}, '),
     '"start": "2019-01-02"', "so this item's codes are judged on 2019-01-02;"),
    ("a last date that is no date", claim(item='"servicedDate": "2026-01-02", "servicedDate": "2019", '),
     '"servicedDate": "2019"', "so this item's codes are judged on 2026-02-02;"),  # the claim's date
    ("billablePeriod.start", claim().replace('{"start": "2026-02-02"}', '{"start": "2026-02-02", "start": "2019-02-02"}'),
     '"start": "2019-02-02"', "so codes without a date of their own in this Claim are judged on 2019-02-02;"),
    ("billablePeriod", claim().replace('"billablePeriod": {"start": "2026-02-02"}', '"billablePeriod": {"start": "2026-02-02"}, "billablePeriod": {}'),
     '"billablePeriod": {}', "so codes without a date of their own in this Claim have no date medcode reads;"),
    ("procedure date", claim(extra='"procedure": [{"sequence": 1, "date": "2026-01-03", "date": "2019-01-03", '
                                   '"procedureCodeableConcept": {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": "0DTJ4ZZ"}]}}], '),
     '"date": "2019-01-03"', "so this procedure's codes are judged on 2019-01-03;"),
    ("diagnosis sequence", claim(dx='"sequence": 2, '), '"sequence": 2', "so this diagnosis is sequence 2, the number diagnosisSequence pointers name;"),
    ("diagnosisSequence", claim(item='"diagnosisSequence": [2], '), '"diagnosisSequence": [1]', "so this item's diagnosis pointers are 1;"),
    ("type", claim(extra=f'"type": {{"coding": [{{"system": "{CT}", "code": "institutional"}}]}}, "type": {{"coding": [{{"system": "{CT}", "code": "oral"}}]}}, '),
     '"type": {"coding": [{"system": "' + CT + '", "code": "oral"', "so this Claim is checked as an oral claim (837D-like edits);"),
    ("diagnosis type key", claim(dx='"type": [{"coding": [{"system": "x", "code": "admitting"}]}], "type": [{"coding": [{"system": "x", "code": "principal"}]}], '),
     '"type": [{"coding": [{"system": "x", "code": "principal"', "so this diagnosis is read as principal;"),
    ("type of bill", claim(extra='"supportingInfo": [{"sequence": 1, "category": {"coding": [{"code": "typeofbill"}]}, '
                                 '"code": {"coding": [{"system": "https://www.nubc.org/CodeSystem/TypeOfBill", "code": "0111", "code": "0131"}]}}], '),
     '"code": "0131"', "so the type of bill medcode reads is 0131;"),
]


def _check_said(name: str, resource: str, copy: str, said: str, form: str) -> None:
    text, ndjson = forms(resource)[form]
    assert json.loads(text.splitlines()[-1] if ndjson else text)  # valid JSON: json.loads takes the last
    reading, found = repeats(text, ndjson)
    [finding] = found
    at = text.index(copy)
    key = copy[: copy.index(":")]
    assert (finding.start, finding.end) == (at, at + len(key)), name
    assert finding.effective_severity == Severity.WARNING
    assert f"key {key} is written 2 times in this object: " in finding.message
    assert said in finding.message, finding.message


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name,resource,copy,said", DECODED, ids=[c[0] for c in DECODED])
def test_a_repeat_in_a_value_read_without_positions_is_said(name, resource, copy, said, form):
    _check_said(name, resource, copy, said, form)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name,resource,copy,said", WALKED, ids=[c[0] for c in WALKED])
def test_a_repeat_that_changes_a_check_says_what_was_used(name, resource, copy, said, form):
    _check_said(name, resource, copy, said, form)


@pytest.mark.parametrize("form", FORMS)
def test_what_was_used_is_what_the_checks_get(form):
    """The message and the reading agree: the last value of each is what the claim edits read."""
    resource = claim(
        extra=f'"type": {{"coding": [{{"system": "{CT}", "code": "institutional", "code": "professional"}}]}}, ',
        item='"servicedDate": "2026-01-02", "servicedDate": "2019-01-02", "quantity": {"value": 1, "value": 3}, ',
    )
    text, ndjson = forms(resource)[form]
    reading, found = repeats(text, ndjson)
    assert len(found) == 3
    [res] = reading.resources
    assert (res.claim_type, res.x12_kind) == ("professional", "P")
    [item] = res.items
    assert (str(item.date), item.units) == ("2019-01-02", 3.0)
    assert {s.line.date.isoformat() for s in res.services} == {"2019-01-02"}


@pytest.mark.parametrize("form", ["bundle", "ndjson"])
@pytest.mark.parametrize("key,copy,said", [
    ("birthDate", '"birthDate": "2020-05-05"', "so the age edits take the birth date 2020-05-05;"),
    ("gender", '"gender": "male"', "so the sex edits take the sex M;"),
])
def test_a_patient_resource_repeat_says_what_the_edits_take(form, key, copy, said):
    patient = PATIENT.replace('"gender": "female", "birthDate": "1950-05-05"', {
        "birthDate": '"gender": "female", "birthDate": "1950-05-05", "birthDate": "2020-05-05"',
        "gender": '"gender": "female", "birthDate": "1950-05-05", "gender": "male"',
    }[key])
    text, ndjson = forms(claim(extra='"patient": {"reference": "Patient/p1"}, '), patient)[form]
    reading, [finding] = repeats(text, ndjson)
    assert finding.start == text.index(copy) and said in finding.message


def test_three_copies_in_a_decoded_value_give_a_finding_at_each_repeat():
    resource = claim(item='"quantity": {"value": 1, "value": 2, "value": 3}, ')
    reading, found = repeats(resource, False)
    assert [f.start for f in sorted(found, key=lambda f: f.start)] == [resource.index('"value": 2'), resource.index('"value": 3')]
    assert all("so this item's units are 3" in f.message for f in found)


def test_no_repeat_no_finding_even_where_a_string_looks_like_a_key():
    """An escaped quote before a colon inside a string makes the quick count doubt (may_repeat):
    the walk again finds no repeat, and says nothing."""
    resource = claim(extra=r'"type": {"coding": [{"system": "' + CT + r'", "code": "professional", "display": "a\": b\" :"}]}, ')
    for text, ndjson in forms(resource).values():
        reading, found = repeats(text, ndjson)
        assert found == [] and reading.resources[0].claim_type == "professional"


def test_a_repeat_inside_a_contained_resource_medcode_does_not_read_is_not_said():
    """Of a contained resource medcode reads its resourceType, id, birthDate and gender: a
    repeat deeper (an Organization's contact) changes nothing it checks."""
    resource = claim(extra='"contained": [{"resourceType": "Organization", "id": "o", "contact": [{"name": {"text": "a", "text": "b"}}]}], ')
    reading, found = repeats(resource, False)
    assert found == []


def test_a_deeply_nested_decoded_value_does_not_crash():
    """Deeper than the walk goes but not than the C scanner: read as before, nothing said."""
    deep = '{"a": ' * 700 + '{"value": 1, "value": 2}' + "}" * 700
    resource = claim(item=f'"quantity": {deep}, ')
    reading = reader.read(resource)
    assert reading is not None and len(reading.resources) == 1 and reading.resources[0].items[0].units is None


def test_the_outline_reading_of_one_claim_is_unchanged_by_a_decoded_repeat():
    resource = claim(extra=f'"type": {{"coding": [{{"system": "{CT}", "code": "institutional", "code": "professional"}}]}}, ')
    assert reader.read_claim(resource).claim_type == "professional"


# -- price transparency JSON --------------------------------------------------------------------
HPT = (
    '{"hospital_name": "H", "version": "3.0.0", "last_updated_on": "2026-04-01", "standard_charge_information": ['
    '{"description": "d", "code_information": [{"code": "99213", "type": "CPT"}], TAIL}]}'
)


@pytest.mark.parametrize("tail,said", [
    ('"code_information": null', 'medcode checks the codes of the array among its values and reads nothing of the other value (null);'),
    ('"code_information": {"code": "70551", "type": "CPT"}', "checks the codes of the array among its values and reads nothing of the other value (an object);"),
    ('"code_information": 1, "code_information": 2', "checks the codes of the array among its values and reads nothing of the other 2 values;"),
])
def test_a_price_item_code_information_repeated_as_no_array_is_said(tail, said):
    """A code_information that is no array beside one that is: before, only arrays were counted."""
    text = HPT.replace("TAIL", tail)
    reading = hpt_json.read(text)
    assert [s.text for s in reading.slots] == ["99213"]
    found = [p for p in reading.problems if p.rule == "hpt-structure"]
    starts = [i for i in range(len(text)) if text.startswith('"code_information"', i)][1:]
    assert [f.start for f in found] == starts
    assert all(said in f.message for f in found), found[0].message


def test_a_top_level_standard_charge_information_that_is_no_array_is_said_so():
    text = HPT.replace(", TAIL", "").replace('"version": "3.0.0"', '"standard_charge_information": 5, "version": "3.0.0"')
    reading = hpt_json.read(text)
    [finding] = [p for p in reading.problems if p.rule == "hpt-structure"]
    assert "medcode checks the codes of the array among its values and reads nothing of the other value (5);" in finding.message
