"""The line index's blocks: 16-bit when a block's lines span under 64 K characters, 32-bit
otherwise, and a 16-bit block an edit grows past that is widened, positions unchanged."""

import random

from medcode.server import positions
from medcode.server.positions import LineIndex


def starts_of(text: str) -> list[int]:
    return [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]


def test_short_lines_take_16_bits_and_long_ones_32(monkeypatch):
    monkeypatch.setattr(positions, "BLOCK", 4)
    text = "ab\n" * 8 + ("x" * 30_000 + "\n") * 4 + "end"
    index = LineIndex(text)
    assert [b.typecode for b in index._blocks] == ["H", "H", "I", "H"]
    assert index.starts == starts_of(text)


def test_an_edit_that_grows_a_16_bit_block_past_64k_widens_it(monkeypatch):
    monkeypatch.setattr(positions, "BLOCK", 4)
    text = "ab\n" * 12
    index = LineIndex(text)
    assert index._blocks[0].typecode == "H"
    at = 1  # in the first line: every later start in its block moves by 70,000
    new = "y" * 70_000
    text = index.edit(at, at, new)
    assert index._blocks[0].typecode == "I"
    assert index.starts == starts_of(text)
    assert index.position(len(text) - 1) == (11, 2)  # the last line break
    assert index.offset(3, 1) == starts_of(text)[3] + 1


def test_random_edits_keep_every_line_start(monkeypatch):
    monkeypatch.setattr(positions, "BLOCK", 3)
    rng = random.Random(14)
    text = "".join("z" * rng.choice((1, 5, 20_000)) + "\n" for _ in range(20))
    index = LineIndex(text)
    for _ in range(60):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice((0, 1, 3, 25_000)))
        new = rng.choice(["", "q", "\n", "w" * 40_000, "a\nb", "r" * 70_000 + "\n"])
        text = index.edit(start, end, new)
        assert index.starts == starts_of(text)
