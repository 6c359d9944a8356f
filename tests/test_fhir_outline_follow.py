"""The outline of FHIR claims carried over edits (fhir.outline_follow) against the outline a
fresh read of the edited text gives: random edit sequences (seeded, bounded), and the edits it
must leave to a read of the whole text."""

from __future__ import annotations

import random

import orjson
import pytest

from medcode.server.fhir import outline as fhir_outline_module, outline_follow, reader
from medcode.server.fhir.outline import fhir_outline
from medcode.server.fhir.outline_follow import Resources, follow
from medcode.server.lsp import symbols
from medcode.server.positions import LineIndex
from medcode.server.x12.edits import disjoint

from fhir_resources import bundle, patient, text_of
from test_fhir_outline import ALONE, BUNDLE, EXCLUDES, claim

NDJSON = "\n".join(text_of(r).replace("\n", "").replace("  ", "") for r in (EXCLUDES, patient("p1"), ALONE, claim("eob-c", px=["0DTJ4ZZ"]))) + "\n"
MINIFIED = BUNDLE.replace("\n", "").replace("  ", "")  # one line: every claim's entries on it
MANY = text_of(bundle(*[claim(f"c{i}", dx=[(1, "E11.9", None)], items=[("99213", [], 1, "2026-11-15")]) for i in range(8)]))

# What the random edits put in: JSON's structure, codes, names, line breaks, escapes.
PIECES = ["a", "7", "é", "a", "7", '"', "{", "}", "[", "]", ",", ":", " ", "\n", "x", "9", ".", "\\", "E11.9", "I10", '"code": "Z00.00"', '"id": "n"', "Claim", "2026-01-02", "-"]


def _edit(rng: random.Random, text: str) -> tuple[str, tuple[int, int, int]]:
    """A random edit near a code, a key or a brace: (the text after it, (start, end, length))."""
    anchors = [i for i, c in enumerate(text) if c in '{}":,'] or [0]
    at = min(len(text), max(0, rng.choice(anchors) + rng.randint(-3, 3)))
    end = min(len(text), at + rng.choice((0, 0, 1, 2, 5)))
    new = "".join(rng.choice(PIECES) for _ in range(rng.choice((0, 1, 1, 2))))
    return text[:at] + new + text[end:], (at, end, len(new))


def _state(text: str, limit: int):
    reading = reader.read(text)
    if reading is None:
        return None
    return fhir_outline(reading, limit), Resources.of(reading)


CASES = pytest.mark.parametrize("name, text, full, limit", [
    ("bundle", BUNDLE, 500, 5000), ("ndjson", NDJSON, 500, 5000), ("minified", MINIFIED, 500, 5000),
    ("cut, one entry per claim", MANY, 2, 5), ("full near its limit", MANY, 500, 25),
])


@CASES
def test_a_followed_outline_equals_a_fresh_one(monkeypatch, name, text, full, limit):
    """Random edit sequences: whenever the outline is followed, it (and the resources' spans)
    equal what a read of the edited text gives; when it is not, the next edits start from a
    fresh read, as the server's do after the check."""
    monkeypatch.setattr(fhir_outline_module, "FULL_CLAIMS", full)
    monkeypatch.setattr(outline_follow, "FULL_CLAIMS", full)
    rng = random.Random(f"fhir-follow-{name}")
    original = text
    state = _state(text, limit)
    followed = given_up = 0
    for _ in range(150):
        if state is None or len(state[1].starts) < 2:  # the edits broke it: start again
            text, state = original, _state(original, limit)
        steps = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            text, step = _edit(rng, text)
            steps.append(step)
        fresh = _state(text, limit)
        got = follow(*state, text, disjoint(tuple(steps)), limit) if state is not None else None
        if got is not None:
            followed += 1
            assert fresh is not None and got == fresh, (steps, text)
        else:
            given_up += 1
        state = fresh if got is None else got
    assert followed > 25 and given_up > 20  # both paths were taken often


