"""bench/claim_reader_probe (issue 14 research): the probe gives each claim what
document.walk gives on_claim, by itself on regular claims and through the walk on the others.
A probe, not the product: this keeps its figures honest while it lives in bench/."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from claims_837 import make_837, x12
from medcode.server.x12 import document

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "claim_reader_probe"))
import probe  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
DAY = dt.date(2026, 3, 2)


def walked(text: str) -> list:
    got: list = []
    document.walk(text, lambda c, k: got.append((c, k)))
    return got


def read(text: str, batch: bool) -> tuple[list, probe.Reader]:
    reader = probe.Reader(text, batch)
    return list(reader.claims()), reader


TEXTS = {
    "837p fixture": (FIXTURES / "claims_837p.x12").read_text(),
    "837i fixture": (FIXTURES / "claims_837i.x12").read_text(),
    "837I, patient loops, admission": make_837(
        [
            {"kind": "I", "day": DAY, "birth": dt.date(1950, 1, 2), "sex": "F", "principal": "I10", "other": ["E119"], "admission": dt.date(2026, 2, 27)},
            {"kind": "I", "day": DAY, "birth": dt.date(1990, 5, 6), "sex": "M", "patient_loop": True, "principal": "J189"},
        ]
    ),
    "837P, modifiers, units, pointer past the diagnoses": x12("P", [("C1", [("99213", ["25", "59"], "2", DAY), ("97110", [], "4", DAY)])]).replace("***1~", "***1:3~", 1),
    "837I, revenue codes": x12("I", [("C2", [("99283", ["25"], "1", DAY)]), ("C3", [("85025", [], "3", DAY)])]),
}


@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("name", list(TEXTS))
def test_probe_gives_the_walks_claims(name: str, batch: bool) -> None:
    text = TEXTS[name]
    expected = walked(text)
    got, reader = read(text, batch)
    assert expected and got == expected
    assert reader.fallbacks == 0


def test_an_irregular_claim_is_read_by_the_walk() -> None:
    """A line DTP the walk reads as a claim date (434 inside a line) and an HI after a line:
    those claims go to the walk, the others stay with the reader, all equal."""
    text = x12("P", [("C1", [("99213", [], "1", DAY)]), ("C2", [("97110", [], "1", DAY)]), ("C3", [("97110", [], "1", DAY)])])
    text = text.replace("DTP*472*D8*20260302~\nHL*3", "DTP*434*RD8*20260301-20260302~\nHL*3", 1)
    text = text.replace("DTP*472*D8*20260302~\nHL*4", "DTP*472*D8*20260302~\nHI*ABF:I10~\nHL*4", 1)
    expected = walked(text)
    for batch in (True, False):
        got, reader = read(text, batch)
        assert got == expected
        assert (reader.fallbacks, reader.fast) == (2, 1)


def test_an_irregular_file_is_refused() -> None:
    """White space after terminators (indented segments): the reader refuses the file, and
    probe.claims gives the walk's claims."""
    text = TEXTS["837p fixture"].replace("~\n", "~\n  ")
    with pytest.raises(probe.Irregular):
        probe.Reader(text)
    assert list(probe.claims(text)) == walked(text)
