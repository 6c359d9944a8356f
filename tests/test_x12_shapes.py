"""X12 written past what 005010 defines never reads as clean: HI elements past HI12, composites
with more components than they hold (C022, C003, C004), a gap among the diagnosis pointers, and
an 837 in UTF-32. Each is an x12-structure finding at its place; what lies past a limit is not
read (server/x12/shapes.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medcode.server import cli
from medcode.server.analysis import DocumentChecker
from medcode.server.verdicts import Verdicts
from medcode.server.x12.document import walk
from medcode.server.x12.slots import hi_codes, line_shape

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
P837 = FIXTURES / "claims_837p.x12"
HI_P = "HI*ABK:E119*ABF:I10*ABF:S72001A"  # the first claim's HI: 3 diagnoses
SV1_P = "SV1*HC:J1100:RT*50.00*UN*1***1:2~"  # its first line
SV3_D = "SV3*AD:D2391*150.00*11***1*****1:2~"  # the 837D's first line (2 diagnoses)


def replaced(old: str, new: str, fixture: str = "claims_837p.x12") -> str:
    text = (FIXTURES / fixture).read_text()
    assert old in text
    return text.replace(old, new, 1)


def findings(text: str, store):
    return DocumentChecker(Verdicts(store)).check(text).findings


def structure(text: str, store) -> list[tuple[str, str, str]]:
    return [(text[f.start : f.end], f.message, f.effective_severity.label) for f in findings(text, store) if f.rule == "x12-structure"]


def test_hi_elements_past_hi12_are_an_error_and_not_read(default_store):
    past = "*ABF:XXXX*ABF:E119"  # HI13 and HI14
    text = replaced(HI_P, HI_P + "*ABF:I10" * 9 + past)
    assert structure(text, default_store) == [(
        past[1:],
        f"HI has 14 elements; X12 005010 allows HI01-HI12: HI13 and after ({past[1:]!r}) are past the segment and not read (their codes are neither checked nor counted for the diagnosis pointers)",
        "error",
    )]
    assert not [f for f in findings(text, default_store) if text[f.start : f.end] == "XXXX"]  # not checked


def test_pointers_past_twelve_stay_invalid_when_hi_has_more_elements(default_store):
    text = replaced(HI_P, HI_P + "*ABF:I10" * 11)  # 14 elements: 12 read
    text = text.replace(SV1_P, SV1_P.replace("1:2~", "12:13:14~"), 1)
    at = text.index("12:13:14")
    pointers = [(text[f.start : f.end], f.message) for f in findings(text, default_store) if f.rule == "invalid-pointer" and f.start >= at and f.end <= at + 8]
    assert pointers == [(n, f"diagnosis pointer {n} points to no diagnosis: the claim has 12 diagnosis code(s) in HI") for n in ("13", "14")]


@pytest.mark.parametrize(
    ("fixture", "old", "new", "name"),
    [
        ("claims_837p.x12", "SV1*HC:J1100:RT*", "SV1*HC:J1100:RT:LT:59:25:76:XX:YY*", "SV101"),
        ("claims_837i.x12", "SV2*305*HC:85025*", "SV2*305*HC:85025:::::X:Y:YY*", "SV202"),
        ("claims_837d.x12", "SV3*AD:D2391*", "SV3*AD:D2391:::::X:Y:YY*", "SV301"),
    ],
)
def test_a_procedure_composite_past_eight_components_is_an_error(default_store, fixture, old, new, name):
    text = replaced(old, new, fixture)
    assert structure(text, default_store) == [(
        "YY", f"{name} has 9 components; the procedure composite (C003) holds 8 (qualifier, code, 4 modifiers, description, product ID): 'YY' past it is not read", "error",
    )]


def test_an_hi_element_past_nine_components_is_an_error(default_store):
    text = replaced(HI_P, "HI*ABK:E119*ABF:I10:D8:20260101:1:2:3:4:Y:ZZ:ZZ*ABF:S72001A")
    assert structure(text, default_store) == [(
        "ZZ:ZZ",
        "HI02 has 11 components; an HI element (C022) holds 9 (qualifier, code, date format, date, amount, quantity, version, range end, Y/N): 'ZZ:ZZ' past it is not read",
        "error",
    )]
    # Its code, in the second component, is read: the claim's pointers to it still fit.
    assert not [f for f in findings(text, default_store) if f.rule == "invalid-pointer" and text[f.start : f.end] == "2"]


@pytest.mark.parametrize(("fixture", "old", "name"), [("claims_837p.x12", SV1_P, "SV107"), ("claims_837d.x12", SV3_D, "SV311")])
def test_a_fifth_pointer_is_an_error_and_not_read(default_store, fixture, old, name):
    text = replaced(old, old.replace("1:2~", "1:2:1:2:9~"), fixture)
    assert structure(text, default_store) == [
        ("9", f"{name} has 5 components; the diagnosis pointer composite (C004) holds 4 pointers: '9' past it is not read", "error"),
    ]
    at = text.index("1:2:1:2:9")
    assert not [f for f in findings(text, default_store) if f.rule == "invalid-pointer" and at <= f.start < at + 9]


@pytest.mark.parametrize(("fixture", "old", "name"), [("claims_837p.x12", SV1_P, "SV107"), ("claims_837d.x12", SV3_D, "SV311")])
def test_an_empty_pointer_between_two_is_a_warning_and_the_others_are_read(default_store, fixture, old, name):
    text = replaced(old, old.replace("1:2~", "1::9~"), fixture)
    assert structure(text, default_store) == [
        ("::", f"{name}-02 is empty between two diagnosis pointers: the TR3 writes the pointers in order without a gap; the ones around it are read", "warning"),
    ]
    at = text.index("1::9")
    assert [text[f.start : f.end] for f in findings(text, default_store) if f.rule == "invalid-pointer" and at <= f.start < at + 4] == ["9"]


def test_an_empty_first_pointer_is_an_error(default_store):
    text = replaced(SV1_P, SV1_P.replace("1:2~", ":2~"))
    assert structure(text, default_store) == [
        (":", "SV107-01, the first diagnosis pointer, is empty: C004-01 is required (a 999 rejects it); the pointers after it are read", "error"),
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (HI_P, HI_P + "*ABF:I10" * 9 + "**"),  # a trailing element separator past HI12
        ("SV1*HC:J1100:RT*", "SV1*HC:J1100:RT::::::::*"),
        (SV1_P, SV1_P.replace("1:2~", "1:2:::~")),
        (HI_P, HI_P.replace("ABF:I10", "ABF:I10::::::::")),
    ],
)
def test_empty_positions_past_a_limit_hide_no_code_and_are_not_reported(default_store, old, new):
    assert structure(replaced(old, new), default_store) == []


def test_the_fixtures_have_none_of_these_shapes(default_store):
    for fixture in ("claims_837p.x12", "claims_837i.x12", "claims_837d.x12"):
        text = (FIXTURES / fixture).read_text()
        assert not [m for _, m, _ in structure(text, default_store) if "components" in m or "elements" in m or "pointer" in m]


@pytest.mark.parametrize("codec, bom", [("utf-32-le", True), ("utf-32-be", True), ("utf-32-le", False), ("utf-32-be", False), ("utf-16-le", True)])
def test_an_837_in_utf32_is_read_as_in_utf8(capsys, monkeypatch, default_index, tmp_path, codec, bom):
    # UTF-32's little-endian BOM begins as UTF-16's does: it was read as UTF-16 and skipped as
    # "not a kind medcode reads".
    monkeypatch.setenv("MEDCODE_INDEX_DIR", str(default_index))
    text = P837.read_text()
    plain = tmp_path / "claims.837"
    plain.write_text(text)
    assert cli.main(["check", "--format", "json", str(plain)]) == 1
    want = json.loads(capsys.readouterr().out)
    wide = tmp_path / "wide" / "claims.837"
    wide.parent.mkdir()
    wide.write_bytes((("\ufeff" + text) if bom else text).encode(codec))
    assert cli.main(["check", "--format", "json", str(wide)]) == 1
    got = json.loads(capsys.readouterr().out)
    assert [{**i, "path": ""} for i in got] == [{**i, "path": ""} for i in want] != []


@pytest.mark.parametrize(("raw", "name"), [("SV5*HC:E0601:::::X:Y:YY*UN*1", "SV501"), ("SVD*PAYER*50.00*HC:99213:::::X:Y:YY**1", "SVD03")])
def test_the_other_procedure_composites_hold_eight_components_too(raw, name):
    [(start, end, message, error)] = line_shape(raw[:3], raw.split("*"), ":")
    assert raw[start:end] == "YY" and message.startswith(f"{name} has 9 components;") and error
    assert line_shape("LIN", "LIN**N4:1:2:3:4:5:6:7:8:9*00002821501".split("*"), ":") == ()


def test_an_hi_element_past_c022_is_reported_each_time_it_recurs():
    # The walk reads each distinct element once (its memo): the second time is a memo hit.
    memo, pasts = {}, {}
    raw = "HI*ABK:E119*ABF:I10:D8:20260101:1:2:3:4:Y:ZZ"
    for start in (0, 100):
        codes, diagnoses, _, shape = hi_codes(start, raw, "*", ":", memo, pasts)
        assert [(s - start, e - start, m[:4], error) for s, e, m, error in shape] == [(len(raw) - 2, len(raw), "HI02", True)]
        assert [c[1] for c in codes] == ["E119", "I10"] and diagnoses == 2


# Per transaction: the TR3 gives some HI segments fewer elements than HI12 (shapes.HI_LIMITS).
@pytest.mark.parametrize(
    ("fixture", "old", "new", "past", "why"),
    [
        ("claims_837d.x12", "HI*ABK:K0251*ABF:K0252", "HI*ABK:K0251*ABF:K0252*ABF:K0253*ABF:K0254", "ABF:XXXX*ABF:K0251",
         "the 837D TR3 (005010X224) allows HI01-HI04, four diagnoses"),
        ("claims_837i.x12", "HI*ABK:I214", "HI*ABK:I214", "ABF:XXXX", "the 837I TR3 (005010X223) gives the principal diagnosis HI (ABK) HI01 only"),
        ("claims_837i.x12", "HI*ABK:I214", "HI*ABJ:I214", "ABJ:XXXX", "the 837I TR3 (005010X223) gives the admitting diagnosis HI (ABJ) HI01 only"),
        ("claims_837i.x12", "HI*ABK:I214", "HI*APR:I214*APR:E119*APR:I10", "APR:XXXX", "the 837I TR3 (005010X223) gives the patient's reason for visit HI (APR) HI01-HI03"),
    ],
)
def test_an_hi_past_its_tr3_count_is_an_error_and_not_read(default_store, fixture, old, new, past, why):
    text = replaced(old, new + "*" + past, fixture)
    n = new.count("*")
    elements = n + past.count("*") + 1
    assert structure(text, default_store) == [(
        past,
        f"HI has {elements} elements; {why}: HI{n + 1:02d} and after ({past!r}) are past the segment and not read (their codes are neither checked nor counted for the diagnosis pointers)",
        "error",
    )]
    assert not [f for f in findings(text, default_store) if text[f.start : f.end] == "XXXX"]  # not checked


def test_a_dental_pointer_to_a_fifth_diagnosis_points_to_none(default_store):
    text = replaced("HI*ABK:K0251*ABF:K0252", "HI*ABK:K0251*ABF:K0252*ABF:K0253*ABF:K0254*ABF:K0251", "claims_837d.x12")
    text = text.replace(SV3_D, SV3_D.replace("1:2~", "4:5~"), 1)
    at = text.index("4:5~")
    assert [(text[f.start : f.end], f.message) for f in findings(text, default_store) if f.rule == "invalid-pointer" and at <= f.start < at + 3] == [
        ("5", "diagnosis pointer 5 points to no diagnosis: the claim has 4 diagnosis code(s) in HI"),
    ]


@pytest.mark.parametrize(
    ("fixture", "old", "new"),
    [
        ("claims_837i.x12", "HI*ABF:Z9999*ABF:E119", "HI*ABF:Z9999" + "*ABF:E119" * 11),  # other diagnoses: 12
        ("claims_837i.x12", "HI*ABF:Z9999*ABF:E119", "HI*ABN:W010XXA" + "*ABN:W010XXA" * 11),  # external cause: 12
        ("claims_837i.x12", "HI*ABK:I214", "HI*APR:I214*APR:E119*APR:I10"),  # reason for visit: 3
        ("claims_837i.x12", "HI*ABK:I214", "HI*ABK:I214**"),  # trailing separators hide no code
        ("claims_837d.x12", "HI*ABK:K0251*ABF:K0252", "HI*ABK:K0251*ABF:K0252*ABF:K0253*ABF:K0254"),  # 837D: 4
        ("claims_837p.x12", HI_P, "HI*ABK:E119" + "*ABF:I10" * 11),  # 837P: 12 after ABK
    ],
)
def test_an_hi_within_its_tr3_count_gives_no_structure_finding(default_store, fixture, old, new):
    assert not [m for _, m, _ in structure(replaced(old, new, fixture), default_store) if "elements" in m]


@pytest.mark.parametrize(("kind", "raw", "read"), [("I", "HI*BK:25000*BF:4019", 1), ("I", "HI*PR:7806*PR:7807*PR:7808*PR:7809", 3), ("D", "HI*BK:5210*BF:5211*BF:5212*BF:5213*BF:5214", 4), ("P", "HI*ABK:E119*ABF:I10", 2), ("", "HI*ABK:E119*ABF:I10", 2)])
def test_hi_limits_follow_the_transaction_and_the_icd9_qualifiers_too(kind, raw, read):
    codes, diagnoses, _, shape = hi_codes(0, raw, "*", ":", kind=kind)
    assert len(codes) == read
    assert (shape is not None) == (raw.count("*") > read)


def test_a_4010_837i_keeps_principal_admitting_and_external_cause_in_one_hi(default_store):
    # 004010X096A1 wrote them in one HI (HI01 principal, HI02 admitting, HI03 E-code): the
    # 005010 counts of shapes.HI_LIMITS are not its own.
    text = (FIXTURES / "claims_837i.x12").read_text().replace("005010X223A2", "004010X096A1").replace("00501", "00401")
    text = text.replace("HI*ABK:I214~", "HI*BK:41091*BJ:78650*BN:E8490~", 1)
    assert "HI*BK:41091*BJ:78650*BN:E8490~" in text and walk(text).transaction_kinds == {"I"}
    assert not [m for _, m, _ in structure(text, default_store) if "elements" in m]
    at = text.index("BJ:78650") + 3
    assert [f.rule for f in findings(text, default_store) if f.start == at]  # the admitting code is read (and checked)


def test_clm05_past_three_components_is_an_error_and_its_type_of_bill_is_read(default_store):
    text = replaced("CLM*INPT01*5000.00***11:A:1*", "CLM*INPT01*5000.00***11:A:1:7*", "claims_837i.x12")
    assert structure(text, default_store) == [
        ("7", "CLM05 has 4 components; the facility composite (C023) holds 3 (facility code, qualifier, claim frequency): '7' past it is not read", "error"),
    ]
    assert walk(text).claims[0].bill_type == "111"


def _past(segment: str, limit: int) -> str:
    """The segment with 'X' written one element past its last (`limit`)."""
    return segment + "*" * (limit - segment.count("*") + 1) + "X"


# Each segment medcode reads values from, in a place where it reads them (shapes.SEGMENT_ELEMENTS).
PAST_SEGMENTS = [
    ("claims_837p.x12", "SV1*HC:J1100:RT*50.00*UN*1***1:2", 21),
    ("claims_837i.x12", "SV2*305*HC:85025*13.39*UN*1", 10),
    ("claims_837d.x12", "SV3*AD:D2391*150.00*11***1*****1:2", 11),
    ("claims_837p.x12", "CLM*VALID01*100.00***11:B:1*Y*A*Y*Y", 20),
    ("claims_837p.x12", "DTP*472*D8*20260310", 3),
    ("claims_837i.x12", "DTP*434*RD8*20240420-20240425", 3),
    ("claims_837p.x12", "SBR*P*18*******CI", 9),
    ("claims_837p.x12", "HL*2*1*22*0", 4),
    ("claims_837i.x12", "CL1*1*1*01", 4),
    ("claims_837p.x12", "LX*1", 1),
    ("claims_837p.x12", "LIN**N4*00002821501", 31),
    ("claims_837p.x12", "ST*837*0001*005010X222A1", 3),
    ("claims_837p.x12", "SE*45*0001", 2),
    ("claims_837p.x12", "GS*HC*SUBMITTER*RECEIVER*20260315*1200*101*X*005010X222A1", 8),
    ("claims_837p.x12", "GE*1*101", 2),
    ("claims_837p.x12", "IEA*1*000000101", 2),
]


@pytest.mark.parametrize(("fixture", "segment", "limit"), PAST_SEGMENTS)
def test_a_value_past_a_segments_last_element_is_an_error_each_time(default_store, fixture, segment, limit):
    text = (FIXTURES / fixture).read_text()
    assert segment + "~" in text
    broken = text.replace(segment + "~", _past(segment, limit) + "~")  # every copy
    seg_id = segment.split("*")[0]
    message = f"{seg_id} has {limit + 1} elements; X12 005010 defines {seg_id}01-{seg_id}{limit:02d}: {seg_id}{limit + 1:02d} and after ('X') are past the segment and not read"
    assert structure(broken, default_store) == [("X", message, "error")] * text.count(segment + "~")
    # Nothing else changes: the values before it are read as they were.
    assert [(f.rule, f.message) for f in findings(broken, default_store) if f.rule != "x12-structure"] == [
        (f.rule, f.message) for f in findings(text, default_store) if f.rule != "x12-structure"
    ]


def test_a_dmg_past_dmg11_is_an_error_and_its_birth_date_is_read(default_store):
    dmg = "DMG*D8*19800101*F"
    text = replaced("NM1*IL*1*DOE*JANE****MI*MEMBER01~", dmg + "~")
    broken = text.replace(dmg + "~", _past(dmg, 11) + "~")
    assert structure(broken, default_store) == [("X", "DMG has 12 elements; X12 005010 defines DMG01-DMG11: DMG12 and after ('X') are past the segment and not read", "error")]
    assert walk(broken).claims[0].birth == walk(text).claims[0].birth is not None


@pytest.mark.parametrize(("fixture", "segment"), [("claims_837p.x12", "DTP*472*D8*20260310"), ("claims_837p.x12", "SV1*HC:J1100:RT*50.00*UN*1***1:2"), ("claims_837p.x12", "LX*1")])
def test_empty_elements_past_a_segment_hide_nothing_and_are_not_reported(default_store, fixture, segment):
    assert structure(replaced(segment + "~", segment + "*" * 25 + "~", fixture), default_store) == []