def test_typing_in_a_code_renames_its_entry_and_moves_the_claims_after_it():
    tree, res = _state(BUNDLE, 5000)
    at = BUNDLE.index("O24.419") + 4
    text = BUNDLE[:at] + "99" + BUNDLE[at + 1 :]  # O24.419 -> O24.9919
    got = follow(tree, res, text, [(at, at + 1, 2)], 5000)
    assert got is not None
    assert [c.name for c in got[0].nodes[0].children][1] == "Diagnosis 2: O24.9919"
    assert got[0].nodes[1].start == tree.nodes[1].start + 1 and got == _state(text, 5000)


@pytest.mark.parametrize("what, old, new", [
    ("between resources (a Bundle entry's fullUrl)", '"resource"', '"resources"'),
    ("a claim's resourceType", '"resourceType": "ExplanationOfBenefit"', '"resourceType": "Patient"'),
    ("the Patient between the claims", '"gender"', '"sex"'),
    ("a claim's text no longer one object", '"use": "claim",', '"use": "claim"}, {'),
])
def test_edits_that_may_change_what_is_a_resource_are_left_to_a_read(what, old, new):
    tree, res = _state(BUNDLE, 5000)
    at = BUNDLE.index(old)
    text = BUNDLE[:at] + new + BUNDLE[at + len(old) :]
    assert follow(tree, res, text, [(at, at + len(old), len(new))], 5000) is None, what


def test_a_line_break_in_an_ndjson_resource_is_left_to_a_read():
    tree, res = _state(NDJSON, 5000)
    at = NDJSON.index('"use"')
    assert follow(tree, res, NDJSON[:at] + "\n" + NDJSON[at:], [(at, at, 1)], 5000) is None
    # A space is no line break: followed.
    assert follow(tree, res, NDJSON[:at] + " " + NDJSON[at:], [(at, at, 1)], 5000) is not None


def _built(text: str, limit: int) -> symbols.Built | None:
    reading = reader.read(text)
    if reading is None or len(reading.resources) < 2:
        return None
    return symbols._fhir_symbols(fhir_outline(reading, limit), LineIndex(text, "utf-16"), len(text), Resources.of(reading))


@CASES
def test_the_symbols_sent_after_following_equal_a_fresh_outlines(monkeypatch, name, text, full, limit):
    """As above, through what is sent (lsp.symbols._fhir_followed): positions in UTF-16, the
    entries on edited lines made again when no line was added or removed, all of them when
    one was; and the lines each top-level entry spans, which the next edits go by."""
    monkeypatch.setattr(fhir_outline_module, "FULL_CLAIMS", full)
    monkeypatch.setattr(outline_follow, "FULL_CLAIMS", full)
    monkeypatch.setattr(symbols, "LIMIT", limit)
    placed = []
    real = symbols._placed_again
    monkeypatch.setattr(symbols, "_placed_again", lambda *args: placed.append(1) or real(*args))
    rng = random.Random(f"fhir-follow-symbols-{name}")
    original = text
    built = _built(text, limit)
    placed_again = made_again = 0
    for _ in range(120):
        if built is None:
            text, built = original, _built(original, limit)
        steps = []
        for _ in range(rng.choice((1, 1, 2))):
            text, step = _edit(rng, text)
            steps.append(step)
        fresh = _built(text, limit)
        before = len(placed)
        got = symbols._fhir_followed(built, text, disjoint(tuple(steps)), LineIndex(text, "utf-16"))
        if got is not None:
            assert fresh is not None and orjson.dumps(got.symbols) == orjson.dumps(fresh.symbols), (steps, text)
            assert got.fhir.lines == fresh.fhir.lines and got.lines == fresh.lines
            placed_again += len(placed) > before
            made_again += len(placed) == before
        built = fresh if got is None else got
    # Both ways taken (a line break in an NDJSON resource is left to a read: none there).
    assert placed_again > 15 and (made_again >= 2 or name in ("ndjson", "minified"))
