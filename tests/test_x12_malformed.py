"""Malformed X12 never reads as clean: control bytes, envelope counts, unreadable HI elements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcode.index_builder.codesets import ICD10CM, ICD10PCS
from medcode.server import cli
from medcode.server.analysis import DocumentChecker
from medcode.server.verdicts import Verdicts

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
P837 = FIXTURES / "claims_837p.x12"


def replaced(old: str, new: str, text: str | None = None) -> str:
    text = P837.read_text() if text is None else text
    assert old in text
    return text.replace(old, new, 1)


def rules(text: str, store) -> list[tuple[str, str, str]]:
    return [(f.rule, text[f.start : f.end], f.message) for f in DocumentChecker(Verdicts(store)).check(text).findings]


@pytest.mark.parametrize("byte", [b"\x00", b"\x07", b"\x1a"])
def test_a_control_byte_does_not_hide_an_x12_file(capsys, monkeypatch, default_index, tmp_path, byte):
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(default_index))
    data = P837.read_bytes()
    at = data.index(b"CLM*VALID01") + 4
    path = tmp_path / "claims.837"
    path.write_bytes(data[:at] + byte + data[at:])
    code = cli.main(["check", "--format", "json", str(path)])
    items = json.loads(capsys.readouterr().out)
    assert code == 1  # the file's seeded errors are still found
    assert any(i["rule"] == "invalid-code" for i in items)
    control = [i for i in items if i["rule"] == "x12-structure" and f"U+{byte[0]:04X}" in i["message"]]
    assert len(control) == 1
    line = data[:at].count(b"\n")
    assert (control[0]["line"], control[0]["character"]) == (line, 4)


def test_control_bytes_used_as_delimiters_are_not_reported(default_store):
    text = P837.read_text().replace("~\n", "\x1c\n").replace("*", "\x1d")
    assert not [r for r in rules(text, default_store) if "U+" in r[2]]


@pytest.mark.parametrize("element, component, segment", [("\x1d", "\x1f", "\x1c"), ("\x1f", "\x1e", "\x1d"), ("\x07", ":", "~")])
def test_an_interchange_with_separator_bytes_as_delimiters_reads_like_one_with_printable_ones(default_store, element, component, segment):
    # FS, GS, RS and US (0x1c-0x1f) are X12 delimiters some trading partners use; Python
    # counts them as whitespace (str.isspace()), so `\s` must not decide what follows "ISA".
    plain = P837.read_text()
    text = plain.replace("~", segment).replace(":", component).replace("*", element)
    spans = lambda t: sorted((f.rule, f.start, f.end) for f in DocumentChecker(Verdicts(default_store)).check(t).findings)
    assert spans(text) == spans(plain) != []


def test_a_flood_of_control_bytes_is_summarised(default_store):
    text = replaced("CLM*VALID01", "CLM*VALID01" + "\x01" * 500)
    found = [r for r in rules(text, default_store) if r[0] == "x12-structure" and ("U+0001" in r[2] or "more control" in r[2])]
    assert 20 <= len(found) <= 21
    assert "480 more control characters" in found[-1][2]


def test_ge01_and_iea01_counts_are_checked(default_store):
    text = replaced("GE*1*101~", "GE*2*101~")
    text = replaced("IEA*1*000000101~", "IEA*3*000000101~", text)
    found = {(r, s) for r, s, _ in rules(text, default_store) if r == "x12-structure"}
    assert ("x12-structure", "GE*2*101") in found
    assert ("x12-structure", "IEA*3*000000101") in found
    messages = [m for r, _, m in rules(text, default_store) if r == "x12-structure"]
    assert "GE01 says 2 transaction set(s), the envelope has 1" in messages
    assert "IEA01 says 3 functional group(s), the envelope has 1" in messages


def test_right_ge01_and_iea01_counts_are_silent(default_store):
    assert not [r for r in rules(P837.read_text(), default_store) if r[0] == "x12-structure"]


def test_hi_unknown_qualifier_is_a_finding_and_pointers_do_not_cascade(default_store):
    text = replaced("HI*ABK:E119*ABF:I10*ABF:S72001A~", "HI*QQ:E119*ABF:I10*ABF:S72001A~")
    found = rules(text, default_store)
    assert ("x12-structure", "QQ:E119") in {(r, s) for r, s, _ in found}
    # The first claim's lines point at diagnoses 1 and 2; only one ABF/ABF pair was read (2
    # codes): pointer 2 still fits, so nothing cascades; make HI01 and HI02 unreadable.
    text = replaced("HI*ABK:E119*ABF:I10*ABF:S72001A~", "HI*QQ:E119*ZZ:I10~")
    found = rules(text, default_store)
    pointers = [(s, m) for r, s, m in found if r == "invalid-pointer"]
    first_claim = [p for p in pointers if p[0] != "9"]
    assert len(first_claim) == 1
    assert "2 service line(s)" in first_claim[0][1] and "'QQ'" in first_claim[0][1]


def test_hi_element_with_the_wrong_separator_gets_its_own_finding(default_store):
    text = replaced("HI*ABK:E119*ABF:I10*ABF:S72001A~", "HI*ABK*E119*ABF*I10~")
    found = rules(text, default_store)
    elements = [s for r, s, _ in found if r == "x12-structure"]
    assert elements == ["ABK", "E119", "ABF", "I10"]
    pointers = [m for r, s, m in found if r == "invalid-pointer" and s != "9"]
    assert len(pointers) == 1 and "no component separator" in pointers[0]
    assert all(f.effective_severity.label == "error" for f in DocumentChecker(Verdicts(default_store)).check(text).findings if f.rule == "x12-structure")


def test_icd9_codes_are_checked_for_shape_only_and_hover_says_so():
    from medcode.server.lsp.hover import _unindexed
    from medcode.server.places import ICD9_DX, Slot

    text = _unindexed(Slot("25000", 0, ICD9_DX, "HI01-02", "BK", 0), "HI01-02", [])
    assert "ICD-9-CM" in text and "shape only" in text


@pytest.mark.parametrize(("bad", "set_word"), [("E119999X", "ICD-10-CM"), ("0DTJ4Z", "ICD-10-PCS")])
def test_a_badly_shaped_icd10_code_is_described_alike_in_x12_and_in_a_template(default_store, bad, set_word):
    """One wording of each set's shape, whatever the file kind (two had drifted apart)."""
    from medcode.server.analysis import DocumentChecker
    from medcode.server.code_rules import SHAPES
    from medcode.server.verdicts import Verdicts

    qualifier = "ABK" if set_word == "ICD-10-CM" else "BBR"
    x12 = replaced("HI*ABK:E119", f"HI*{qualifier}:{bad}")
    template = f"{set_word}: {bad}\n"
    checker = DocumentChecker(Verdicts(default_store))
    messages = [
        {f.message for f in checker.check(text, name=name).findings if f.rule == "bad-format" and text[f.start : f.end] == bad}
        for text, name in ((x12, "claims.x12"), (template, "note.md"))
    ]
    assert messages[0] == messages[1] and len(messages[0]) == 1
    assert messages[0].pop() == f"{bad} is not an {set_word} code ({SHAPES[ICD10CM if set_word == 'ICD-10-CM' else ICD10PCS]})"


