"""A key written twice in one JSON object (RFC 8259: names SHOULD be unique; readers differ on
which value they take). medcode reads the last, as json.loads does, except for a code: every
`code` of a Coding (FHIR) or code_information entry (price transparency) is checked, and every
repeat of a key in an object medcode walks is a finding at the repeated key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcode.server.analysis import DocumentChecker
from medcode.server.findings import FHIR_STRUCTURE, HPT_STRUCTURE, Severity
from medcode.server.fhir import reader
from medcode.server.tables import hpt_json
from medcode.server.verdicts import Verdicts

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
BUNDLE = (FIXTURES / "claim-bundle.json").read_text(encoding="utf-8")
INPATIENT = (FIXTURES / "bb2-eob-inpatient.json").read_text(encoding="utf-8")
NDJSON = (FIXTURES / "claims.ndjson").read_text(encoding="utf-8")
REPEATED = BUNDLE.replace('"code": "E119"}', '"code": "E119", "code": "ZZZZ9"}')


@pytest.fixture(scope="module")
def verdicts(default_store):
    return Verdicts(default_store)


def structure(findings, rule=FHIR_STRUCTURE):
    return [f for f in findings if f.rule == rule]


def key_at(text: str, after: str, key: str = '"code"') -> int:
    """Offset of the last `key` (with its quotes) in the first `after`."""
    at = text.index(after)
    return at + after.rindex(key)


# -- FHIR --------------------------------------------------------------------------------------
def test_a_repeated_code_in_a_bundle_is_said_and_both_codes_are_checked(verdicts):
    assert REPEATED != BUNDLE
    analysis = DocumentChecker(verdicts).check(REPEATED, name="bundle.json")
    [finding] = structure(analysis.findings)
    at = key_at(REPEATED, '"code": "E119", "code": "ZZZZ9"}')
    assert (finding.start, finding.end) == (at, at + len('"code"'))
    assert finding.effective_severity == Severity.WARNING
    assert '"code" is written 2 times in this Coding' in finding.message
    assert 'checks both codes ("E119" and "ZZZZ9")' in finding.message
    codes = [s.text for s in analysis.reading.slots]
    assert "E119" in codes and "ZZZZ9" in codes
    assert ("bad-format", "ZZZZ9") in {(f.rule, f.code) for f in analysis.findings}
    # Both codes are the diagnosis's, in text order (the claim edits read them).
    [claim] = analysis.reading.resources
    assert [s.text for s in claim.entries[0].codes] == ["E119", "ZZZZ9"]


def test_an_invalid_first_code_is_no_longer_hidden_by_a_valid_last_one(verdicts):
    text = BUNDLE.replace('"code": "E119"}', '"code": "ZZZZ9", "code": "E119"}')
    analysis = DocumentChecker(verdicts).check(text, name="bundle.json")
    assert ("bad-format", "ZZZZ9") in {(f.rule, f.code) for f in analysis.findings}


def test_a_repeated_key_in_a_single_resource_says_the_last_value_is_read():
    eob = json.loads(INPATIENT)
    text = json.dumps(eob, indent=2).replace('"id": ', '"id": "first",\n  "id": ', 1)
    reading = reader.read(text)
    [finding] = structure(reading.problems)
    second = text.index('"id": ', text.index('"id": "first"') + 1)
    assert (finding.start, finding.end) == (second, second + len('"id"'))
    assert finding.message.startswith('key "id" is written 2 times in this object: medcode reads this last value (')
    assert 'not the earlier one ("first")' in finding.message
    assert reading.resources[0].id == eob["id"]  # the last, as before


def test_a_repeated_array_names_what_is_not_read():
    text = '{"resourceType": "Claim", "diagnosis": [{"sequence": 1}], "diagnosis": []}'
    [finding] = reader.read(text).problems
    assert "reads this last value (an array), not the earlier one (an array)" in finding.message


def test_three_copies_give_a_finding_at_each_repeat():
    text = '{"resourceType": "Claim", "id": "a", "id": "b", "id": "c"}'
    findings = sorted(reader.read(text).problems, key=lambda f: f.start)
    assert [text[f.start : f.end] for f in findings] == ['"id"', '"id"']
    assert [f.start for f in findings] == [text.index('"id": "b"'), text.index('"id": "c"')]
    assert 'reads only the last value ("c"), not this one ("b")' in findings[0].message
    assert 'reads this last value ("c"), not the 2 before it' in findings[1].message


def test_three_codes_are_all_checked():
    coding = '{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "A", "code": "B", "code": "C"}'
    text = '{"resourceType": "Claim", "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [' + coding + "]}}]}"
    reading = reader.read(text)
    assert [s.text for s in reading.slots] == ["A", "B", "C"]
    assert [f.message.split(";")[0] for f in reading.problems] == ['"code" is written 3 times in this Coding: medcode checks all 3 codes'] * 2


def test_ndjson_repeats_are_found_per_line_and_not_on_a_line_that_does_not_parse():
    lines = NDJSON.splitlines()
    lines[0] = lines[0].replace('"id":"n1"', '"id":"n1","id":"n1b"')
    lines[1] = lines[1].replace('"id":"n2"', '"id":"n2","id":"n2b"')  # this line does not parse
    text = "\n".join(lines) + "\n"
    reading = reader.read(text, ndjson=True)
    repeats = [f for f in reading.problems if "written 2 times" in f.message]
    assert [text[f.start : f.end] for f in repeats] == ['"id"']
    assert repeats[0].start == text.index('"id":"n1b"')
    assert [res.id for res in reading.resources] == ["n1b", "n3"]


def test_a_repeat_in_a_subtree_medcode_skips_changes_nothing():
    eob = json.loads(INPATIENT)
    plain = json.dumps(eob, indent=2)
    # A note's text is never read: the C scanner skips the subtree, keeping the last value.
    text = plain.replace('"resourceType": "ExplanationOfBenefit"', '"resourceType": "ExplanationOfBenefit", "note": [{"text": "a", "text": "b"}]', 1)
    assert text != plain
    before, after = reader.read(plain), reader.read(text)
    assert after.problems == before.problems
    assert [(s.text, s.start - len(text) + len(plain)) for s in after.slots] == [(s.text, s.start) for s in before.slots]


def test_many_repeats_of_one_key_are_read_in_linear_time():
    """A hostile object: one key 100,000 times (each message quotes at most three values)."""
    n = 100_000
    text = '{"resourceType": "Claim", ' + ", ".join(['"id": "x"'] * n) + "}"
    problems = reader.read(text).problems
    assert len(problems) == n - 1 and all(len(p.message) < 300 for p in problems)


def test_the_outline_reading_of_one_claim_reads_both_codes_too():
    coding = '{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E119", "code": "I10"}'
    text = '{"resourceType": "Claim", "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [' + coding + "]}}]}"
    claim = reader.read_claim(text)
    assert [s.text for s in claim.diagnoses] == ["E119", "I10"]


# -- price transparency JSON --------------------------------------------------------------------
HPT = (
    '{"hospital_name": "H", "version": "3.0.0", "last_updated_on": "2026-04-01", "standard_charge_information": ['
    '{"description": "d", "code_information": [{"code": "99213", "type": "CPT"}, ENTRY]}]}'
)


@pytest.mark.parametrize("entry", [
    '{"code": "99214", "code": "ZZ", "type": "CPT"}',  # the exact walk
    '{"code": "99214", "code": "ZZ"}',  # the one-match shape, one key twice
])
def test_a_repeated_code_in_a_price_file_is_said_and_both_are_checked(entry):
    text = HPT.replace("ENTRY", entry)
    reading = hpt_json.read(text)
    assert [s.text for s in reading.slots] == ["99213", "99214", "ZZ"]
    [finding] = structure(reading.problems, HPT_STRUCTURE)
    at = text.index('"code": "ZZ"')
    assert (finding.start, finding.end) == (at, at + len('"code"'))
    assert finding.effective_severity == Severity.WARNING
    assert 'written 2 times in this code_information entry: medcode checks both codes ("99214" and "ZZ")' in finding.message


def test_a_repeated_top_level_key_in_a_price_file_says_which_is_read():
    text = HPT.replace("ENTRY", '{"code": "70551", "type": "CPT"}').replace(
        '"version": "3.0.0"', '"version": "3.0.0", "version": "2.2.0"')
    reading = hpt_json.read(text)
    [finding] = structure(reading.problems, HPT_STRUCTURE)
    at = text.index('"version": "2.2.0"')
    assert (finding.start, finding.end) == (at, at + len('"version"'))
    assert 'medcode reads this last value ("2.2.0"), not the earlier one ("3.0.0")' in finding.message
    assert reading.version == "2.2.0"


@pytest.mark.parametrize("key", ["code_information", "standard_charge_information"])
def test_a_repeated_array_of_codes_in_a_price_file_has_each_checked(key):
    tail = {
        "code_information": '], "code_information": [{"code": "70551", "type": "CPT"}]}]}',
        "standard_charge_information": ']}], "standard_charge_information": [{"code_information": [{"code": "70551", "type": "CPT"}]}]}',
    }[key]
    text = HPT.replace("ENTRY", '{"code": "99214", "type": "CPT"}').replace("]}]}", tail)
    json.loads(text)
    reading = hpt_json.read(text)
    assert [s.text for s in reading.slots] == ["99213", "99214", "70551"]
    [finding] = structure(reading.problems, HPT_STRUCTURE)
    assert text[finding.start : finding.end] == f'"{key}"' and finding.start == text.rindex(f'"{key}"')
    assert f'key "{key}" is written 2 times in this object: medcode checks the codes of both values' in finding.message


def test_a_repeat_of_a_key_the_price_walk_does_not_read_changes_nothing():
    plain = HPT.replace("ENTRY", '{"code": "70551", "type": "CPT"}')
    text = plain.replace('"description": "d"', '"standard_charges": [{"setting": "a", "setting": "b"}], "description": "d", "description": "e"')
    assert structure(hpt_json.read(text).problems, HPT_STRUCTURE) == []


def test_a_repeated_type_in_a_price_file_says_the_last_is_read():
    text = HPT.replace("ENTRY", '{"code": "0450", "type": "CPT", "type": "RC"}')
    reading = hpt_json.read(text)
    [finding] = structure(reading.problems, HPT_STRUCTURE)
    assert finding.start == text.index('"type": "RC"')
    assert 'key "type" is written 2 times in this object: medcode reads this last value ("RC"), not the earlier one ("CPT")' in finding.message
    assert [(s.text, s.qualifier) for s in reading.slots] == [("99213", "CPT"), ("0450", "RC")]


def test_many_repeats_of_a_code_in_a_price_file_are_read_in_linear_time():
    n = 50_000
    text = HPT.replace("ENTRY", "{" + ", ".join(['"code": "99213"'] * n) + ', "type": "CPT"}')
    reading = hpt_json.read(text)
    assert len(reading.slots) == n + 1 and len(structure(reading.problems, HPT_STRUCTURE)) == n - 1
