"""Where a few fixed strings occur in an open document's text, kept over its edits.

A hover on a service line's code reads the kind of the transaction around its claim: the last
"ST*837*" (else "GS*HC*") up to 2 MB before the claim (x12/context.py transaction_before). In a
50,000-claim file with one transaction, str.rfind went through those 2 MB twice at each such
hover: 3-5 ms of the loop. Here the positions are found once, in a check's worker thread
(`found`); each edit moves them and looks again only around what it changed (`edited`), and
EditedText.rfind then bisects (`last`). The answers are those of str.rfind on the same text.
A needle found more than KEEP_MAX times is marked None, not kept: rfind finds the nearest of
so many soon, and moving them all at each keystroke would cost the loop more.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Protocol

from ..priority import pause

WINDOW = 1 << 20  # characters searched at a time by `found` (about a millisecond each)
# Characters an edit may put in for its marks to be looked for again on the loop; a larger
# paste drops the marks instead (the next check finds them again).
RESCAN_MAX = 1 << 16
KEEP_MAX = 1000  # starts of one needle kept at most (one transaction per claim: 50,000)

Marks = dict[str, "list[int] | None"]  # needle -> where it starts, in order (None: too often)


class _Sliceable(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, key: slice) -> str: ...


def found(text: str, needles: Iterable[str]) -> Marks:
    """Every start of each needle in text (overlapping ones too, as str.rfind sees them),
    a window at a time, giving way to the loop's requests in between (priority.py)."""
    out: Marks = {}
    for needle in needles:
        at: list[int] = []
        for a in range(0, len(text), WINDOW):
            at += _starts(text, needle, a, min(len(text), a + WINDOW + len(needle) - 1))  # the starts in [a, a + WINDOW)
            pause()
            if len(at) > KEEP_MAX:
                break
        out[needle] = at if len(at) <= KEEP_MAX else None
    return out


def edited(marks: Marks, start: int, end: int, new_len: int, text: _Sliceable) -> Marks | None:
    """The marks once [start, end) became new_len characters; `text` is the text after the
    edit. None when the edit put in too much to look through on the loop."""
    if new_len > RESCAN_MAX:
        return None
    delta = new_len - (end - start)
    out: Marks = {}
    for needle, at in marks.items():
        if at is None:
            out[needle] = None
            continue
        n = len(needle)
        # Starts before start - n + 1 end before the edit and stay; those from `end` on move
        # with the text after it; those between touch the edit and are looked for again.
        keep, moved = bisect_left(at, start - n + 1), bisect_left(at, end)
        lo, hi = max(0, start - n + 1), min(len(text), start + new_len + n - 1)
        near = [lo + p for p in _starts(text[lo:hi], needle)]
        kept = len(at) - (moved - keep) + len(near)
        out[needle] = at[:keep] + near + [p + delta for p in at[moved:]] if kept <= KEEP_MAX else None
    return out


def _starts(text: str, needle: str, start: int = 0, end: int | None = None) -> list[int]:
    """Every start of needle in text[start:end], overlapping ones too (as str.rfind sees them)."""
    out = []
    p = text.find(needle, start, end)
    while p >= 0:
        out.append(p)
        p = text.find(needle, p + 1, end)
    return out


def last(at: list[int], needle_len: int, start: int, end: int) -> int:
    """str.rfind's answer: the last start in [start, end - needle_len], or -1."""
    k = bisect_right(at, end - needle_len) - 1
    return at[k] if k >= 0 and at[k] >= start else -1
