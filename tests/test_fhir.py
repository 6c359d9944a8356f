"""FHIR R4 Claim / ExplanationOfBenefit: recognition, code places by Coding system, exact
offsets, per-item dates, pointers, rules, malformed JSON and NDJSON, `medcode check`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from medcode.index_builder.codesets import CPT, ICD10CM, ICD10PCS, NDC
from medcode.server import kinds
from medcode.server import places
from medcode.server import reading as r
from medcode.server.analysis import DocumentChecker
from medcode.server.findings import DISPLAY_MISMATCH, FHIR_STRUCTURE, OFF_BY_DEFAULT, RULES, Severity
from medcode.server.fhir import jsontree, reader
from medcode.server.fhir.systems import expects_at
from medcode.server.places import ICD9_DX, ICD9_PROC, MODIFIER, POINTER
from medcode.server.positions import LineIndex
from medcode.server.verdicts import Verdicts

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
SEEDED = FIXTURES / "eob-seeded-errors.json"
CARRIER = FIXTURES / "bb2-eob-carrier.json"
INPATIENT = FIXTURES / "bb2-eob-inpatient.json"
BUNDLE = FIXTURES / "claim-bundle.json"
NDJSON = FIXTURES / "claims.ndjson"
MALFORMED = FIXTURES / "eob-malformed.json"


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def verdicts(default_store):
    return Verdicts(default_store)


def check(verdicts, path: Path, options: kinds.Options = kinds.Options()):
    return DocumentChecker(verdicts).check(text_of(path), name=str(path), options=options)


def found(analysis) -> set[tuple[str, str]]:
    return {(f.rule, f.code) for f in analysis.findings}


# -- the JSON tree ---------------------------------------------------------------------------
def test_tree_keeps_exact_offsets_and_knows_escaped_strings():
    text = '{"a": [1, {"code": "E11.9"}], "b": "x\\u0041y", "skip": {"deep": [1, 2]}}'
    root = jsontree.parse(text, keep=frozenset({"a", "b", "code"}))
    code = root.get("a").items[1].get("code")
    assert text[code.content_start : code.end - 1] == "E11.9" and code.exact
    assert root.get("b").value == "xAy" and not root.get("b").exact
    assert root.get("skip").kind == jsontree.SKIPPED and root.get("skip").end == len(text) - 1


@pytest.mark.parametrize(
    "text, message, offset",
    [
        ('{"a": 1 "b": 2}', "Expecting ',' delimiter", 8),
        ('{"a": [1, 2}', "Expecting ',' delimiter", 11),
        ('{"a": "open', "Unterminated string starting at", 6),
        ("", "Expecting value", 0),
        ('{"a": 1} x', "Extra data", 9),
    ],
)
def test_malformed_json_says_what_and_where_like_the_json_module(text, message, offset):
    with pytest.raises(jsontree.Malformed) as e:
        jsontree.parse(text)
    assert (e.value.message, e.value.offset) == (message, offset)


# -- systems -----------------------------------------------------------------------------------
def test_the_set_comes_from_the_system_uri_and_the_place():
    assert expects_at("http://hl7.org/fhir/sid/icd-10-cm", "diagnosis") == ICD10CM
    assert expects_at("http://www.cms.gov/Medicare/Coding/ICD10", "procedure") == ICD10PCS
    assert expects_at("http://hl7.org/fhir/sid/icd-9-cm", "diagnosis") == ICD9_DX
    assert expects_at("http://hl7.org/fhir/sid/icd-9-cm", "procedure") == ICD9_PROC
    assert expects_at("http://www.ama-assn.org/go/cpt", "item") == CPT
    assert expects_at("http://www.ama-assn.org/go/cpt", "modifier") == MODIFIER
    assert expects_at("https://bluebutton.cms.gov/resources/codesystem/hcpcs", "item") == places.PROCEDURE
    assert expects_at("http://hl7.org/fhir/sid/ndc", "item") == NDC
    assert expects_at("https://www.nubc.org/CodeSystem/RevenueCodes", "revenue") == places.REVENUE
    # Blue Button's own variables are not code sets, but for rev_cntr (the claim line's NUBC
    # revenue code); unknown URIs are not either.
    assert expects_at("https://bluebutton.cms.gov/resources/variables/rev_cntr", "revenue") == places.REVENUE
    assert expects_at("https://bluebutton.cms.gov/resources/variables/clm_drg_cd", "diagnosis") is None
    assert expects_at("http://snomed.info/sct", "diagnosis") is None


# -- the reader on real Blue Button 2.0 files ------------------------------------------------------
def test_blue_button_carrier_eob_slots_at_exact_offsets():
    text = text_of(CARRIER)
    reading = reader.read(text)
    assert reading is not None and reading.kind == r.FHIR and not reading.problems
    [res] = reading.resources
    assert (res.resource_type, res.id, res.date) == ("ExplanationOfBenefit", "carrier-22639159481", dt.date(2015, 12, 1))
    assert all(text[s.start : s.end] == s.text for s in reading.slots)
    assert [(s.expects, s.text) for s in reading.slots] == [
        (ICD10CM, "M810"), (ICD10CM, "9999999"), (POINTER, "2"), (places.PROCEDURE, "77085"),
    ]
    assert res.sequences.keys() == {1, 2}
    assert res.by_sequence[2].text == "9999999"
    # The system string is explained on hover.
    assert any(h.text == "https://bluebutton.cms.gov/resources/codesystem/hcpcs" for h in reading.headers)


def test_blue_button_inpatient_icd9_before_the_transition_is_clean(verdicts):
    analysis = check(verdicts, INPATIENT)
    assert analysis.kind == r.FHIR
    reading = analysis.reading
    # The DRG is a Blue Button variable; the lines' revenue codes (rev_cntr) are NUBC's, 0001
    # (the total charges line) among them.
    assert {s.expects for s in reading.slots} == {ICD9_DX, places.REVENUE}
    assert [s.text for s in reading.slots if s.expects == places.REVENUE][-1] == "0001"
    assert analysis.findings == []


def test_blue_button_revenue_code_of_the_wrong_shape_is_found(verdicts, tmp_path):
    eob = json.loads(INPATIENT.read_text())
    coding = eob["item"][0]["revenue"]["coding"][0]
    assert coding["system"] == "https://bluebutton.cms.gov/resources/variables/rev_cntr"
    coding["code"] = "11A"
    path = tmp_path / "eob.json"
    path.write_text(json.dumps(eob, indent=2))
    [finding] = check(verdicts, path).findings
    assert (finding.rule, text_of(path)[finding.start : finding.end]) == ("bad-format", "11A")


def test_blue_button_carrier_findings(verdicts):
    analysis = check(verdicts, CARRIER)
    assert found(analysis) == {("bad-format", "9999999"), ("not-in-index", "")}
    assert not any(f.rule == DISPLAY_MISMATCH for f in analysis.findings)


# -- rules on the seeded file ----------------------------------------------------------------
SEEDED_EXPECTED = {
    ("not-billable", "E11"),
    ("bad-format", "E1.19"),
    (FHIR_STRUCTURE, ""),
    ("wrong-code-set", "E11.9"),
    ("wrong-icd-version", "0DTJ4ZZ"),
    ("bad-format", "1234"),
    ("invalid-pointer", "9"),
    ("not-in-index", ""),  # no CPT data installed
    ("bad-format", "X!"),
    ("bad-format", "45"),
    ("bad-format", "1234567890"),
}


def test_seeded_errors_each_found_and_nothing_else(verdicts):
    analysis = check(verdicts, SEEDED)
    assert found(analysis) == SEEDED_EXPECTED
    text = text_of(SEEDED)
    for f in analysis.findings:
        if f.code:
            assert text[f.start : f.end] == f.code
    # The narrative's '"code": "Z99.999"' and the Blue Button variable are no code places.
    assert "Z99.999" not in {s.text for s in analysis.reading.slots} and "XYZ" not in {s.text for s in analysis.reading.slots}


def test_fixes_keep_the_dotted_form_and_rewrite_the_system(verdicts):
    analysis = check(verdicts, SEEDED)
    text = text_of(SEEDED)
    header = next(f for f in analysis.findings if f.rule == "not-billable")
    assert header.fixes and all("." in fix.text for fix in header.fixes)
    assert "E11.9" in {fix.text for fix in header.fixes}
    dot = next(f for f in analysis.findings if f.code == "E1.19")
    assert [fix.text for fix in dot.fixes] == ["E11.9"]
    wrong = next(f for f in analysis.findings if f.rule == "wrong-code-set")
    [fix] = wrong.fixes
    assert fix.text == "http://hl7.org/fhir/sid/icd-10-cm"
    assert text[fix.start : fix.end] == "http://www.cms.gov/Medicare/Coding/ICD10"


def test_each_code_is_judged_on_its_own_date(verdicts):
    reading = check(verdicts, SEEDED).reading
    dates = {s.text: s.line.date for s in reading.slots}
    assert dates["0DTJ4ZZ"] == dt.date(2015, 6, 1)  # procedure.date
    assert dates["55111-0158-10"] == dt.date(2026, 3, 11)  # item.servicedPeriod.start
    assert dates["E11"] == dt.date(2026, 3, 10)  # billablePeriod.start


def test_display_mismatch_is_off_by_default_and_exact_when_on(verdicts):
    assert DISPLAY_MISMATCH in OFF_BY_DEFAULT and RULES[DISPLAY_MISMATCH][0] == Severity.WARNING
    text = text_of(SEEDED)
    on = check(verdicts, SEEDED, kinds.Options(rules_on=frozenset({DISPLAY_MISMATCH})))
    mismatches = [f for f in on.findings if f.rule == DISPLAY_MISMATCH]
    assert {text[f.start : f.end] for f in mismatches} == {"Heart attack", "Café 😀"}
    heart = next(f for f in mismatches if text[f.start : f.end] == "Heart attack")
    assert heart.fixes[0].text == "Essential (primary) hypertension"
    # The right description in another case or spacing is not a mismatch (E11.9's display).
    assert not any(text[f.start : f.end].startswith("Type 2") for f in mismatches)


def test_utf16_positions_after_an_emoji(verdicts):
    text = text_of(SEEDED)
    analysis = check(verdicts, SEEDED, kinds.Options(rules_on=frozenset({DISPLAY_MISMATCH})))
    cafe = next(f for f in analysis.findings if text[f.start : f.end] == "Café 😀")
    line_text = text.splitlines()[text.count("\n", 0, cafe.start)]
    utf16_col = len(line_text[: line_text.index("Café 😀")].encode("utf-16-le")) // 2
    index = LineIndex(text)
    assert index.position(cafe.start)[1] == utf16_col
    assert index.position(cafe.end)[1] == utf16_col + len("Café 😀".encode("utf-16-le")) // 2  # the emoji is 2 units


def test_bundle_dotless_codes_accepted_and_other_resources_ignored(verdicts):
    analysis = check(verdicts, BUNDLE)
    assert [res.resource_type for res in analysis.reading.resources] == ["Claim"]
    assert found(analysis) == {("not-billable", "S72001"), ("not-in-index", "")}
    fix_texts = {fix.text for f in analysis.findings for fix in f.fixes}
    assert "S72001A" in fix_texts  # dotless in, dotless out


def test_ndjson_one_bad_line_does_not_hide_the_others(verdicts):
    analysis = check(verdicts, NDJSON)
    assert analysis.reading.ndjson
    assert [res.id for res in analysis.reading.resources] == ["n1", "n3"]
    structure = [f for f in analysis.findings if f.rule == FHIR_STRUCTURE]
    assert len(structure) == 1 and structure[0].effective_severity == Severity.ERROR
    assert "line 2" in structure[0].message
    text = text_of(NDJSON)
    assert text.count("\n", 0, structure[0].start) == 1
    assert ("invalid-code", "Q99.99") in found(analysis)


def test_ndjson_recognised_by_content_without_the_extension(verdicts):
    text = text_of(NDJSON)
    analysis = DocumentChecker(verdicts).check(text, name="export.txt.json")
    assert analysis.kind == r.FHIR and ("invalid-code", "Q99.99") in found(analysis)


def test_ndjson_with_bom_crlf_and_a_bad_first_line_keeps_exact_offsets():
    lines = text_of(NDJSON).splitlines()
    text = "\ufeff" + "\r\n".join([lines[1], lines[0], lines[3]]) + "\r\n"
    reading = reader.read(text)  # no extension: recognised by content
    assert reading.ndjson and [res.id for res in reading.resources] == ["n1", "n3"]
    assert [text.count("\n", 0, p.start) for p in reading.problems] == [0]
    assert {s.text for s in reading.slots} >= {"I10", "Q99.99"}
    assert all(text[s.start : s.end] == s.text for s in reading.slots)


def test_ndjson_message_names_the_real_line_past_blank_lines():
    lines = text_of(NDJSON).splitlines()
    reading = reader.read(lines[0] + "\n\n" + lines[1] + "\n", ndjson=True)
    [problem] = reading.problems
    assert "line 3 " in problem.message


def test_malformed_json_gets_a_finding_not_silence(verdicts):
    analysis = check(verdicts, MALFORMED)
    assert analysis.kind == r.FHIR
    [f] = analysis.findings
    assert f.rule == FHIR_STRUCTURE and f.effective_severity == Severity.ERROR
    text = text_of(MALFORMED)
    assert text.count("\n", 0, f.start) == 5 and text[f.start] == "{"  # the diagnosis after the missing comma


def test_truncated_resource_while_typing_is_a_finding():
    text = '{"resourceType": "Claim", "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "E1'
    reading = reader.read(text)
    assert reading is not None and [p.rule for p in reading.problems] == [FHIR_STRUCTURE]


def test_not_fhir_claims_is_not_read():
    assert reader.read('{"resourceType": "Patient", "id": "x"}') is None
    assert reader.read('{"resourceType": "Bundle", "entry": []}') is None
    assert kinds.read('{"resourceType": "Patient"}', "p.json") is None


def test_the_fhir_file_kind_can_be_switched_off():
    text = text_of(SEEDED)
    assert kinds.read(text, "x.json").kind == r.FHIR
    assert kinds.read(text, "x.json", options=kinds.Options(kinds=kinds.ALL_KINDS - {kinds.FHIR})) is None


def test_pointer_hover_text_names_the_diagnosis():
    reading = reader.read(text_of(CARRIER))
    [res] = reading.resources
    assert "`9999999`" in res.pointed_text(2)
    assert "points to no diagnosis" in res.pointed_text(7)



# "²" is a digit to str.isdigit() that int() refuses (an internal error), as it does 5000
# digits; full-width "２" one it reads as 2: none is a sequence number a FHIR server wrote.
@pytest.mark.parametrize("digit", ["\u00b2", "\uff12", "9" * 5000])
def test_a_diagnosis_sequence_in_other_digits_is_a_finding(verdicts, digit):
    text = text_of(BUNDLE).replace('"diagnosisSequence": [1, 2]', f'"diagnosisSequence": [1, "{digit}"]')
    analysis = DocumentChecker(verdicts).check(text, name="claim.json")
    pointers = [(text[f.start : f.end], f.message) for f in analysis.findings if f.rule == "invalid-pointer"]
    assert pointers == [(digit, f"diagnosisSequence {digit} is not a positive integer")]


# int() refuses a number of more digits than sys.get_int_max_str_digits() (4300), and the json
# module then raises a plain ValueError for what is valid JSON: it must read as a finding.
@pytest.mark.parametrize("where", ['"sequence": 1, "diagnosisCodeableConcept"', '"gender": "female"'])
def test_a_number_too_long_to_read_is_a_finding(verdicts, where):
    number = "9" * 5000
    text = text_of(BUNDLE).replace(where, where.replace("1", number) if "sequence" in where else f'"gender": "female", "n": {number}', 1)
    analysis = DocumentChecker(verdicts).check(text, name="claim.json")
    [finding] = [f for f in analysis.findings if f.rule == FHIR_STRUCTURE]
    assert finding.start == text.index(number) and finding.severity == Severity.ERROR
    assert "a number of more than 4300 digits" in finding.message

# -- medcode check ----------------------------------------------------------------------------------
def test_check_on_fhir_files_json_output_and_exit_codes(run_check):
    code, out, _ = run_check("--format", "json", str(FIXTURES))
    assert code == 1
    items = json.loads(out)
    by_file = {Path(i["path"]).name for i in items}
    assert {"eob-seeded-errors.json", "claims.ndjson", "eob-malformed.json", "bb2-eob-carrier.json"} <= by_file
    assert "bb2-eob-inpatient.json" not in by_file
    assert not any(i["rule"] == DISPLAY_MISMATCH for i in items)
    pointer = next(i for i in items if i["rule"] == "invalid-pointer")
    text = text_of(SEEDED)
    line = text.splitlines()[pointer["line"]]
    assert line[pointer["character"] : pointer["end_character"]] == "9"


def test_check_enable_display_mismatch(run_check):
    code, out, _ = run_check("--enable", DISPLAY_MISMATCH, str(SEEDED))
    assert code == 1
    assert sum(line.endswith(f"[{DISPLAY_MISMATCH}]") for line in out.splitlines()) == 2


def test_check_clean_fhir_file_exits_0(run_check):
    code, out, err = run_check(str(INPATIENT))
    assert (code, out) == (0, "") and "no findings" in err


def test_a_code_written_with_json_escapes_is_said_not_passed_as_clean(verdicts, tmp_path):
    eob = json.loads(INPATIENT.read_text())
    eob["item"][0]["revenue"]["coding"][0]["code"] = "4\u00e9"  # escaped in the file
    path = tmp_path / "eob.json"
    path.write_text(json.dumps(eob, indent=2))
    text = text_of(path)
    assert '"4\\u00e9"' in text
    [finding] = check(verdicts, path).findings
    assert finding.rule == FHIR_STRUCTURE and "written with JSON escapes" in finding.message
    assert text[finding.start : finding.end] == '"4\\u00e9"'
