"""edits.disjoint: the edits since a revision as edits apart, which the outline is carried over
one by one (lsp/symbols.py) where one span of them would cover claims far apart."""

import random

from medcode.server.x12.edits import disjoint


def test_keystrokes_far_apart_stay_apart():
    text = "0123456789"
    steps = ((1, 2, 1), (8, 8, 2), (4, 5, 0))  # each in the coordinates the last left
    assert disjoint(steps) == [(1, 2, 1), (4, 5, 0), (7, 7, 2)]


def test_a_line_added_then_taken_out_leaves_nothing():
    assert disjoint(((5, 5, 12), (5, 17, 0))) == []
    assert disjoint(((5, 5, 12), (5, 17, 0), (2, 3, 1))) == [(2, 3, 1)]


def test_overlapping_and_touching_edits_become_one():
    assert disjoint(((2, 4, 2), (4, 6, 1))) == [(2, 6, 3)]  # touching
    assert disjoint(((2, 4, 3), (3, 9, 0))) == [(2, 8, 1)]  # overlapping, reaching past


def test_random_edits_apart_make_the_same_text():
    """Applied in order, the edits apart make the text the edits did; they neither overlap nor
    touch; none is empty."""
    rnd = random.Random(28)
    for _ in range(5000):
        old = "".join(rnd.choice("abcdefgh") for _ in range(rnd.randrange(40)))
        text, steps = old, []
        for _ in range(rnd.randrange(8)):
            a = rnd.randrange(len(text) + 1)
            b = min(len(text), a + rnd.choice([0, 0, 1, 2, 5]))
            new = "".join(rnd.choice("XYZ") for _ in range(rnd.choice([0, 1, 2, 4])))
            text = text[:a] + new + text[b:]
            steps.append((a, b, len(new)))
        edits = disjoint(tuple(steps))
        again = old
        for a, b, n in edits:
            again = again[:a] + text[a : a + n] + again[b:]
        assert again == text, (old, steps, edits)
        assert all(a1 + n1 < a2 for (a1, _, n1), (a2, _, _) in zip(edits, edits[1:])), edits
        assert all(b > a or n for a, b, n in edits)