# Digits of no X12 file: "²" is one to str.isdigit() but not to int() (a crash where one is
# trusted to read the other); full-width "１" and Arabic-Indic "١" are to both (read as 1).
OTHER_DIGITS = ["\u00b2", "\uff11", "\u0661"]


@pytest.mark.parametrize("digit", OTHER_DIGITS)
def test_a_pointer_of_other_digits_is_a_finding(default_store, digit):
    text = replaced("SV1*HC:J1100:RT*50.00*UN*1***1:2~", f"SV1*HC:J1100:RT*50.00*UN*1***{digit}~")
    pointers = [(s, m) for r, s, m in rules(text, default_store) if r == "invalid-pointer" and s != "9"]
    assert pointers == [(digit, f"diagnosis pointer {digit!r} is not a number 1-12")]


@pytest.mark.parametrize("digit", OTHER_DIGITS)
@pytest.mark.parametrize(
    "old, new, message",
    [
        ("SE*45*0001~", "SE*4{}*0001~", "SE01 should be the number of segments (45), not '4{}'"),
        ("GE*1*101~", "GE*{}*101~", "GE01 should be the number of transaction set(s) (1), not '{}'"),
        ("IEA*1*000000101~", "IEA*{}*000000101~", "IEA01 should be the number of functional group(s) (1), not '{}'"),
    ],
)
def test_a_trailer_count_in_other_digits_is_a_finding(default_store, digit, old, new, message):
    text = replaced(old, new.format(digit))
    found = [(s, m) for r, s, m in rules(text, default_store) if r == "x12-structure"]
    assert found == [(new.format(digit)[:-1], message.format(digit))]


