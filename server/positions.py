"""Offsets in a Python string <-> LSP positions (line, character in the negotiated units).

LSP lines end at \\n, \\r\\n or \\r only; str.splitlines() would also break at form feeds and the
\\x1c-\\x1e separators some X12 files use, so lines are found here with LSP's own rule.
Characters are counted in UTF-16 code units unless the client negotiated UTF-8 or UTF-32.

Line starts are kept in blocks of a few thousand lines, each relative to its block's base, so
an edit rescans only the lines it touches and shifts the bases of later blocks: a keystroke in
a 1.4-million-line claim file costs microseconds, not a rescan of 40 MB.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from itertools import chain, islice

_BREAK = re.compile(r"\r\n|\r|\n")

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
# Lines per block when (re)built; an edit may grow a block up to twice this. Small enough that
# a block of claim-file lines spans under 64 K characters (held in 16 bits, see _block).
BLOCK = 1024


def _units(text: str, encoding: str) -> int:
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _block(relative: list[int]) -> array:
    """Line starts relative to their block's first (ascending) as unsigned 16-bit ints when
    they fit, else 32-bit: a claim file of 1.4 million lines then costs 2.7 MB here, not 5.5."""
    return array("H" if relative[-1] < 0x10000 else "I", relative)


def _breaks(text: str, lo: int, hi: int) -> list[int]:
    """Starts of the lines that begin inside (lo, hi]: the offset after each line break."""
    return [m.end() for m in _BREAK.finditer(text, lo, hi)]


def _last_start(text: str, lo: int, hi: int) -> int:
    """The start of the last line that begins inside (lo, hi], or lo when none does: the offset
    after the last \n, or \r not followed by \n, in [lo, hi)."""
    i = max(text.rfind("\n", lo, hi), text.rfind("\r", lo, hi))
    if i >= 0 and text[i] == "\r" and text[i + 1 : i + 2] == "\n":
        # The \r at hi - 1 of a \r\n whose \n is past hi: no break there, look before it
        # (any \n closer than i would have been found by the first rfind).
        i = max(text.rfind("\n", lo, i), text.rfind("\r", lo, i))
    return lo if i < 0 else i + 1


def place(text: str, offsets: Iterable[int], encoding: str = UTF16) -> dict[int, tuple[int, int]]:
    """LineIndex(text, encoding).positions(offsets), without an index of every line: each gap
    between two sorted offsets is counted with str.count, in C. `medcode check` places a few
    thousand findings in a file of 1.4 million lines this way (building the LineIndex cost
    more than a tenth of the check); the editor keeps its LineIndex, which edits update."""
    out: dict[int, tuple[int, int]] = {}
    n = len(text)
    plain = encoding == UTF32 or text.isascii()
    cr = "\r" in text
    line, start, at, units = 0, 0, 0, 0  # line number, its start, the last offset placed, units to it
    for offset in sorted(set(offsets)):
        clamped = max(0, min(offset, n))
        # Line starts in (at, clamped]: one after every \n, every \r\n and every lone \r in [at, clamped).
        breaks = text.count("\n", at, clamped)
        if cr:
            breaks += text.count("\r", at, clamped) - text.count("\r\n", at, clamped)
            if text[clamped - 1 : clamped + 1] == "\r\n" and clamped > at:
                breaks -= 1  # a \r\n across the offset ends its line after the \n
        if breaks:
            line += breaks
            start = _last_start(text, at, clamped)
            at, units = start, 0
        if not plain:
            units += _units(text[at:clamped], encoding)
        at = clamped
        out[offset] = (line, clamped - start if plain else units)
    return out


class LineIndex:
    def __init__(self, text: str, encoding: str = UTF16):
        # text: a str, or anything with len() and plain slices whose str() is the whole text
        # (an open document's EditedText).
        self.text = text
        self.encoding = encoding
        self._ascii: bool | None = None  # the whole text is ASCII (positions are offsets); None: not yet known
        self._build(chain((0,), (m.end() for m in _BREAK.finditer(text if isinstance(text, str) else str(text)))))

    def _build(self, starts: Iterable[int]) -> None:
        self._bases: list[int] = []
        self._first: list[int] = []  # first line number of each block
        # Built blocks are arrays of unsigned 16- or 32-bit ints (offsets from the block's base,
        # _block), read block by block from the text: not a list of a million int objects.
        self._blocks: list[array] = []
        it = iter(starts)
        i = 0
        while chunk := list(islice(it, BLOCK)):
            base = chunk[0]
            self._bases.append(base)
            self._first.append(i)
            self._blocks.append(_block([s - base for s in chunk]))
            i += len(chunk)

    @property
    def line_count(self) -> int:
        return self._first[-1] + len(self._blocks[-1])

    @property
    def starts(self) -> list[int]:
        """Every line start (for tests and small documents)."""
        return [base + s for base, block in zip(self._bases, self._blocks) for s in block]

    def line_start(self, line: int) -> int:
        b = bisect_right(self._first, line) - 1
        return self._bases[b] + self._blocks[b][line - self._first[b]]

    def _line_of(self, offset: int) -> int:
        b = bisect_right(self._bases, offset) - 1
        block = self._blocks[b]
        return self._first[b] + bisect_right(block, offset - self._bases[b]) - 1

    def _plain(self) -> bool:
        """Characters are code units: a position needs no slice of its line (a minified JSON
        file is one line of many megabytes, sliced once per hover otherwise)."""
        if self._ascii is None:
            self._ascii = self.encoding == UTF32 or (self.text if isinstance(self.text, str) else str(self.text)).isascii()
        return self._ascii

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = self._line_of(offset)
        start = self.line_start(line)
        if self._plain():
            return line, offset - start
        return line, _units(self.text[start:offset], self.encoding)

    def positions(self, offsets: Iterable[int]) -> dict[int, tuple[int, int]]:
        """position() of every offset. Each line is counted once from its start however many
        offsets fall on it: a minified JSON file is one line of many megabytes, where counting
        from the line's start for each finding would be quadratic."""
        out: dict[int, tuple[int, int]] = {}
        line, at, units = -1, 0, 0
        for offset in sorted(set(offsets)):
            clamped = max(0, min(offset, len(self.text)))
            n = self._line_of(clamped)
            if n != line:
                line, at, units = n, self.line_start(n), 0
            units += _units(self.text[at:clamped], self.encoding)
            at = clamped
            out[offset] = (line, units)
        return out

    def offset(self, line: int, character: int) -> int:
        """The string offset of a position; positions past a line's end clamp to it."""
        if line < 0:
            return 0
        if line >= self.line_count:
            return len(self.text)
        start = self.line_start(line)
        end = self.line_start(line + 1) if line + 1 < self.line_count else len(self.text)
        if self._plain():
            tail = self.text[max(start, end - 2) : end]  # the line break, if any
            return start + min(character, end - start - (len(tail) - len(tail.rstrip("\r\n"))))
        content = self.text[start:end].rstrip("\r\n")
        if self.encoding == UTF32 or content.isascii():
            return start + min(character, len(content))
        units = 0
        for i, ch in enumerate(content):
            if units >= character:
                return start + i
            units += _units(ch, self.encoding)
        return start + len(content)

    def edit(self, start: int, end: int, new_text: str) -> str:
        """Replace [start, end) of the text with new_text; update the index in place and
        return the new text."""
        old = self.text
        self.edit_lines(start, end, new_text)
        self.text = old[:start] + new_text + old[end:]
        return self.text

    def _within_line(self, start: int, end: int, new_text: str) -> bool:
        """The edit neither removes nor makes a line break (typing in a line): every line start
        stays, those after it move by the change of length. No break in the new text, none in
        [start, end), and not between a \r and a \n that removing [start, end) would join."""
        if "\n" in new_text or "\r" in new_text or self._line_of(start) != self._line_of(end):
            return False
        old = self.text
        return not (start > 0 and old[start - 1 : start] == "\r" and old[end : end + 1] == "\n")

    def _shift_after(self, line: int, delta: int) -> None:
        """Move the starts of the lines after `line` by delta: the rest of its block, then the
        bases of the later blocks (a keystroke costs a part of one block, not a rebuild)."""
        if not delta:
            return
        b = bisect_right(self._first, line) - 1
        block = self._blocks[b]
        i = line - self._first[b] + 1
        if i < len(block):
            if block.typecode == "H" and block[-1] + delta >= 0x10000:
                block = self._blocks[b] = array("I", block)  # grown past 16 bits
            block[i:] = array(block.typecode, [s + delta for s in block[i:]])
        bases = self._bases
        for j in range(b + 1, len(bases)):
            bases[j] += delta

    def edit_lines(self, start: int, end: int, new_text: str) -> None:
        """Update the line starts for replacing [start, end) with new_text, reading only the
        lines the edit touches; the caller changes the text itself right after (an open
        document's text changes in place without a copy: lsp/pieces.py)."""
        if self._ascii and not new_text.isascii():
            self._ascii = False
        old = self.text
        delta = len(new_text) - (end - start)
        if self._within_line(start, end, new_text):
            self._shift_after(self._line_of(start), delta)
            return
        # The lines the edit touches, one more on each side: a "\\r" before the edit and a
        # "\\n" after it may now form one break, or stop forming one.
        first = max(0, self._line_of(start) - 1)
        last = min(self.line_count - 1, self._line_of(end) + 1)
        lo = self.line_start(first)
        hi_old = self.line_start(last + 1) if last + 1 < self.line_count else len(old)
        b0 = bisect_right(self._first, first) - 1
        b1 = bisect_right(self._first, last + 1 if last + 1 < self.line_count else last) - 1
        # Rebuild the blocks b0..b1 from absolute starts, then shift the blocks after them.
        merged: list[int] = []
        for b in range(b0, b1 + 1):
            merged += [self._bases[b] + s for s in self._blocks[b]]
        head = [s for s in merged if s <= lo]
        tail = [s + delta for s in merged if s > hi_old]
        # The new text of [lo, hi_old + delta), from the old text around the edit.
        local = old[lo:start] + new_text + old[end:hi_old]
        scanned = [lo + s for s in _breaks(local, 0, len(local))]
        new_starts = head + [s for s in scanned if s > lo and (not tail or s < tail[0])] + tail
        line_delta = len(new_starts) - len(merged)
        bases, firsts, blocks = [], [], []
        line = self._first[b0]
        for i in range(0, len(new_starts), BLOCK):
            chunk = new_starts[i : i + BLOCK]
            bases.append(chunk[0])
            firsts.append(line + i)
            blocks.append(_block([s - chunk[0] for s in chunk]))  # as built: not 9x as much in int objects
        self._bases[b0 : b1 + 1] = bases
        self._first[b0 : b1 + 1] = firsts
        self._blocks[b0 : b1 + 1] = blocks
        for b in range(b0 + len(blocks), len(self._bases)):
            self._bases[b] += delta
            self._first[b] += line_delta
