"""An open document's text kept as pieces (lsp/pieces.py): edits change it without copying the
whole text, and every slice, join and line position equals what a plain string would give."""

from __future__ import annotations

import random

from medcode.server import positions
from medcode.server.lsp import pieces
from medcode.server.lsp.pieces import EditedText
from medcode.server.positions import LineIndex

PIECES = ["ab", "\n", "\r", "\r\n", "é", "😀", "~", "  ", "CLM*"]


def _random_text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, most)))


def test_edits_slices_and_joins_agree_with_a_string(monkeypatch):
    monkeypatch.setattr(positions, "BLOCK", 5)  # edits cross the line index's blocks
    monkeypatch.setattr(pieces, "GROW", 3)  # joins copy pieces a few characters at a time
    rng = random.Random(20261129)
    for _ in range(300):
        plain = _random_text(rng, 60)
        text = EditedText(plain)
        index = LineIndex(text)
        snaps: list[tuple[EditedText, str]] = []
        for step in range(rng.randint(1, 12)):
            a = rng.randint(0, len(plain))
            b = rng.randint(a, min(len(plain), a + 12))
            new = _random_text(rng, 5)
            index.edit_lines(a, b, new)  # before the text changes, as OpenDocument.apply does
            text.replace(a, b, new)
            plain = plain[:a] + new + plain[b:]
            assert len(text) == len(plain)
            lo = rng.randint(0, len(plain))
            hi = rng.randint(lo, len(plain))
            assert text[lo:hi] == plain[lo:hi] and text[:7] == plain[:7] and text[lo:] == plain[lo:]
            if step % 3 == 2:
                assert text.join() == plain  # joined midway: later edits split the joined string
            if step % 4 == 1:
                snaps.append((text.snapshot(), plain))  # a check starts on this text
            if snaps and rng.random() < 0.3:
                snap, then = snaps.pop(rng.randrange(len(snaps)))
                assert snap.join() == then
                text.adopt(snap)  # the check's string, with the edits made since on top
                assert text[0 : len(text)] == plain
        fresh = LineIndex(plain)
        assert index.starts == fresh.starts
        assert all(index.position(o) == fresh.position(o) for o in range(0, len(plain) + 1, 2))
        assert str(text) == plain


def test_a_snapshot_is_adopted_with_the_edits_made_since():
    text = EditedText("ISA*00~\nCLM*1~\n")
    text.replace(0, 3, "XYZ")
    snap = text.snapshot()
    text.replace(0, 0, "!")  # typed while the snapshot is joined elsewhere
    assert snap.join() == "XYZ*00~\nCLM*1~\n"
    assert not text.same_as(snap)
    text.adopt(snap)
    assert text._pieces[1][0] is snap.join()  # rests on the snapshot's string ...
    assert text.join() == "!XYZ*00~\nCLM*1~\n"  # ... with the newer edit on top

    again = text.snapshot()
    assert text.same_as(again)
    text.replace(1, 2, "Q")
    later = text.snapshot()
    joined = later.join()
    text.adopt(later)
    assert text.join() is joined  # the string the snapshot was joined into: no second join


def test_find_and_rfind_read_through_the_edits(monkeypatch):
    from medcode.server.lsp import pieces

    monkeypatch.setattr(pieces, "WINDOW", 3)  # matches straddle the windows and the pieces
    rng = random.Random(837)
    for _ in range(300):
        plain = _random_text(rng, 40)
        text = EditedText(plain)
        for _ in range(rng.randint(1, 6)):
            a = rng.randint(0, len(plain))
            b = rng.randint(a, min(len(plain), a + 6))
            new = _random_text(rng, 4)
            text.replace(a, b, new)
            plain = plain[:a] + new + plain[b:]
        for sub in ("CLM*", "\n", "~", "ab", "\r\n", "zz"):
            lo = rng.randint(0, len(plain))
            hi = rng.randint(lo, len(plain))
            assert text.find(sub) == plain.find(sub)
            assert text.find(sub, lo) == plain.find(sub, lo)
            assert text.find(sub, lo, hi) == plain.find(sub, lo, hi)
            assert text.rfind(sub) == plain.rfind(sub)
            assert text.rfind(sub, lo, hi) == plain.rfind(sub, lo, hi)
        if plain:
            i = rng.randrange(len(plain))
            assert text[i] == plain[i] and text[-1] == plain[-1]


def test_typing_within_a_line_moves_the_later_lines_only(monkeypatch):
    """Edits that neither make nor remove a line break shift the later line starts in place;
    the ones that do (or that join or split a \\r\\n) go the rebuilding way: after every edit
    the index equals one built afresh."""
    monkeypatch.setattr(positions, "BLOCK", 4)
    rng = random.Random(1429)
    for _ in range(200):
        plain = "".join(rng.choice(["ab", "\r", "\n", "\r\n", "CLM*", "~", "é"]) for _ in range(rng.randint(0, 40)))
        text = EditedText(plain)
        index = LineIndex(text)
        for _ in range(rng.randint(1, 10)):
            a = rng.randint(0, len(plain))
            b = rng.randint(a, min(len(plain), a + rng.choice([0, 1, 3])))
            new = rng.choice(["", "x", "yz", "é", "\n", "\r"]) if rng.random() < 0.2 else rng.choice(["", "7", "ABC"])
            index.edit_lines(a, b, new)
            text.replace(a, b, new)
            plain = plain[:a] + new + plain[b:]
            fresh = LineIndex(plain)
            assert index.starts == fresh.starts, (plain, a, b, new)
            assert all(index.position(o) == fresh.position(o) for o in range(len(plain) + 1))


def test_a_large_ascii_join_copies_into_one_string(monkeypatch):
    # Joins of ASCII pieces at least COPY_MIN long are copied window by window into a string
    # made at full size (ctypes); any other piece, or a shorter text, grows a string instead.
    monkeypatch.setattr(pieces, "COPY_MIN", 10)
    monkeypatch.setattr(pieces, "GROW", 4)
    rng = random.Random(7)
    for pool in (["ab", "~", "CLM*", "\n"], PIECES):
        for _ in range(100):
            plain = "".join(rng.choice(pool) for _ in range(rng.randint(5, 40)))
            text = EditedText(plain)
            for _ in range(rng.randint(1, 5)):
                a = rng.randint(0, len(plain))
                b = rng.randint(a, len(plain))
                new = "".join(rng.choice(pool) for _ in range(rng.randint(0, 3)))
                text.replace(a, b, new)
                plain = plain[:a] + new + plain[b:]
            joined = text.join()
            assert joined == plain and hash(joined) == hash(plain) and joined.isascii() == plain.isascii()
