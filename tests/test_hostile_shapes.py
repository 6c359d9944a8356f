"""Hostile shapes read in linear work: a header row of tens of thousands of cells.

Work is counted, not timed (timings are in bench/bench_hostile.py): every cell text a reader
touches through slicing or iteration of a row counts one. Quadratic placement of cells (a sum
over the cells before each one) makes the count grow with the square of the width.
"""

from __future__ import annotations

import pytest

from medcode.server import kinds
from medcode.server.tables import csv_cells


class _CountingTexts(list):
    touched = 0

    def __getitem__(self, k):
        if isinstance(k, slice):
            _CountingTexts.touched += len(range(*k.indices(len(self))))
        return super().__getitem__(k)

    def __iter__(self):
        _CountingTexts.touched += len(self)
        return super().__iter__()


@pytest.fixture
def counted(monkeypatch):
    init = csv_cells.Row.__init__

    def counting_init(self, texts, *args, **kwargs):
        init(self, _CountingTexts(texts), *args, **kwargs)

    monkeypatch.setattr(csv_cells.Row, "__init__", counting_init)

    def work(text: str, name: str) -> tuple[int, object]:
        _CountingTexts.touched = 0
        reading = kinds.read(text, name)
        return _CountingTexts.touched, reading

    return work


def hpt_wide(columns: int) -> str:
    payers = ",".join(f"standard_charge|payer {i}|plan|negotiated_dollar" for i in range(columns))
    values = ",1" * columns
    return (
        "hospital_name,last_updated_on,version\nGeneral,2025-01-01,3.0.0\n"
        f"description,code|1,code|1|type,{payers}\nvisit,99213,CPT{values}\n"
    )


def chargemaster_wide(columns: int) -> str:
    return "CPT," + ",".join(f"column {i}" for i in range(columns)) + "\n99213" + ",1" * columns + "\n"


@pytest.mark.parametrize("make", [hpt_wide, chargemaster_wide])
def test_wide_header_rows_cost_linear_work(counted, make):
    small_work, small = counted(make(5_000), "wide.csv")
    large_work, large = counted(make(40_000), "wide.csv")
    assert small is not None and large is not None
    assert [s.text for s in large.slots] == ["99213"]  # still read, code found in its place
    # Eight times the cells: at most about eight times the work (quadratic would be 64x).
    assert large_work <= 10 * small_work
    assert large_work <= 20 * 40_000


def test_every_header_of_a_wide_row_is_placed_exactly():
    text = hpt_wide(2_000)
    reading = kinds.read(text, "wide.csv")
    assert len(reading.headers) == 3 + 3 + 2_000
    for h in reading.headers:
        assert text[h.start : h.end] == h.text


def test_nonblank_spans_match_span_on_plain_and_quoted_rows():
    for text in ('a, b ,,"c ""q""",  ,d\n', "a, b ,,c,  ,d\n"):
        (row,) = list(csv_cells.iter_rows(text))
        expected = [(j, *row.span(j)) for j, t in enumerate(row.texts) if t.strip()]
        assert row.nonblank_spans() == expected


# -- price files whose structure deviates are still read, and say so -----------------------

from medcode.server.findings import HPT_STRUCTURE  # noqa: E402
from medcode.server.tables import hpt_csv, hpt_json  # noqa: E402

HPT = (
    "hospital_name,last_updated_on,version\nGeneral,2025-01-01,3.0.0\n"
    "description,code|1,code|1|type,payer_name,plan_name,standard_charge|negotiated_dollar\n"
    "visit,99213,CPT,Payer,PPO,100\n"
)


def structure(reading) -> list[tuple[str, str]]:
    return [(f.message, f.start) for f in reading.problems if f.rule == HPT_STRUCTURE]


def test_a_misspelt_description_header_is_named_and_the_codes_still_read():
    text = HPT.replace("description,", "descrption,")
    reading = hpt_csv.read(text)
    assert reading is not None and [s.text for s in reading.slots] == ["99213"]
    (message, start), = structure(reading)
    assert "'descrption'" in message and start == text.index("descrption")


def test_a_blank_header_row_is_named_and_the_next_row_read_as_headers():
    text = HPT.replace("\ndescription,", "\n\ndescription,")
    reading = hpt_csv.read(text)
    assert reading is not None and [s.text for s in reading.slots] == ["99213"]
    assert any("row 3 is blank" in m for m, _ in structure(reading))


# "²" (int() refuses it) and full-width "３.０.０" are digits to str.isdigit(), and int() refuses
# more than 4300 digits: no version CMS wrote.
@pytest.mark.parametrize(
    "version, known",
    [("3.0.0", True), ("2.0", True), ("v2.2.0", True), ("9.9.9", False), ("3.1", False), ("\u00b2", False), ("\uff13.\uff10.\uff10", False), ("9" * 5000, False), ("2." + "0" * 5000, False)],
)
def test_unknown_template_version_in_csv_and_json(version, known):
    text = HPT.replace("3.0.0", version)
    found = [m for m, _ in structure(hpt_csv.read(text)) if "template version" in m]
    assert bool(found) != known
    doc = (
        '{"hospital_name": "General", "last_updated_on": "2025-01-01", "version": "%s",\n'
        ' "standard_charge_information": [{"description": "visit", "code_information": [{"code": "99213", "type": "CPT"}]}]}' % version
    )
    reading = hpt_json.read(doc)
    found = [(m, s) for m, s in structure(reading) if "template version" in m]
    assert bool(found) != known
    if found:
        assert found[0][1] == doc.index(version) and repr(version) in found[0][0]


def test_a_number_too_long_to_read_is_named_in_a_price_file():
    # Valid JSON that int() refuses (over 4300 digits): the error says so, at the number.
    number = "9" * 5000
    doc = (
        '{"hospital_name": "General", "last_updated_on": "2025-01-01", "version": "3.0.0", "n": %s,\n'
        ' "standard_charge_information": [{"description": "visit", "code_information": [{"code": "99213", "type": "CPT"}]}]}' % number
    )
    [(message, start)] = [(m, s) for m, s in structure(hpt_json.read(doc)) if "not valid JSON" in m]
    assert start == doc.index(number) and "a number of more than 4300 digits" in message