def test_an_se01_that_is_no_number_is_a_finding(default_store):
    text = replaced("SE*45*0001~", "SE*ABC*0001~")
    found = [(s, m) for r, s, m in rules(text, default_store) if r == "x12-structure"]
    assert found == [("SE*ABC*0001", "SE01 should be the number of segments (45), not 'ABC'")]


@pytest.mark.parametrize("day", ["20230229", "00000000", "99999999", "2026031", "\uff12\uff10\uff12\uff16\uff10\uff13\uff11\uff10", ""])
def test_a_service_date_that_is_no_date_is_a_finding(default_store, day):
    # The line's codes are then judged on the claim's other dates (or today): that must show.
    text = replaced("SV1*HC:99213*50.00*UN*1***1~\nDTP*472*D8*20260310~", f"SV1*HC:99213*50.00*UN*1***1~\nDTP*472*D8*{day}~")
    found = [(s, m) for r, s, m in rules(text, default_store) if r == "x12-structure"]
    assert found == [(day or "DTP*472*D8*", f"DTP03 {day!r} is not a date (CCYYMMDD): the codes it dates are judged as if it gave none")]


def test_a_statement_period_whose_end_is_no_date_is_a_finding(default_store):
    text = replaced("DTP*434*RD8*20240420-20240425~", "DTP*434*RD8*20240420-20240431~", (FIXTURES / "claims_837i.x12").read_text())
    found = [(s, m) for r, s, m in rules(text, default_store) if r == "x12-structure"]
    assert found == [("20240420-20240431", "DTP03 '20240420-20240431' is not a date (CCYYMMDD): the codes it dates are judged as if it gave none")]


def test_a_birth_date_that_is_no_date_is_a_finding(default_store):
    text = replaced("SBR*P*18*******CI~", "SBR*P*18*******CI~\nDMG*D8*19800230*F~", replaced("SE*45*", "SE*46*"))
    found = [(s, m) for r, s, m in rules(text, default_store) if r == "x12-structure"]
    assert found == [("19800230", "DMG02 '19800230' is not a date (CCYYMMDD): the claim edits take the patient's age as unknown")]


def test_right_dates_are_silent(default_store):
    for fixture in ("claims_837p.x12", "claims_837i.x12", "claims_837d.x12"):
        assert not [r for r in rules((FIXTURES / fixture).read_text(), default_store) if "not a date" in r[2]]


def test_numbers_of_more_digits_than_int_reads_are_findings(default_store):
    # int() refuses more than 4300 digits: a count or pointer that long is no number either.
    long = "9" * 5000
    text = replaced("SE*45*0001~", f"SE*{long}*0001~")
    text = replaced("GE*1*101~", f"GE*{long}*101~", text)
    text = replaced("SV1*HC:J1100:RT*50.00*UN*1***1:2~", f"SV1*HC:J1100:RT*50.00*UN*1***{long}~", text)
    found = sorted((r, m) for r, s, m in rules(text, default_store) if long in s)
    assert found == [
        ("invalid-pointer", f"diagnosis pointer {long!r} is not a number 1-12"),
        ("x12-structure", f"GE01 should be the number of transaction set(s) (1), not {long!r}"),
        ("x12-structure", f"SE01 should be the number of segments (45), not {long!r}"),
    ]
