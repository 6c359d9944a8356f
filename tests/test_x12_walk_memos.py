"""The cold check's per-text memos (issue 14) against the readings they stand for: HI elements,
SBR, DMG, LX and types of bill read once per distinct text by the walk (x12/document.py,
x12/slots.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from claims_837 import make_837
from medcode.server.x12 import document, slots
from medcode.server.x12.document import walk
from test_x12_fast_paths import DOCUMENTS


def _state(text: str) -> tuple[list, str]:
    """Everything the walk hands the rules, as plain values, and the separator it settled on."""
    out: list = []
    doc = walk(text, lambda claim, groups: out.append((claim, groups)))
    assert doc is not None
    state = [(dataclasses.astuple(c), [(None if ln is None else dataclasses.astuple(ln), codes) for ln, codes in g]) for c, g in out]
    return state, doc.component


def _without_memos(monkeypatch) -> None:
    monkeypatch.setattr(document, "LINE_SEGMENTS_MAX", 0)
    monkeypatch.setattr(document, "DTPS_MAX", 0)
    monkeypatch.setattr(document, "PATIENT_SEGMENTS_MAX", 0)
    monkeypatch.setattr(slots, "HI_ELEMENTS_MAX", 0)


# ISA16 says ':' but the composites use '>': the walk switches separator at the first code
# segment, and every memo read with the old one must be dropped.
_SWITCHED = DOCUMENTS[0].replace(":", ">").replace("*P*>~", "*P*:~", 1)


@pytest.mark.parametrize("text", [*DOCUMENTS, _SWITCHED])
def test_each_distinct_text_read_once_equals_each_copy_read_afresh(text, monkeypatch):
    kept = _state(text)
    _without_memos(monkeypatch)
    assert _state(text) == kept


def test_the_switched_separator_document_switches():
    state, component = _state(_SWITCHED)
    assert component == ">" and any(t[1] == "E119" for _, groups in state for _, codes in groups for t in codes)


def test_repeated_patient_and_bill_segments_give_each_claim_its_own():
    """Claims whose SBR, DMG and CLM05 texts recur in other subscriber loops, with and without a
    patient loop: each claim has the patient and type of bill its own loops give."""
    r = random.Random(14)
    claims = []
    for n in range(120):
        claims.append({
            "kind": "I", "day": dt.date(2026, 3, 1 + n % 28), "principal": "E119",
            "birth": r.choice([None, dt.date(1950, 1, 1), dt.date(2001, 5, 5)]), "sex": r.choice("FMU"),
            "patient_loop": r.random() < 0.4, "subscriber_birth": r.choice([None, dt.date(1940, 2, 2)]),
            "bill_type": r.choice(["111", "131", "851"]), "discharge_status": r.choice(["01", "20"]),
        })
    walked: list = []
    walk(make_837(claims), lambda claim, groups: walked.append(claim))
    assert len(walked) == len(claims)
    for claim, c in zip(walked, claims):
        assert (claim.birth, claim.sex if c["birth"] else "") == (c["birth"], c["sex"] if c["birth"] else "")
        assert claim.bill_type == c["bill_type"] and claim.discharge_status == c["discharge_status"]


@pytest.mark.parametrize("seed", range(5))
def test_control_characters_found_a_chunk_at_a_time_are_those_in_the_text(seed, monkeypatch):
    """control_problems searches the text a chunk at a time (document._held): the characters
    it finds are those the text holds, wherever they sit against the chunks' edges."""
    monkeypatch.setattr(document, "CONTROL_CHUNK", 7)
    r = random.Random(seed)
    chars = list(document._CONTROL)
    text = "".join(r.choice("ABC*~:" + "".join(r.sample(chars, 3))) if r.random() < 0.1 else r.choice("ABC*~:") for _ in range(200))
    assert document._held(text, chars) == "".join(c for c in chars if c in text)
    assert document._held("", chars) == "" and document._held("\x00", chars) == "\x00"
