"""CSV readers: the position-keeping tokenizer, CMS price transparency CSV (tall / wide, v2 / v3)
and internal chargemasters. Fixtures are written here; the real files in shared/corpora are read
in place (skipped without ../shared)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter
from pathlib import Path

import pytest
from medcode.index_builder.codesets import CPT, HCPCS, NDC
from medcode.server import places
from medcode.server import reading as r
from medcode.server.findings import (
    HPT_STRUCTURE,
    MISSING_CODE_TYPE,
    RULES,
    UNKNOWN_CODE_TYPE,
    Severity,
)
from medcode.server.tables import cdm_csv, csv_cells, hpt_csv
from medcode.server.tables import hpt_vocabulary as vocab

# -- helpers -------------------------------------------------------------------------------


def csv_reader_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """What Python's csv module reads from the text (BOM removed, as utf-8-sig would)."""
    body = text[1:] if text.startswith(csv_cells.BOM) else text
    return list(csv.reader(io.StringIO(body, newline=""), delimiter=delimiter))


def line(*cells: str) -> str:
    """One CSV record, quoting what needs quotes."""
    out = []
    for c in cells:
        if any(ch in c for ch in ',"\r\n'):
            c = '"' + c.replace('"', '""') + '"'
        out.append(c)
    return ",".join(out)


def exact_rows(text: str) -> list[csv_cells.Row]:
    """The rows as iter_rows reads them when the csv module refuses every field (a field size
    limit of 0): each record then goes through the pure Python reader, the fallback for
    fields over the limit, so the tests cross-check it against the csv module."""
    limit = csv.field_size_limit(0)
    try:
        rows = list(csv_cells.iter_rows(text, ","))
    finally:
        csv.field_size_limit(limit)
    assert all(row._cells is not None for row in rows if any(row.texts))  # the fallback read them
    return rows


def assert_positions(text: str, rows: list[csv_cells.Row]) -> None:
    """Every character of every cell text is where the cell says it is."""
    for row in rows:
        for i, cell in enumerate(row.cells()):
            for k, ch in enumerate(cell.text):
                assert text[cell.offset(k)] == ch
                assert row.text_offset(i, k) == cell.offset(k)
            if not cell.quoted:
                assert text[cell.start : cell.end] == cell.text
            else:
                assert text[cell.start] == '"' and text[cell.content_start - 1] == '"'


