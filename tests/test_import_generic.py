"""Plain (code, description) lists for any code set: sniffed delimiters, headers, encodings, keys."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from medcode.index_builder.importers import generic
from medcode.index_builder.model import CODE, MODIFIER
from medcode.index_builder.sources import InputFile, SourceError


def write(path, data: str | bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def keys(rel) -> list[str]:
    return list(rel.keys())


def test_csv_without_header_icd10cm(tmp_path, build_release):
    text = "E11.9,Fixture diabetes entry\nI10,Fixture hypertension entry\nZ00.00,Fixture visit\n"
    path = write(tmp_path / "my list.csv", text)
    result = generic.from_path(path, set_id="icd10cm")
    rel = build_release(result)
    assert keys(rel) == ["E119", "I10", "Z0000"]
    assert rel.get("E119").description == "Fixture diabetes entry" and rel.get("E119").kind == CODE
    m = rel.manifest
    assert m.release == "my-list" and m.title == "ICD-10-CM local list my-list"
    assert m.complete is False
    assert m.effective_from is None and m.effective_to is None
    assert m.counts["code"] == 3 and not m.warnings
    assert [f.name for f in m.source.files] == ["my list.csv"]


def test_csv_with_header(tmp_path, build_release):
    path = write(tmp_path / "list.csv", "Code,Description\nE11.9,Fixture one\nI10,Fixture two\n")
    rel = build_release(generic.from_path(path, set_id="icd10cm"))
    assert keys(rel) == ["E119", "I10"]
    assert not rel.manifest.warnings


def test_header_detected_by_shape(tmp_path, build_release):
    # "Dx" is no header word, but it is no code either while the rows below are codes.
    path = write(tmp_path / "list.csv", "Dx,What it is\nE11.9,Fixture one\nI10,Fixture two\n")
    rel = build_release(generic.from_path(path, set_id="icd10cm"))
    assert keys(rel) == ["E119", "I10"] and not rel.manifest.warnings


def test_header_with_columns_in_another_order(tmp_path, build_release):
    path = write(tmp_path / "list.csv", "Description,Code\nFixture one,E11.9\n")
    rel = build_release(generic.from_path(path, set_id="icd10cm"))
    assert rel.get("E119").description == "Fixture one"


@pytest.mark.parametrize(
    "text",
    [
        "code\tdescription\nE11.9\tFixture one, with comma\nI10\tFixture two\n",
        "E11.9|Fixture one, with comma\nI10|Fixture two\n",
        'E11.9,"Fixture one, with comma"\nI10,"Fixture two"\n',
        '"E11.9", "Fixture one, with comma"\n"I10", "Fixture two"\n',
        "E11.9,Fixture one, with comma\nI10,Fixture two\nJ45.909,Fixture three\n",
        "E11.9\tFixture one, with comma\r\nI10\tFixture two\r\n",
    ],
    ids=["tsv", "pipe", "quoted", "quoted-after-space", "unquoted-commas", "crlf"],
)
def test_delimiters_and_quoting(tmp_path, build_release, text):
    rel = build_release(generic.from_path(write(tmp_path / "list.txt", text), set_id="icd10cm"))
    assert rel.get("E119").description == "Fixture one, with comma"
    assert rel.get("I10").description == "Fixture two"


def test_bom_and_cp1252(tmp_path, build_release):
    bom = write(tmp_path / "bom.csv", b"\xef\xbb\xbfCode,Description\nE11.9,Fixture caf\xc3\xa9\n")
    rel = build_release(generic.from_path(bom, set_id="icd10cm"))
    assert keys(rel) == ["E119"] and rel.get("E119").description == "Fixture café"
    cp = write(tmp_path / "cp.csv", b"E11.9,Fixture na\xefve \x96 dash\n")
    rel = build_release(generic.from_path(cp, set_id="icd10cm"))
    assert rel.get("E119").description == "Fixture naïve – dash"


def test_utf16(tmp_path, build_release):
    path = write(tmp_path / "u16.txt", "Code\tDescription\nE11.9\tFixture one\n".encode("utf-16"))
    assert keys(build_release(generic.from_path(path, set_id="icd10cm"))) == ["E119"]


def test_icd10cm_bad_rows_counted(tmp_path, build_release):
    text = (
        "E11.9,Fixture one\n"
        "E1.19,Fixture misplaced dot\n"
        "99213,Fixture CPT-shaped\n"
        ",Fixture no code\n"
        "Z99.89,Fixture ok\n"
    )
    rel = build_release(generic.from_path(write(tmp_path / "l.csv", text), set_id="icd10cm"))
    assert keys(rel) == ["E119", "Z9989"]
    warnings = rel.manifest.warnings
    assert any("skipped 2 row(s) whose code" in w and "99213" in w and "E1.19" in w for w in warnings)
    assert any("skipped 1 row(s) without a code (e.g. line 4)" in w for w in warnings)


def test_ndc_dashed_normalised_and_bare_ten_digits_skipped(tmp_path, build_release):
    text = (
        "NDC,Description\n"
        "0002-8215-01,Fixture 4-4-2 package\n"
        "50090-123-45,Fixture 5-3-2 package\n"
        "12345-6789-1,Fixture 5-4-1 package\n"
        "00071015523,Fixture 11-digit package\n"
        "0002821501,Fixture ambiguous bare ten\n"
    )
    rel = build_release(generic.from_path(write(tmp_path / "ndc.csv", text), set_id="ndc"))
    assert keys(rel) == ["00002821501", "00071015523", "12345678901", "50090012345"]
    assert rel.manifest.complete is False
    assert any("bare 10-digit NDC" in w and "0002821501" in w for w in rel.manifest.warnings)


def test_local_set_keys(tmp_path, build_release):
    text = (
        "Item,Charge description\n"
        " cdm-1001 ,Fixture room\n"
        "ab12/x,Fixture supply\n"
        "AB 12,Fixture bad key\n"
        "abc,Fixture letters only\n"
        "x-77,Fixture other\n"
    )
    result = generic.from_path(write(tmp_path / "acme.csv", text), set_id="payer-acme")
    rel = build_release(result)
    assert rel.set_id == "payer-acme"
    assert keys(rel) == ["AB12/X", "ABC", "CDM-1001", "X-77"]
    assert rel.get("CDM-1001").description == "Fixture room"
    assert rel.manifest.complete is True
    assert rel.manifest.title == "payer-acme local list acme"
    assert any("spaces inside" in w and "AB 12" in w for w in rel.manifest.warnings)


def test_local_set_first_row_is_data_when_it_looks_like_one(tmp_path, build_release):
    path = write(tmp_path / "a.csv", "X1,Fixture one\nX2,Fixture two\n")
    rel = build_release(generic.from_path(path, set_id="payer-acme"))
    assert keys(rel) == ["X1", "X2"]


@pytest.mark.parametrize(
    ("set_id", "text", "default"),
    [
        ("icd10cm", "E11.9,Fixture\n", False),
        ("icd10pcs", "0016070,Fixture\n", False),
        ("hcpcs", "J1100,Fixture\n", False),
        ("ndc", "00071015523,Fixture\n", False),
        ("cpt", "99213,Fixture\n", True),
        ("payer-acme", "X1,Fixture\n", True),
    ],
)
def test_complete_defaults_and_override(tmp_path, set_id, text, default):
    path = write(tmp_path / "l.csv", text)
    assert generic.from_path(path, set_id=set_id).complete is default
    assert generic.from_path(path, set_id=set_id, complete=not default).complete is (not default)


def test_modifiers_of_official_sets(tmp_path, build_release):
    path = write(tmp_path / "c.csv", "99213,Fixture visit\n25,Fixture modifier\n")
    rel = build_release(generic.from_path(path, set_id="cpt"))
    assert rel.get("99213").kind == CODE and rel.get("25").kind == MODIFIER
    path = write(tmp_path / "h.csv", "J1100,Fixture drug\nLT,Fixture side\n")
    rel = build_release(generic.from_path(path, set_id="hcpcs"))
    assert rel.get("J1100").kind == CODE and rel.get("LT").kind == MODIFIER


def test_release_and_effective(tmp_path, build_release):
    path = write(tmp_path / "Acme Codes (2026).csv", "X1,Fixture\n")
    assert generic.from_path(path, set_id="payer-acme").release == "Acme-Codes-2026"
    result = generic.from_path(path, set_id="payer-acme", release="q2", effective=dt.date(2026, 4, 1))
    rel = build_release(result)
    assert rel.label == "q2" and rel.effective_from == dt.date(2026, 4, 1) and rel.effective_to is None
    with pytest.raises(SourceError, match="release label"):
        generic.from_path(path, set_id="payer-acme", release="a b")
    odd = write(tmp_path / "..csv", "X1,Fixture\n")
    assert generic.from_path(odd, set_id="payer-acme").release == "local"


def test_bad_set_id(tmp_path):
    with pytest.raises(SourceError, match="code set name"):
        generic.from_path(write(tmp_path / "l.csv", "X1,Fixture\n"), set_id="Payer Acme")


def test_empty_and_codeless_files(tmp_path):
    with pytest.raises(SourceError, match=r"empty\.csv is empty"):
        generic.from_path(write(tmp_path / "empty.csv", ""), set_id="icd10cm")
    with pytest.raises(SourceError, match="is empty"):
        generic.from_path(write(tmp_path / "blank.csv", "\n  \n"), set_id="payer-acme")
    with pytest.raises(SourceError, match=r"header\.csv contains no ICD-10-CM codes"):
        generic.from_path(write(tmp_path / "header.csv", "Code,Description\n"), set_id="icd10cm")
    with pytest.raises(SourceError, match="no ICD-10-PCS codes"):
        generic.from_path(write(tmp_path / "wrong.csv", "E11.9,Fixture\n"), set_id="icd10pcs")


def test_zip_reads_only_the_lists(tmp_path, build_release):
    path = tmp_path / "lists.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("README.txt", "Fixture readme. These lists are for tests.\nNothing else here.\n")
        zf.writestr("a.csv", "X1,Fixture one\nX2,Fixture two\n")
        zf.writestr("b.tsv", "Y1\tFixture three\n")
        zf.writestr("doc.pdf", b"%PDF-1.4 X9,Fixture\n")
    rel = build_release(generic.from_path(path, set_id="payer-acme"))
    assert keys(rel) == ["X1", "X2", "Y1"]
    assert [f.name for f in rel.manifest.source.files] == ["lists.zip", "a.csv", "b.tsv"]
    assert rel.label == "lists"
    assert not rel.manifest.warnings


def _files(*items: tuple[str, str | bytes]) -> list[InputFile]:
    return [InputFile(name, data.encode() if isinstance(data, str) else data) for name, data in items]


@pytest.mark.parametrize(
    "text",
    [
        "E11.9,Fixture one\nI10,Fixture two\n",
        "Code,Description\nE11.9,Fixture one\n",
        "E11.9\tFixture one\nI10\tFixture two\n",
        "X1|Fixture one\nX2|Fixture two\n",
        '"0002-8215-01","Fixture, quoted"\n',
        "E11.9,Fixture one, with comma\nI10,Fixture two\n",
    ],
)
def test_looks_like_two_columns_true(text):
    assert generic.looks_like_two_columns(_files(("list.csv", text)))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", ""),
        ("prose.txt", "Fixture prose, with a comma.\nAnother line of fixture prose.\n"),
        ("hcpcs.txt", "A0021    0001Fixture fixed width record without delimiters        3\n" * 3),
        ("tab.xml", '<?xml version="1.0"?>\n<diag><name>A00</name><desc>Fixture</desc></diag>\n'),
        ("wide.txt", "ID\tNDC\tNAME\tFORM\n1\t0002-8215\tFixture\tTABLET\n2\t0002-8216\tFixture\tTABLET\n"),
        ("doc.pdf", "E11.9,Fixture one\n"),
        ("bin.dat", b"\x00\x01\x02E11.9,Fixture\x00"),
    ],
)
def test_looks_like_two_columns_false(name, data):
    assert not generic.looks_like_two_columns(_files((name, data)))


def test_looks_like_two_columns_any_file():
    files = _files(("README.txt", "Fixture readme.\n"), ("list.csv", "X1,Fixture\nX2,Fixture\n"))
    assert generic.looks_like_two_columns(files)


def test_title_first_then_code_column(tmp_path, build_release):
    # "DESC" has the shape of an ICD-10-CM code; as the title of a row naming a code column it is none.
    path = write(tmp_path / "l.csv", "Desc,Code\nFixture one,E11.9\n")
    rel = build_release(generic.from_path(path, set_id="icd10cm"))
    assert keys(rel) == ["E119"]


def test_binary_file_is_refused_clearly(tmp_path):
    path = write(tmp_path / "list.xlsx", b"PK\x03\x04 not really a workbook")
    with pytest.raises(SourceError, match="not a text file"):
        generic.from_path(path, set_id="payer-acme")
