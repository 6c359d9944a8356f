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
