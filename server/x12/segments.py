"""Cutting X12 text into segments and elements, keeping exact offsets.

Most segments are only looked at for their id, so elements are split lazily: iteration yields
cheap (id, start, text) triples and a Segment is built only where its contents matter.
"""

from __future__ import annotations

from typing import Iterator

from .delimiters import Delimiters

_WS = " \t\r\n"


class Segment:
    __slots__ = ("id", "start", "text", "delims", "values")

    def __init__(self, seg_id: str, start: int, text: str, delims: Delimiters):
        self.id = seg_id
        self.start = start  # offset of the segment id
        self.text = text  # without terminator and surrounding whitespace
        self.delims = delims
        # values[0] is the segment id, values[1] is XX01.
        self.values = text.split(delims.element)

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def value(self, n: int) -> str:
        values = self.values
        return values[n] if n < len(values) else ""

    def offset(self, n: int) -> int:
        """Where element n starts."""
        values = self.values
        return self.start + sum(len(v) for v in values[:n]) + n

    def __repr__(self) -> str:
        return f"Segment({self.id}@{self.start})"


def iter_raw(text: str, delims: Delimiters, lo: int | None = None, hi: int | None = None) -> Iterator[tuple[str, int, str]]:
    """(segment id, start offset, segment text) for each segment whose start lies in [lo, hi)."""
    term = delims.segment
    elem = delims.element
    pos = delims.start if lo is None else lo
    end = len(text) if hi is None else hi
    # str.split on the whole range is far faster than scanning character by character.
    chunk = text[pos:end]
    for raw in chunk.split(term):
        start = pos
        pos += len(raw) + len(term)
        if not raw or raw.isspace():
            continue
        if raw[0] in _WS or raw[-1] in _WS:
            stripped = raw.lstrip(_WS)
            start += len(raw) - len(stripped)
            raw = stripped.rstrip(_WS)
            if not raw:
                continue
        cut = raw.find(elem)
        yield (raw if cut < 0 else raw[:cut]), start, raw


def segments_from(text: str, delims: Delimiters, lo: int, hi: int, window: int) -> Iterator[tuple[str, int, str]]:
    """iter_raw over [lo, hi), split a window of about `window` characters at a time (cut
    after a segment terminator): a caller that stops early leaves the rest unsplit (the claim
    around a hover is a few hundred characters of a 200,000-character scan)."""
    pos, term = lo, delims.segment
    while pos < hi:
        cut = text.find(term, pos + window, hi)
        end = hi if cut < 0 else cut + len(term)
        yield from iter_raw(text, delims, pos, end)
        pos = end


def segment_at(text: str, delims: Delimiters, offset: int) -> Segment | None:
    """The segment that contains an offset (or ends right at it), parsed."""
    term = delims.segment
    lo = text.rfind(term, delims.start, offset) + 1 if offset > delims.start else delims.start
    if lo <= 0:
        lo = delims.start
    hi = text.find(term, offset)
    if hi < 0:
        hi = len(text)
    raw = text[lo:hi]
    stripped = raw.lstrip(_WS)
    start = lo + len(raw) - len(stripped)
    body = stripped.rstrip(_WS)
    if not body or not (start <= offset <= start + len(body)):
        return None
    cut = body.find(delims.element)
    return Segment(body if cut < 0 else body[:cut], start, body, delims)