def at(text: str, needle: str, nth: int = 0) -> int:
    """Offset of the nth occurrence of needle (the test's independent oracle for offsets)."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    return pos


def read_corpus(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


# ==========================================================================================
# csv_cells
# ==========================================================================================


def test_cells_texts_and_offsets():
    text = '\ufeffa,"b ""q"" c",\r\n"multi\nline",x\ry\n,\n"end"'
    rows = list(csv_cells.iter_rows(text))
    assert [row.texts for row in rows] == [["a", 'b "q" c', ""], ["multi\nline", "x"], ["y"], ["", ""], ["end"]]
    assert [row.texts for row in rows] == csv_reader_rows(text)
    first = rows[0]
    assert (first.start, first.end, first.line) == (1, 15, 0)  # offset 0 is the BOM
    a, b, empty = first.cells()
    assert (a.start, a.end, a.quoted) == (1, 2, False)
    assert (b.start, b.end, b.content_start, b.content_end, b.quoted) == (3, 14, 4, 13, True)
    assert text[b.content_start : b.content_end] == 'b ""q"" c'
    assert b.offset(2) == at(text, '""q') and text[b.offset(3)] == "q"
    assert (empty.start, empty.end, empty.text) == (15, 15, "")
    multi = rows[1]
    assert (multi.start, multi.line) == (17, 1)  # after \r\n
    assert multi.cell(0).text == "multi\nline" and multi.cell(0).content_start == 18
    assert multi.cell(1).start == at(text, "x")
    assert rows[2].start == at(text, "y") and rows[2].line == 3  # after a lone \r
    assert rows[3].cells()[1].start == at(text, ",\n") + 1
    last = rows[4]
    assert (last.start, last.end) == (at(text, '"end"'), len(text))  # no trailing newline
    assert_positions(text, rows)


def test_cells_strip_and_span():
    text = 'x, 99213 ,"  J3490 "\n'
    (row,) = list(csv_cells.iter_rows(text))
    assert row.stripped(1) == ("99213", at(text, "99213"))
    assert row.span(2) == ("J3490", at(text, "J3490"), at(text, "J3490") + 5)
    assert row.cell(2).stripped() == ("J3490", at(text, "J3490"))


TRICKY = [
    "",
    "\n",
    "a",
    "a\n",
    "a,b\r\nc,d\r\n",
    "a,b\rc,d\r",
    "a,b\nc,d\r\ne,f\rg,h",  # mixed line endings
    '""',
    '"",""\n',
    '"a""b",c',
    '"a,b",c\n',
    '"line1\r\nline2",x\r\n',
    '"line1\nline2\rline3",x',
    '"ab"cd,e',  # text after a closing quote (non-strict csv keeps it)
    '"a"b"',
    'a"b,c',
    ' "a",b',
    '"never closed,\nstill open',
    "a,b,\n,,\n",
    "a,b\n\n\nc\n",
    "\ufeffhospital_name,x\n1,2",
    "\ufeff",
    "x\x00y,z",
    "a\x0cb,c\u2028d\n",  # form feed and line separator are not line breaks for csv
    'é,"ü, ö",—\n',
]


@pytest.mark.parametrize("text", TRICKY)
def test_cells_match_csv_module(text):
    rows = list(csv_cells.iter_rows(text, ","))
    assert [row.texts for row in rows] == csv_reader_rows(text)
    exact = exact_rows(text)
    assert [row.texts for row in exact] == csv_reader_rows(text)
    assert [row.cells() for row in rows] == [row.cells() for row in exact]
    assert [(row.start, row.line) for row in rows] == [(row.start, row.line) for row in exact]
    assert_positions(text, rows)


def test_cells_match_csv_module_random():
    pieces = ["a", "b", ",", '"', '""', "\r", "\n", "\r\n", " ", "\t", "é"]
    rng = random.Random(4180)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        if rng.random() < 0.2:
            text = "\ufeff" + text
        rows = list(csv_cells.iter_rows(text, ","))
        assert [row.texts for row in rows] == csv_reader_rows(text), repr(text)
        assert [row.cells() for row in rows] == [row.cells() for row in exact_rows(text)], repr(text)
        assert_positions(text, rows)


def test_cells_tab_delimiter_is_sniffed():
    text = "Title, Inc. price list\nCPT\tDescription\tPrice\n99213\tOffice visit, est\t$120.00\n"
    assert csv_cells.sniff_delimiter(text) == "\t"
    rows = list(csv_cells.iter_rows(text))
    assert rows[2].texts == ["99213", "Office visit, est", "$120.00"]
    assert rows[2].cell(1).start == at(text, "Office")
    assert csv_cells.sniff_delimiter("a,b\tc\n1,2\n") == ","
    assert csv_cells.sniff_delimiter("") == ","


def test_cells_field_over_csv_limit():
    big = "x" * (csv.field_size_limit() + 10)
    text = f'a,b\r\n"{big}",c\r\nd,"e"\r\n'
    rows = list(csv_cells.iter_rows(text))
    assert [len(row.texts) for row in rows] == [2, 2, 2]
    assert rows[1].texts[0] == big and rows[1].cell(1).start == at(text, ",c") + 1
    assert rows[2].texts == ["d", "e"] and rows[2].cell(1).content_start == at(text, "e")


def test_cells_corpora_match_csv_module(shared_dir):
    files = sorted((shared_dir / "corpora").rglob("*.csv"))
    assert len(files) >= 10
    for path in files:
        text = read_corpus(path)
        rows = list(csv_cells.iter_rows(text, ","))
        assert [row.texts for row in rows] == csv_reader_rows(text), path
        assert [row.texts for row in exact_rows(text)] == csv_reader_rows(text), path
        assert_positions(text, rows[:300])


# ==========================================================================================
# HPT CSV
# ==========================================================================================

ATTESTATION = (
    "To the best of its knowledge and belief, this hospital has included all applicable standard charge information "
    "in accordance with the requirements of 45 CFR 180.50, and the information encoded is true, accurate, and complete "
    "as of the date in the file."
)
AFFIRMATION = (
    "To the best of its knowledge and belief, the hospital has included all applicable standard charge information "
    "in accordance with the requirements of 45 CFR 180.50, and the information encoded is true, accurate, and complete "
    "as of the date indicated."
)
ROW1_V3 = ["hospital_name", "last_updated_on", "version", "location_name", "hospital_address", "license_number|CA", "type_2_npi", ATTESTATION, "attester_name"]
ROW1_V2 = ["hospital_name", "last_updated_on", "version", "hospital_location", "hospital_address", "license_number|CA", AFFIRMATION]
TALL_V3_SPACED = [
    "description", "code | 1", "code | 1 | type", "code | 2", "code | 2 | type", "modifiers", "setting",
    "drug_unit_of_measurement", "drug_type_of_measurement", "standard_charge | gross", "standard_charge | discounted_cash",
    "payer_name", "plan_name", "standard_charge | negotiated_dollar", "standard_charge | negotiated_percentage",
    "standard_charge | negotiated_algorithm", "median_amount", "10th_percentile", "90th_percentile", "count",
    "standard_charge | methodology", "standard_charge | min", "standard_charge | max", "additional_generic_notes",
]


def row2(day: str = "2026-04-01", version: str = "3.0.0") -> list[str]:
    return ["West Mercy Hospital", day, version, "West Mercy Hospital", "12 Main Street, Fullerton, CA 92832", "50056", "0000000001", "true", "Leigh Attester"]


def tall_item(desc: str, c1: str, t1: str, c2: str = "", t2: str = "", setting: str = "outpatient", payer: str = "Platform Health Insurance") -> list[str]:
    return [desc, c1, t1, c2, t2, "", setting, "", "", "1200", "1080", payer, "PPO", "400", "", "", "", "", "", "", "fee schedule", "250", "400", ""]


def tall_v3(*items: list[str], newline: str = "\r\n", day: str = "2026-04-01", header: list[str] = TALL_V3_SPACED) -> str:
    return newline.join([line(*ROW1_V3), line(*row2(day)), line(*header), *(line(*i) for i in items)]) + newline


def slot_view(text: str, reading: r.Reading) -> list[tuple]:
    """(text, expects, qualifier, place) per slot, after checking every offset."""
    for s in reading.slots:
        assert text[s.start : s.start + len(s.text)] == s.text
        if s.qualifier is not None:
            assert text[s.qual_start : s.qual_start + len(s.qualifier)] == s.qualifier
    return [(s.text, s.expects, s.qualifier, s.place) for s in reading.slots]


def problem_view(text: str, reading: r.Reading) -> list[tuple[str, str]]:
    return [(p.rule, text[p.start : p.end]) for p in reading.problems]


def test_hpt_tall_v3_spaced_headers():
    text = tall_v3(
        tall_item("MRI of brain (no contrast)", "611", "RC", "70551", "CPT"),
        tall_item("Pacemaker", "278", "RC", "C1785", "HCPCS"),
        tall_item("Major hip and knee joint replacement", "470", "MS-DRG", setting="inpatient"),
        tall_item("Aspirin 81 milligram chewable tablet", "10135-0729-62", "NDC", setting="both"),
        tall_item("Type 2 diabetes package", "E11.9", "ICD", "EAPG1", "LOCAL"),
    )
    reading = hpt_csv.read(text)
    assert reading is not None
    assert reading.kind == r.HPT_CSV
    assert reading.version == "3.0.0"
    assert reading.day == dt.date(2026, 4, 1)
    assert reading.problems == []
    assert slot_view(text, reading) == [
        ("611", places.REVENUE, "RC", "code|1"),
        ("70551", CPT, "CPT", "code|2"),
        ("278", places.REVENUE, "RC", "code|1"),
        ("C1785", HCPCS, "HCPCS", "code|2"),
        ("470", places.MS_DRG, "MS-DRG", "code|1"),
        ("10135-0729-62", NDC, "NDC", "code|1"),
        ("E11.9", places.ICD_ANY, "ICD", "code|1"),
        ("EAPG1", places.LOCAL, "LOCAL", "code|2"),
    ]
    mri = reading.slots[1]
    assert mri.start == at(text, "70551") and mri.qual_start == at(text, "CPT,,outpatient")
    assert mri.label == "code|2, type CPT" and mri.role == "code|2, type CPT"
    assert reading.slots[0].start == at(text, "611") and reading.slots[0].qual_start == at(text, "RC,")
    headers = {h.text: h for h in reading.headers}
    assert text[headers["code | 1 | type"].start : headers["code | 1 | type"].end] == "code | 1 | type"
    assert "code|1" in headers["code | 1 | type"].meaning and "MS-LTC-DRG" in headers["code | 1 | type"].meaning
    assert headers["last_updated_on"].meaning.startswith("MRF date")
    assert headers[ATTESTATION].meaning.startswith("Attestation statement")
    assert "CA" in headers["license_number|CA"].meaning
    assert headers["payer_name"].meaning.startswith("Payer name")
    assert headers["median_amount"].meaning.startswith("Median allowed amount")
    assert all(h.meaning for h in reading.headers)


WIDE_V3 = [
    "description", "code|1", "code|1|type", "code|2", "code|2|type", "modifiers", "setting", "drug_unit_of_measurement",
    "drug_type_of_measurement", "standard_charge|gross", "standard_charge|discounted_cash",
    "standard_charge|Platform Health Insurance|PPO|negotiated_dollar", "standard_charge|Platform Health Insurance|PPO|negotiated_percentage",
    "standard_charge|Platform Health Insurance|PPO|negotiated_algorithm", "median_amount|Platform Health Insurance|PPO",
    "10th_percentile|Platform Health Insurance|PPO", "90th_percentile|Platform Health Insurance|PPO", "count|Platform Health Insurance|PPO",
    "standard_charge|Platform Health Insurance|PPO|methodology", "additional_payer_notes|Platform Health Insurance|PPO",
    "standard_charge|min", "standard_charge|max", "additional_generic_notes",
]


def test_hpt_wide_v3():
    items = [
        ["MRI of brain (no contrast)", "611", "RC", "70551", "CPT", "", "outpatient", "", "", "1200", "1080", "400", "", "", "", "", "", "", "fee schedule", "", "250", "400", ""],
        ["Fluconazole 2 milligrams/milliliter", "J1450", "HCPCS", "25021-0184-82", "NDC", "", "both", "100", "ML", "75", "45", "35", "", "", "", "", "", "", "fee schedule", "", "35", "37", ""],
        ["Bilateral procedure", "", "", "", "", "50", "both", "", "", "", "", "", "150", "", "", "", "", "", "", "150% adjustment", "", "", ""],
    ]
    text = "\n".join([line(*ROW1_V3), line(*row2("4/1/2026")), line(*WIDE_V3), *(line(*i) for i in items)]) + "\n"
    reading = hpt_csv.read(text)
    assert reading is not None and reading.problems == []
    assert reading.day == dt.date(2026, 4, 1)  # M/D/YYYY is accepted in CSV
    assert slot_view(text, reading) == [
        ("611", places.REVENUE, "RC", "code|1"),
        ("70551", CPT, "CPT", "code|2"),
        ("J1450", HCPCS, "HCPCS", "code|1"),
        ("25021-0184-82", NDC, "NDC", "code|2"),
    ]
    meanings = {h.text: h.meaning for h in reading.headers}
    assert meanings["standard_charge|Platform Health Insurance|PPO|negotiated_dollar"] == (
        "Payer-specific negotiated charge as a dollar amount for Platform Health Insurance PPO."
    )
    assert "Platform Health Insurance PPO" in meanings["count|Platform Health Insurance|PPO"]
    assert "Platform Health Insurance PPO" in meanings["additional_payer_notes|Platform Health Insurance|PPO"]


def test_hpt_tall_v2_lowercase_type_and_v3_only_type():
    header = [
        "description", "code|1", "code|1|type", "code|2", "code|2|type", "modifiers", "setting", "drug_unit_of_measurement",
        "drug_type_of_measurement", "standard_charge|gross", "standard_charge|discounted_cash", "payer_name", "plan_name",
        "standard_charge|negotiated_dollar", "standard_charge|negotiated_percentage", "standard_charge|negotiated_algorithm",
        "estimated_amount", "standard_charge|methodology", "standard_charge|min", "standard_charge|max", "additional_generic_notes",
    ]
    items = [
        ["Behavioral health; residential, per diem", "H0017", "hcpcs", "", "", "", "inpatient", "", "", "2500", "2250", "Region Health Insurance", "HMO", "2000", "", "", "", "per diem", "2000", "2000", ""],
        ["Inpatient rehabilitation", "A0101", "CMG", "", "", "", "inpatient", "", "", "2500", "2250", "Region Health Insurance", "HMO", "2000", "", "", "", "per diem", "2000", "2000", ""],
    ]
    text = "\n".join([line(*ROW1_V2), line("West Mercy Hospital", "2024-07-01", "2.0", "West Mercy Hospital", "12 Main Street", "50056", "true"), line(*header), *(line(*i) for i in items)])
    reading = hpt_csv.read(text)
    assert reading is not None and reading.version == "2.0" and reading.day == dt.date(2024, 7, 1)
    assert slot_view(text, reading) == [("H0017", HCPCS, "hcpcs", "code|1"), ("A0101", None, "CMG", "code|1")]
    (problem,) = reading.problems
    assert (problem.rule, text[problem.start : problem.end]) == (UNKNOWN_CODE_TYPE, "CMG")
    assert "template version 2.0" in problem.message and "APR-DRG" in problem.message and "CMG" not in problem.message.split(":", 1)[1]
    meanings = {h.text: h.meaning for h in reading.headers}
    assert meanings[AFFIRMATION].startswith("Affirmation statement")
    assert meanings["hospital_location"].startswith("Hospital location")
    assert meanings["estimated_amount"].startswith("Estimated allowed amount")


def test_hpt_unknown_code_types():
    text = tall_v3(
        tall_item("Hip replacement", "470", "MS-DRG A", "175869", "LOCAL", setting="inpatient"),
        tall_item("Something", "12345", "BADCODE"),
    )
    reading = hpt_csv.read(text)
    assert reading is not None
    assert problem_view(text, reading) == [(UNKNOWN_CODE_TYPE, "MS-DRG A"), (UNKNOWN_CODE_TYPE, "BADCODE")]
    first, second = reading.problems
    assert first.start == at(text, "MS-DRG A") and second.start == at(text, "BADCODE")
    assert "'MS-DRG A' is not a code type of template version 3.0.0" in first.message
    assert "MS-DRG" in first.message and "MS-LTC-DRG" in first.message and "CMG" in first.message
    assert RULES[UNKNOWN_CODE_TYPE][0] == Severity.ERROR and first.effective_severity == Severity.ERROR
    assert slot_view(text, reading) == [
        ("470", None, "MS-DRG A", "code|1"),
        ("175869", places.LOCAL, "LOCAL", "code|2"),
        ("12345", None, "BADCODE", "code|1"),
    ]


def test_hpt_code_without_type_and_type_without_code():
    text = tall_v3(
        tall_item("MRI of brain", "611", "", "70551", "CPT"),
        tall_item("Heart transplant", "", "MS-DRG", setting="inpatient"),
        tall_item("Blank both", "   ", " "),
    )
    reading = hpt_csv.read(text)
    assert reading is not None
    assert problem_view(text, reading) == [(MISSING_CODE_TYPE, "611"), (MISSING_CODE_TYPE, "MS-DRG")]
    assert reading.problems[0].start == at(text, "611,")
    assert reading.problems[1].start == at(text, "MS-DRG")
    assert RULES[MISSING_CODE_TYPE][0] == Severity.ERROR
    assert slot_view(text, reading) == [("611", None, None, "code|1"), ("70551", CPT, "CPT", "code|2")]


def test_hpt_leftover_placeholders_and_structure():
    row1 = [h.replace("license_number|CA", "license_number|[state]") for h in ROW1_V3]
    header = [h.replace("code | 2 | type", "code|[i]|type").replace("code | 2", "code|[i]") for h in TALL_V3_SPACED]
    text = "\n".join([line(*row1), line(*row2()), line(*header), line(*tall_item("MRI", "70551", "CPT"))])
    reading = hpt_csv.read(text)
    assert reading is not None
    assert problem_view(text, reading) == [
        (HPT_STRUCTURE, "license_number|[state]"),
        (HPT_STRUCTURE, "code|[i]"),
        (HPT_STRUCTURE, "code|[i]|type"),
    ]
    assert reading.problems[1].start == at(text, "code|[i]")
    assert "[i] with the code's number" in reading.problems[1].message
    assert RULES[HPT_STRUCTURE][0] == Severity.WARNING
    assert slot_view(text, reading) == [("70551", CPT, "CPT", "code|1")]


def test_hpt_ambiguous_layout_missing_type_column_duplicates_and_bad_date():
    header = ["description", "code|1", "code|2", "code|2|type", "code|2|type", "setting", "standard_charge|gross", "additional_generic_notes"]
    text = "\n".join([line(*ROW1_V3), line(*row2("July 1 2024")), line(*header), line("MRI", "70551", "611", "RC", "RC", "outpatient", "1200", "")])
    reading = hpt_csv.read(text)
    assert reading is not None and reading.day is None
    assert problem_view(text, reading) == [
        (HPT_STRUCTURE, "July 1 2024"),
        (HPT_STRUCTURE, "code|2|type"),  # the repeated one
        (HPT_STRUCTURE, "code|1"),  # no code|1|type column
        (HPT_STRUCTURE, line(*header)),  # neither tall nor wide
    ]
    assert reading.problems[1].start == at(text, "code|2|type", 1)
    assert "neither" in reading.problems[3].message
    # Codes of a column without a type column: slots that name no set, no finding per row.
    assert slot_view(text, reading) == [("70551", None, None, "code|1"), ("611", places.REVENUE, "RC", "code|2")]


def test_hpt_bom_mixed_endings_cp1252_and_embedded_newline():
    # cp1252-decoded text keeps its em dash as one character; offsets count characters.
    text = (
        "\ufeff" + line(*ROW1_V3) + "\r\n" + line(*row2("07/01/2024")) + "\n" + line(*TALL_V3_SPACED) + "\r"
        + line(*tall_item("Treatment or observation room \u2014 observation room", "762", "RC")) + "\r\n"
        + line(*tall_item("Fluconazole 2 mg/mL,\r\nper 100 mL bag", "J1450", "HCPCS", "25021-0184-82", "NDC")) + "\n"
        + line(*tall_item("Caf\u00e9 \"special\" item", "0450", "rc"))
    )
    reading = hpt_csv.read(text)
    assert reading is not None and reading.problems == []
    assert reading.day == dt.date(2024, 7, 1)
    assert slot_view(text, reading) == [
        ("762", places.REVENUE, "RC", "code|1"),
        ("J1450", HCPCS, "HCPCS", "code|1"),
        ("25021-0184-82", NDC, "NDC", "code|2"),
        ("0450", places.REVENUE, "rc", "code|1"),
    ]
    assert reading.slots[0].start == at(text, "762")
    assert reading.slots[1].start == at(text, "J1450") and reading.slots[2].qual_start == at(text, "NDC")
    assert reading.slots[3].start == at(text, "0450")
    assert reading.headers[0].text == "hospital_name" and reading.headers[0].start == 1  # after the BOM


def test_hpt_not_hpt():
    assert hpt_csv.read("") is None
    assert hpt_csv.read("just some text, with commas\nand lines\n") is None
    assert hpt_csv.read("\x00\x01binary\xff junk") is None
    # General headers without any code column in row 3.
    text = "\n".join([line(*ROW1_V3), line(*row2()), "description,setting,standard_charge|gross", "MRI,outpatient,1200"])
    assert hpt_csv.read(text) is None
    # A chargemaster is not a price transparency file.
    assert hpt_csv.read(CDM_TEXT) is None


def test_hpt_vocabulary():
    assert set(vocab.types_for("2.0.0")) == set(vocab.V2_TYPES) and len(vocab.V2_TYPES) == 19
    assert len(vocab.types_for("3.0.0")) == 21 and vocab.types_for(None) is vocab.V3_TYPES
    assert vocab.types_for("2.2.0")["HCPCS"] == HCPCS
    assert vocab.types_for("3.0.0")["MS-LTC-DRG"] == places.OTHER_DRG and "MS-LTC-DRG" not in vocab.types_for("2.2.0")
    assert vocab.types_for("3.0")["CDM"] == places.LOCAL
    assert vocab.V3_TYPES["APR-DRG"] == places.OTHER_DRG and vocab.V3_TYPES["CMG"] == places.CMG and vocab.V3_TYPES["CDT"] == places.CDT
    assert vocab.code_column(" Code | 12 | Type ") == ("12", True)
    assert vocab.code_column("code|[i]") == ("[i]", False)
    assert vocab.code_column("code|1|modifier") is None and vocab.code_column("codes|1") is None
    assert vocab.payer_plan("standard_charge | Aetna | PPO | methodology") == ("Aetna", "PPO")
    assert vocab.payer_plan("standard_charge|gross") is None
    for header in ["standard_charge|gross", "STANDARD_CHARGE | Discounted_Cash", "setting", "10th_percentile", "count", "billing_class"]:
        assert vocab.charge_meaning(header)
    assert vocab.general_meaning("Type_2_NPI")


# ==========================================================================================
# chargemasters
# ==========================================================================================

CDM_TEXT = (
    "Mercy General Hospital Chargemaster,,,,,\r\n"
    "Effective 01/01/2019,,,,,\r\n"
    'Charge Code,Charge Description,CPT/HCPCS Code,Rev Code," Inpatient \nPrice "," Outpatient \nPrice "\r\n'
    '761000875,HC FINE NEEDLE ASPIRATION,10021,OTHER [0360],"$1,569.00 ","$1,569.00 "\r\n'
    "761000876,HC HOLTER,  93224 ,EKG/ECG (ELECTROCARDIOGRAM) - HOLTER MONITOR [0731],$485.00 ,$485.00 \r\n"
    '761000877,"HC ACETAMINOPHEN, 10 MG",J0131,0250 - PHARMACY,$2.05,$2.05\r\n'
    "761000878,PF US RENAL RT,7677026RT,0402,$90.00,$90.00\r\n"
    "761000879,HC SUPPLY,N/A,   ,$1.00,$1.00\r\n"
    "761000880,HC SOMETHING,9921,PHARMACY,$1.00,$1.00\r\n"
    "420000079,HC PHY THER SGL PROC ONE AREA INI 30 MIN,X3904,0420,$171.50 ,$171.50 \r\n"
    ",,,,,\r\n"
)


def test_cdm_preamble_multiline_header_and_code_cells():
    reading = cdm_csv.read(CDM_TEXT)
    assert reading is not None
    assert reading.kind == r.CDM_CSV and reading.day is None and reading.problems == []
    text = CDM_TEXT
    assert slot_view(text, reading) == [
        ("10021", places.PROCEDURE, None, "CPT/HCPCS Code"),
        ("0360", places.REVENUE, None, "Rev Code"),
        ("93224", places.PROCEDURE, None, "CPT/HCPCS Code"),
        ("0731", places.REVENUE, None, "Rev Code"),
        ("J0131", places.PROCEDURE, None, "CPT/HCPCS Code"),
        ("0250", places.REVENUE, None, "Rev Code"),
        ("76770", places.PROCEDURE, None, "CPT/HCPCS Code"),  # modifiers 26 and RT run on
        ("0402", places.REVENUE, None, "Rev Code"),
        ("9921", places.PROCEDURE, None, "CPT/HCPCS Code"),  # not a code: left for the rules to flag
        ("X3904", places.LOCAL, None, "CPT/HCPCS Code"),  # a Medi-Cal local (Level III) code: never flagged
        ("0420", places.REVENUE, None, "Rev Code"),
    ]
    assert reading.slots[3].start == at(text, "0731]")
    assert reading.slots[2].start == at(text, "93224")
    assert reading.slots[0].label == "CPT/HCPCS Code column (procedure code)"
    assert [(h.text, text[h.start : h.end]) for h in reading.headers] == [("CPT/HCPCS Code", "CPT/HCPCS Code"), ("Rev Code", "Rev Code")]
    assert reading.headers[0].meaning.startswith("CPT / HCPCS procedure code column")
    assert reading.headers[1].meaning.startswith("Revenue code column")


def test_cdm_large_file():
    row = "761000890,HC OFFICE VISIT,99213,0510,$120.00,$120.00\r\n"
    text = CDM_TEXT + row * 6000  # past the prefix the header row is looked for in first
    assert len(text) > 1 << 18
    reading = cdm_csv.read(text)
    assert reading is not None and len(reading.slots) == 11 + 2 * 6000
    last = reading.slots[-2]
    assert (last.text, last.start) == ("99213", text.rindex("99213"))
    assert cdm_csv.read("Name,Department\r\n" + "Ada,Lab 99213\r\n" * 30000) is None


def test_cdm_tab_separated_and_other_columns():
    text = "Item No.\tDescription\tCPT Code\tNDC #\tMS-DRG\tPrice\n1\tDRUG\tJ3490\t00093-8739-01\t\t$1.00\n2\tSTAY\t\tN400093873901\t470\t$9,000.00\n"
    reading = cdm_csv.read(text)
    assert reading is not None
    assert slot_view(text, reading) == [
        ("J3490", places.PROCEDURE, None, "CPT Code"),
        ("00093-8739-01", NDC, None, "NDC #"),
        ("00093873901", NDC, None, "NDC #"),
        ("470", places.MS_DRG, None, "MS-DRG"),
    ]


def test_cdm_chg_cat_only_when_values_are_revenue_codes():
    good = "CC,DESCRIPTION,CHG CAT,CPT CODE,STD AMOUNT\n100,ROOM,120,,$900.00\n101,LAB,300,80053,$50.00\n"
    reading = cdm_csv.read(good)
    assert reading is not None
    assert [(s.text, s.expects) for s in reading.slots] == [("120", places.REVENUE), ("300", places.REVENUE), ("80053", places.PROCEDURE)]
    bad = "CC,DESCRIPTION,CHG CAT,CPT CODE,STD AMOUNT\n100,ROOM,ROOMS,,$900.00\n101,LAB,LAB,80053,$50.00\n"
    reading = cdm_csv.read(bad)
    assert reading is not None and [(s.text, s.expects) for s in reading.slots] == [("80053", places.PROCEDURE)]


def test_cdm_column_kinds():
    kinds = {
        "CPT": places.PROCEDURE, "CPT Code": places.PROCEDURE, "CPT4": places.PROCEDURE, "CPT-4": places.PROCEDURE,
        "HCPCS": places.PROCEDURE, "HCPC": places.PROCEDURE, "HCPCS Code": places.PROCEDURE, "CPT/HCPCS": places.PROCEDURE,
        " cpt/hcpcs code ": places.PROCEDURE, "cpt4_ext_id": places.PROCEDURE, "NDC": NDC, "NDC Number": NDC,
        "Rev Code": places.REVENUE, "Revenue Code": places.REVENUE, "REV_CD": places.REVENUE, "MS-DRG": places.MS_DRG, "DRG": places.MS_DRG,
        "CHG CAT": "chg-cat",
        "Revenue": None, "Charge Code": None, "Item No.": None, "CPT Description": None, "HCPCS Modifier": None,
        "Procedure Code": None, "Price": None, "code|1": None, "": None,
    }
    assert {h: cdm_csv.column_kind(h) for h in kinds} == kinds


def test_cdm_silence():
    assert cdm_csv.read("") is None
    assert cdm_csv.read("Name,Department,Phone\nAda,Lab,555-0100\n") is None  # no code columns
    assert cdm_csv.read("We bill CPT, HCPCS and NDC codes.\nNothing tabular here.\n") is None  # random text
    # Header-less (UNC's layout): no guessing, even with HCPCS-looking cells.
    assert cdm_csv.read('"acetaminophen 325 mg tablet","J3490",$1.07\n"acetaZOLAMIDE 500 mg","J1120",$150.88\n') is None
    # A price transparency file goes to hpt_csv, not here (its data rows carry "CPT" cells).
    assert cdm_csv.read(tall_v3(tall_item("MRI", "70551", "CPT"))) is None


# ==========================================================================================
# real files (../shared)
# ==========================================================================================

HPT_EXAMPLES = "corpora/cms-hospital-price-transparency"
VALIDATOR = "corpora/cms-hpt-validator"
CDMS = "corpora/vsoch-hospital-chargemaster"


def test_every_corpus_csv_reads(shared_dir):
    for path in sorted((shared_dir / "corpora").rglob("*.csv")):
        text = read_corpus(path)
        for reader in (hpt_csv.read, cdm_csv.read):
            reading = reader(text)
            if reading is not None:
                slot_view(text, reading)
                for p in reading.problems:
                    assert 0 <= p.start <= p.end <= len(text)


def _types(shared_dir: Path, name: str) -> tuple[str, r.Reading]:
    text = read_corpus(shared_dir / name)
    reading = hpt_csv.read(text)
    assert reading is not None
    slot_view(text, reading)
    return text, reading


def test_cms_v3_examples(shared_dir):
    _, tall = _types(shared_dir, f"{HPT_EXAMPLES}/Tall_Format_Examples/V3.0.0_Tall_CSV_Format_Example.csv")
    assert Counter(s.qualifier for s in tall.slots) == {"RC": 15, "CPT": 8, "MS-DRG": 8, "HCPCS": 10, "NDC": 12}
    assert tall.problems == [] and tall.version == "3.0.0" and tall.day == dt.date(2026, 4, 1)
    text, wide = _types(shared_dir, f"{HPT_EXAMPLES}/Wide_Format_Examples/V3.0.0_Wide_CSV_Format_Example.csv")
    assert Counter(s.qualifier for s in wide.slots) == {"RC": 8, "CPT": 4, "MS-DRG": 4, "HCPCS": 7, "NDC": 7}
    assert wide.problems == [] and text.startswith("\ufeff") and wide.headers[0].start == 1
    assert any("Region Health Insurance HMO" in h.meaning for h in wide.headers)


def test_cms_v3_templates(shared_dir):
    for name, n_headers in (("V3.0.0_Tall_CSV_Format_Template.csv", 3), ("V3.0.0_Wide_CSV_Format_Template.csv", 12)):
        text, reading = _types(shared_dir, f"{HPT_EXAMPLES}/templates/{name}")
        assert reading.slots == [] and reading.day is None and reading.version == "3.0.0"
        # Every placeholder header, and nothing else: the layout is clear in both templates.
        assert len(reading.problems) == n_headers
        assert all(p.rule == HPT_STRUCTURE and "[" in text[p.start : p.end] for p in reading.problems)


def test_hpt_validator_fixtures(shared_dir):
    # The validator's own test expects InvalidDateError for "July 1 2024" in this file.
    text, bad = _types(shared_dir, f"{VALIDATOR}/sample-bad-header.csv")
    assert problem_view(text, bad) == [(HPT_STRUCTURE, "July 1 2024")]
    assert bad.day is None and bad.version == "2.0"
    assert Counter(s.qualifier for s in bad.slots) == {"MS-DRG": 4, "LOCAL": 4, "CPT": 2, "HCPCS": 3, "hcpcs": 1, "RC": 3}
    # Two blank headers after `description`: the validator accepts them, and the codes move over.
    text, blank = _types(shared_dir, f"{VALIDATOR}/sample-wide-blank-headers.csv")
    assert blank.problems == [] and blank.day == dt.date(2025, 11, 14)
    assert Counter(s.qualifier for s in blank.slots) == {"MS-DRG": 2, "LOCAL": 2}
    assert blank.slots[0].text == "470" and blank.slots[0].place == "code|1"
    _, valid = _types(shared_dir, f"{VALIDATOR}/sample-tall-valid.csv")  # has a blank line among the items
    assert valid.problems == [] and len(valid.slots) == 17
    _, wide = _types(shared_dir, f"{VALIDATOR}/sample-wide-valid.csv")
    assert wide.problems == [] and Counter(s.expects for s in wide.slots) == {places.MS_DRG: 3, places.LOCAL: 3, CPT: 1, HCPCS: 4, places.REVENUE: 2}
    _, empty = _types(shared_dir, f"{VALIDATOR}/sample-no-data.csv")
    assert empty.slots == [] and empty.problems == []


def test_vsoch_chargemasters(shared_dir):
    text = read_corpus(shared_dir / f"{CDMS}/oshpd-ca/106361458_CDM_2018.csv")
    reading = cdm_csv.read(text)
    assert reading is not None and [h.text for h in reading.headers] == ["CPT"]
    slot_view(text, reading)
    assert len(reading.slots) > 3000 and {s.expects for s in reading.slots} == {places.PROCEDURE}
    assert hpt_csv.read(text) is None

    text = read_corpus(shared_dir / f"{CDMS}/uc-davis-medical-center/CDM.csv")
    reading = cdm_csv.read(text)
    assert reading is not None and [h.text for h in reading.headers] == ["CPT/HCPCS Code"]
    slot_view(text, reading)
    assert len(reading.slots) > 13000
    assert Counter(s.expects for s in reading.slots)[places.LOCAL] == 18  # the Medi-Cal X codes
    assert reading.slots[0].text == "10021" and reading.slots[0].start == at(text, "10021")

    text = read_corpus(shared_dir / f"{CDMS}/university-of-north-carolina-hospital/chatham-published-charges.csv")
    assert cdm_csv.read(text) is None and hpt_csv.read(text) is None


def reference_hpt_slots(text: str) -> tuple[list[tuple], list[tuple]]:
    """The code slots and per-row problems of a tall price CSV read the plain way: every row
    by iter_rows, every code cell placed by Row.stripped. The oracle for _data's shortcuts
    (rows repeating the previous row's head, one-line rows split without a csv reader)."""
    rows = list(csv_cells.iter_rows(text, ","))
    header = [vocab.code_column(t) if "|" in t else None for t in rows[2].texts]
    code_cols = {c[0]: j for j, c in enumerate(header) if c is not None and not c[1]}
    type_cols = {c[0]: j for j, c in enumerate(header) if c is not None and c[1]}
    pairs = sorted((cj, type_cols[i]) for i, cj in code_cols.items())
    slots, problems = [], []
    for row in rows[3:]:
        n = len(row.texts)
        for cj, tj in pairs:
            code = row.texts[cj].strip() if cj < n else ""
            typ = row.texts[tj].strip() if tj < n else ""
            if code and typ:
                slots.append((code, row.stripped(cj)[1], typ, row.stripped(tj)[1]))
                if typ.upper() not in vocab.types_for("3.0.0"):
                    problems.append((UNKNOWN_CODE_TYPE, row.stripped(tj)[1]))
            elif code:
                slots.append((code, row.stripped(cj)[1], None, None))
                problems.append((MISSING_CODE_TYPE, row.stripped(cj)[1]))
            elif typ:
                problems.append((MISSING_CODE_TYPE, row.stripped(tj)[1]))
    return slots, problems


def test_hpt_repeated_rows_and_plain_lines_read_as_every_row_alone():
    """Random tall files whose items repeat per payer, as real ones do, with the shapes that
    could fool a shortcut: quoted and padded codes, quotes and line breaks inside cells, items
    that differ only after the code columns or only in a code, CRLF, lone CR, blank lines,
    missing and unknown types."""
    rng = random.Random(14)
    descriptions = ["MRI", 'Knee "left", with contrast', "two\nlines", "cr\rinside", "", "x,y"]
    codes = ["99213", " 99214", "J1040 ", "0270", "", '"quoted"', "A,B"]
    types = ["CPT", "HCPCS", "RC", "", "BOGUS", " cpt "]
    payers = ["Platform", "Region, Inc.", 'A "B"', "multi\nline payer"]
    for trial in range(150):
        items = []
        for _ in range(rng.randint(1, 12)):
            item = tall_item(rng.choice(descriptions), rng.choice(codes), rng.choice(types), rng.choice(codes), rng.choice(types))
            for _ in range(rng.randint(1, 4)):
                row = list(item)
                row[11] = rng.choice(payers)
                row[23] = rng.choice(["", "note", '"quoted" note'])
                if rng.random() < 0.15:
                    row[1] = rng.choice(codes)  # a repeat that differs in a code
                items.append(row)
        newline = rng.choice(["\r\n", "\n", "\r"])
        text = tall_v3(*items, newline=newline)
        if rng.random() < 0.3:
            text = text.replace(newline + "Pl", newline + newline + "Pl", 1)  # a blank line among the items
        if rng.random() < 0.2:
            text = text.rstrip("\r\n")  # no break after the last row
        reading = hpt_csv.read(text)
        assert reading is not None, trial
        slots, problems = reference_hpt_slots(text)
        assert [(s.text, s.start, s.qualifier, s.qual_start) for s in reading.slots] == slots, trial
        assert [(p.rule, p.start) for p in reading.problems if p.rule != HPT_STRUCTURE] == problems, trial
