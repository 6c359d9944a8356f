"""One reading of a price file's `last_updated_on`, the same in CSV and JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medcode.server.findings import HPT_STRUCTURE
from medcode.server.tables import hpt_csv, hpt_json
from medcode.server.tables.hpt_dates import last_updated_on

JAN5 = dt.date(2024, 1, 5)
GOOD = [
    ("2024-01-05", JAN5),
    ("2024-1-5", JAN5),
    ("20240105", JAN5),
    ("2024-01-05T10:00", JAN5),
    ("2024-01-05T10:00:30.5Z", JAN5),
    ("2024-01-05 10:00:30+05:30", JAN5),
    ("1/5/2024", JAN5),
    ("01/05/2024", JAN5),
    ("  2024-01-05\t", JAN5),
    ("2024-02-29", dt.date(2024, 2, 29)),
]
BAD = [
    "", "   ", "yesterday", "2024-02-30", "2023-02-29", "2024-13-01", "13/01/2024", "2024-01-05 (revised)",
    "2024-01-05T", "2024-01-05T25", "2024/01/05", "240105", "2024010", "202401050", "5.1.2024", "01-05-2024",
    "٢٠٢٤-01-05",  # Arabic-Indic digits: not a date a CMS file means
]


@pytest.mark.parametrize(("text", "day"), GOOD)
def test_every_accepted_form_gives_its_date(text, day):
    assert last_updated_on(text) == day


@pytest.mark.parametrize("text", BAD)
def test_anything_else_gives_none(text):
    assert last_updated_on(text) is None


def _csv(day: str) -> str:
    rows = [
        ["hospital_name", "last_updated_on", "version"],
        ["West Mercy Hospital", day, "3.0.0"],
        ["description", "code|1", "code|1|type", "setting", "standard_charge|gross"],
        ["MRI", "70551", "CPT", "outpatient", "100"],
    ]
    return "\n".join(",".join(row) for row in rows) + "\n"


def _json(day: str) -> str:
    return json.dumps({
        "hospital_name": "West Mercy Hospital",
        "last_updated_on": day,
        "version": "3.0.0",
        "standard_charge_information": [
            {"description": "MRI", "code_information": [{"code": "70551", "type": "CPT"}], "standard_charges": []},
        ],
    })


@pytest.mark.parametrize("text", [t for t, _ in GOOD] + BAD)
def test_csv_and_json_readers_agree_on_every_form(text):
    csv_reading, json_reading = hpt_csv.read(_csv(text)), hpt_json.read(_json(text))
    assert csv_reading is not None and json_reading is not None
    assert csv_reading.day == json_reading.day == last_updated_on(text)


@pytest.mark.parametrize("read, write", [(hpt_csv.read, _csv), (hpt_json.read, _json)], ids=["csv", "json"])
def test_a_date_that_is_none_is_reported_with_the_accepted_forms_in_csv_and_json(read, write):
    text = write("2024-01-05 (revised)")
    reading = read(text)
    assert reading is not None and reading.day is None
    problems = [p for p in reading.problems if p.rule == HPT_STRUCTURE and "last_updated_on" in p.message]
    assert len(problems) == 1 and "YYYY-MM-DD" in problems[0].message and "YYYYMMDD" in problems[0].message
    assert text[problems[0].start : problems[0].end] == "2024-01-05 (revised)"
    assert not [p for p in read(write("2024-01-05")).problems if "last_updated_on" in p.message]
