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
        (row,) = csv_cells.read_rows(text)
        expected = [(j, *row.span(j)) for j, t in enumerate(row.texts) if t.strip()]
        assert row.nonblank_spans() == expected
