"""Code shapes and normalisation: what a typed code can stand for."""

from __future__ import annotations

import pytest

from medcode.index_builder import codesets as cs


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0002-8215-01", "00002821501"),  # 4-4-2
        ("12345-678-90", "12345067890"),  # 5-3-2
        ("50090-1234-0", "50090123400"),  # 5-4-1
        ("00002-8215-01", "00002821501"),  # 5-4-2 with dashes
        ("00002821501", "00002821501"),
        ("0002821501", None),  # bare 10 digits: ambiguous
        ("0002-82150-1", None),
        ("123-4567-89", None),
    ],
)
def test_ndc_to_11(text, expected):
    assert cs.ndc_to_11(text) == expected


def test_bare_ten_digit_ndc_has_three_readings():
    assert cs.ndc_candidates("0002821501") == ["00002821501", "00028021501", "00028215001"]


@pytest.mark.parametrize(
    "set_id, text, keys",
    [
        ("icd10cm", "e11.9", ["E119"]),
        ("icd10cm", "S72.001A", ["S72001A"]),
        ("icd10cm", "QA0.0101", ["QA00101"]),  # FY2026 put a letter in the second position
        ("icd10cm", "11.9", []),
        ("icd10cm", "CODE", []),  # a letter second is only ever followed by a digit (QA0)
        ("icd10pcs", "0dtj4zz", ["0DTJ4ZZ"]),
        ("icd10pcs", "0DTJ4ZO", []),  # no letter O in PCS
        ("hcpcs", "j1100", ["J1100"]),
        ("hcpcs", "GA", ["GA"]),
        ("hcpcs", "W1100", []),
        ("cpt", "0001F", ["0001F"]),
        ("cpt", "99213", ["99213"]),
        ("cpt", "9921", []),
    ],
)
def test_normalise(set_id, text, keys):
    assert cs.normalise(set_id, text) == keys


def test_display_forms():
    assert cs.display("icd10cm", "E119") == "E11.9"
    assert cs.display("icd10cm", "E11") == "E11"
    assert cs.display("ndc", "00002821501") == "00002-8215-01"
    assert cs.display("hcpcs", "J1100") == "J1100"


def sets(text):
    return [(c.set_id, c.key) for c in cs.guess_sets(text)]


def test_guessing_sets_from_shape_lists_every_possibility():
    assert sets("E11.9") == [("icd10cm", "E119")]
    # Dotless ICD-10-CM codes look like HCPCS codes: both are looked up, HCPCS first.
    assert sets("J1100") == [("hcpcs", "J1100"), ("icd10cm", "J1100")]
    assert sets("S72001A") == [("icd10cm", "S72001A"), ("icd10pcs", "S72001A")]
    assert sets("0DTJ4ZZ") == [("icd10pcs", "0DTJ4ZZ")]
    assert sets("99213") == [("cpt", "99213")]
    assert sets("0002-8215-01") == [("ndc", "00002821501")]
    assert sets("hello world") == []
