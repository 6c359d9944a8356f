"""positions.place (how `medcode check` places its findings, without a LineIndex) gives
exactly LineIndex.positions: every LSP line break (\\n, \\r\\n, a lone \\r), offsets between
the \\r and \\n of one break, at and past the ends, and characters outside ASCII counted in
UTF-16, UTF-8 and UTF-32 units."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from medcode.server.positions import UTF8, UTF16, UTF32, LineIndex, place

PIECES = ["a", "HI*ABK:E119~", "\n", "\r", "\r\n", "\r\r\n", "\n\r", "é", "\U0001f600", "\x1c", "\f", "~"]


def test_breaks_and_offsets_between_cr_and_lf():
    text = "ab\r\ncd\ref\ngh\r\n\r\nij"
    offsets = range(-2, len(text) + 3)
    assert place(text, offsets) == LineIndex(text).positions(offsets)
    at = place(text, [3, 4, 7, 14, len(text)])
    assert at[3] == (0, 3)  # between \r and \n: still the first line, after the \r
    assert at[4] == (1, 0)
    assert at[7] == (2, 0)  # after a lone \r
    assert at[14] == (4, 0)  # an empty line between two \r\n
    assert at[len(text)] == (5, 2)


def test_units_outside_ascii():
    text = "x\U0001f600é:E119\r\nZ\U0001f600Q"
    code, q = text.index("E119"), text.index("Q")
    assert place(text, [code, q]) == {code: (0, 5), q: (1, 3)}  # the emoji is two UTF-16 units
    assert place(text, [code, q], UTF8) == {code: (0, 8), q: (1, 5)}
    assert place(text, [code, q], UTF32) == {code: (0, 4), q: (1, 2)}


def test_nothing_to_place_and_an_empty_text():
    assert place("abc", []) == {}
    assert place("", [0, 5, -1]) == {0: (0, 0), 5: (0, 0), -1: (0, 0)}


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=40),
    picks=st.lists(st.integers(-3, 400), max_size=30),
    encoding=st.sampled_from([UTF16, UTF8, UTF32]),
)
def test_place_equals_the_line_index(pieces, picks, encoding):
    text = "".join(pieces)
    assert place(text, picks, encoding) == LineIndex(text, encoding).positions(picks)
