"""CSV rows whose cells know where they are in the document (RFC 4180, as Python's csv reads it).

Cell texts are exactly what `csv.reader` gives (excel dialect, non-strict) for the same text with
its leading BOM removed; positions are offsets into the string that was given, BOM included
(a file with a BOM has its first cell at offset 1).

Speed: the texts come from the csv module's C reader, and each row's place from the physical
lines it spans (`reader.line_num`), so reading a file costs no Python work per cell. Cell
offsets are worked out only when asked for (`Row.cell`): a row without quotes is plain
`str.split` arithmetic; a row with quotes is walked cell by cell against the raw text, and
when the raw text does not spell the cell the simple way (text after a closing quote, a quote
left open to the end of the file) the exact state machine below (`parse_record`, a copy of
the csv module's) reads it.
"""

from __future__ import annotations

import csv
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, chain, islice

BOM = "\ufeff"
QUOTE = '"'
# The csv module (reading lines from a text file opened with newline="") ends records at these.
_LINE_END = re.compile(r"\r\n|\r|\n")
_FIELD_ENDS: dict[str, re.Pattern[str]] = {}
SNIFF_LINES = 15
_DIRECT_SUM = 32  # cells placed by summing the texts before them; further ones by running sums


@dataclass(slots=True)
class Cell:
    """One cell: its text as the csv module gives it, and where it is written.

    [start, end) is the raw cell, quotes included. For an unquoted cell, content_start/end are
    start/end; for a quoted cell they enclose what is inside the quotes (content_end is the
    closing quote, or the end of the text when the quote is never closed), and `inner` is how
    many characters of `text` come from inside the quotes (the rest, if any, was written after
    the closing quote: `"ab"c` reads as `abc`)."""

    text: str
    start: int
    end: int
    content_start: int
    content_end: int
    inner: int = -1

    @property
    def quoted(self) -> bool:
        return self.content_start != self.start

    def offset(self, k: int) -> int:
        """Where character k of `text` is written in the document (k == len(text): the end)."""
        if self.content_start == self.start:
            return self.start + k
        if k < self.inner or k == self.inner == len(self.text):
            # Inside the quotes every '"' of the text is written twice.
            return self.content_start + k + self.text.count(QUOTE, 0, k)
        return self.content_end + 1 + (k - self.inner)

    def stripped(self) -> tuple[str, int]:
        """The text without surrounding whitespace, and where that begins in the document."""
        text = self.text
        return text.strip(), self.offset(len(text) - len(text.lstrip()))


class Row:
    """One CSV record: the cell texts (a list, as csv.reader gives it), the raw span
    [start, end) without the line break, and the physical line (0-based) it starts on.

    A blank line is a row with no cells, as in the csv module."""

    __slots__ = ("_cells", "_delim", "_doc", "_plain", "_starts", "end", "line", "start", "texts")

    def __init__(self, texts: list[str], start: int, end: int, line: int, doc: str, delim: str, cells: list[Cell] | None = None):
        self.texts = texts
        self.start = start
        self.end = end
        self.line = line
        self._doc = doc
        self._delim = delim
        self._cells = cells
        self._plain: bool | None = None if cells is None else False
        self._starts: list[int] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> str:
        return self.texts[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __repr__(self) -> str:
        return f"Row(line={self.line}, start={self.start}, end={self.end}, texts={self.texts!r})"

    @property
    def blank(self) -> bool:
        """No cell holds anything but whitespace."""
        return not any(t.strip() for t in self.texts)

    def _is_plain(self) -> bool:
        plain = self._plain
        if plain is None:
            plain = self._plain = self._doc.find(QUOTE, self.start, self.end) < 0
        return plain

    def plain_start(self, i: int) -> int:
        """Where cell i begins in a row without quotes. The first cells are summed directly;
        past them the running sums of the whole row are made once, so a header of 40,000
        cells costs linear work rather than a sum per cell."""
        if i < _DIRECT_SUM:
            return self.start + sum(map(len, self.texts[:i])) + i
        starts = self._starts
        if starts is None:
            starts = self._starts = list(accumulate(map(len, self.texts), initial=0))
        return self.start + starts[i] + i

    def cell_start(self, i: int) -> int:
        """Where cell i's raw text begins."""
        if self._is_plain():
            return self.plain_start(i)
        return self.cell(i).start

    def text_offset(self, i: int, k: int) -> int:
        """Where character k of cell i's text is written in the document."""
        if self._is_plain():
            return self.plain_start(i) + k
        return self.cell(i).offset(k)

    def stripped(self, i: int) -> tuple[str, int]:
        """Cell i's text without surrounding whitespace, and where that begins."""
        text = self.texts[i]
        s = text.strip()
        lead = len(text) - len(text.lstrip()) if s is not text else 0
        return s, self.text_offset(i, lead)

    def span(self, i: int) -> tuple[str, int, int]:
        """Cell i's text without surrounding whitespace, and the range [start, end) it is
        written in (quotes excluded; doubled quotes inside count as written)."""
        text = self.texts[i]
        s = text.strip()
        lead = len(text) - len(text.lstrip()) if s is not text else 0
        return s, self.text_offset(i, lead), self.text_offset(i, lead + len(s))

    def nonblank_spans(self) -> list[tuple[int, str, int, int]]:
        """(index, text, start, end) as `span` gives them, for every cell that is not blank,
        in one pass: a header row may hold 40,000 cells."""
        texts = self.texts
        if not self._is_plain():
            return [(j, *self.span(j)) for j, t in enumerate(texts) if t and not t.isspace()]
        out = []
        pos = self.start
        for j, t in enumerate(texts):
            if t and not t.isspace():
                s = t.strip()
                lead = pos if s is t else pos + len(t) - len(t.lstrip())
                out.append((j, s, lead, lead + len(s)))
            pos += len(t) + 1
        return out

    def cell(self, i: int) -> Cell:
        """Cell i with its offsets (IndexError past the last cell)."""
        texts = self.texts
        if i < 0:
            i += len(texts)
        if not 0 <= i < len(texts):
            raise IndexError(i)
        if self._is_plain():
            t = texts[i]
            s = self.plain_start(i)
            return Cell(t, s, s + len(t), s, s + len(t))
        cells = self._cells
        if cells is None:
            cells = self._cells = []
        if len(cells) <= i:
            self._walk(i)
        return self._cells[i]  # type: ignore[index]

    def cells_upto(self, i: int) -> list[Cell]:
        """Cells 0..i placed (fewer when the row is shorter); the list may hold more. Cheaper
        than cell() per cell for rows with quotes, where cells are placed left to right."""
        i = min(i, len(self.texts) - 1)
        if i < 0:
            return []
        if self._is_plain():
            return [self.cell(j) for j in range(i + 1)]
        cells = self._cells
        if cells is None:
            cells = self._cells = []
        if len(cells) <= i:
            self._walk(i)
        return self._cells  # type: ignore[return-value]

    def cells(self) -> list[Cell]:
        if not self.texts:
            return []
        if self._is_plain():
            return [self.cell(i) for i in range(len(self.texts))]
        self.cell(len(self.texts) - 1)
        return list(self._cells)  # type: ignore[arg-type]

    def _walk(self, upto: int) -> None:
        """Place the cells of a row with quotes up to cell `upto`, trusting the texts the csv
        module gave while the raw text spells each of them the plain way; otherwise read the
        whole record with the exact state machine."""
        doc, d, end, texts = self._doc, self._delim, self.end, self.texts
        cells = self._cells
        assert cells is not None
        i = len(cells)
        pos = cells[-1].end + 1 if cells else self.start
        last = len(texts) - 1
        while i <= upto:
            t = texts[i]
            if doc.startswith(QUOTE, pos):
                raw = t.replace(QUOTE, '""') if QUOTE in t else t
                close = pos + 1 + len(raw)
                after = close + 1
                if not (doc.startswith(raw, pos + 1) and doc.startswith(QUOTE, close)):
                    break
                cell = Cell(t, pos, after, pos + 1, close, len(t))
            else:
                after = pos + len(t)
                if not doc.startswith(t, pos) or QUOTE in t:
                    break
                cell = Cell(t, pos, after, pos, after)
            # A cell ends at a delimiter, or at the row's end for the last one.
            if not ((after == end) if i == last else (after < end and doc[after] == d)):
                break
            cells.append(cell)
            pos = after + 1
            i += 1
        else:
            return
        exact = parse_record(doc, self.start, d)
        cells = exact[0] if exact is not None else []
        if len(cells) < len(texts):  # pragma: no cover - only a csv module this one does not mirror
            # Never fail a reader over a position: the missing cells sit, empty, at the row's end.
            cells += [Cell("", end, end, end, end) for _ in range(len(texts) - len(cells))]
        self._cells = cells


def _field_end(d: str) -> re.Pattern[str]:
    pat = _FIELD_ENDS.get(d)
    if pat is None:
        pat = _FIELD_ENDS[d] = re.compile(f"[{re.escape(d)}\r\n]")
    return pat


def parse_record(doc: str, pos: int, delim: str = ",") -> tuple[list[Cell], int, int] | None:
    """Read the record that starts at pos exactly as the csv module does (excel dialect,
    non-strict): (cells, end of its last line without the line break, start of the next
    record), or None at the end of the text. Pure Python; used where the fast path cannot be."""
    n = len(doc)
    if pos >= n:
        return None
    c = doc[pos]
    if c == "\r" or c == "\n":  # a blank line: no cells
        return [], pos, pos + (2 if doc.startswith("\r\n", pos) else 1)
    ends = _field_end(delim)
    cells: list[Cell] = []
    while True:
        start = pos
        if pos < n and doc[pos] == QUOTE:
            p = pos + 1
            parts = []
            while True:
                q = doc.find(QUOTE, p)
                if q < 0:  # never closed: the field runs to the end of the text
                    parts.append(doc[p:n])
                    text = "".join(parts)
                    cells.append(Cell(text, start, n, start + 1, n, len(text)))
                    return cells, n, n
                parts.append(doc[p:q])
                if doc.startswith(QUOTE, q + 1):  # "" inside quotes: one quote
                    parts.append(QUOTE)
                    p = q + 2
                    continue
                break
            inner = "".join(parts)
            # After the closing quote the csv module keeps anything up to the next delimiter
            # or line end as plain text (quotes included).
            m = ends.search(doc, q + 1)
            e = m.start() if m else n
            text = inner + doc[q + 1 : e] if e > q + 1 else inner
            cells.append(Cell(text, start, e, start + 1, q, len(inner)))
        else:
            m = ends.search(doc, pos)
            e = m.start() if m else n
            cells.append(Cell(doc[pos:e], start, e, start, e))
        if e >= n:
            return cells, n, n
        c = doc[e]
        if c == delim:
            pos = e + 1
            continue
        return cells, e, e + (2 if doc.startswith("\r\n", e) else 1)


def sniff_delimiter(text: str) -> str:
    """Comma, or tab when, among the first lines, the one with the most tabs (the likeliest
    header row) has no commas, or some line has more tabs than any line has commas."""
    lines = list(islice(text[:65536].splitlines(), SNIFF_LINES))
    if not lines:
        return ","
    best = max(lines, key=lambda line: line.count("\t"))
    tabs = best.count("\t")
    if tabs and ("," not in best or tabs > max(line.count(",") for line in lines)):
        return "\t"
    return ","


# One physical line as the csv module reads it from a file opened with newline="": up to and
# including \r\n, \r or \n; the second branch is a last line without a break.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


_CHUNK = 1 << 20  # characters of lines split at a time


def _line_chunks(text: str, at: int, ends: array) -> Iterator[list[str]]:
    """The physical lines from `at` on, about a megabyte of them at a time (a list of every
    line would copy the whole file), each list split by the regex engine in C; `ends` gets
    where each line ends, break included, as its list is handed out."""
    size = len(text)
    while at < size:
        cut = text.find("\n", at + _CHUNK)
        cut = size if cut < 0 else cut + 1  # after a \n, so no \r\n is cut in two
        lines = _LINE.findall(text, at, cut)
        line_ends = accumulate(map(len, lines), initial=at)
        next(line_ends)
        ends.extend(line_ends)
        yield lines
        at = cut


_GROUP = re.Match.group


def record_at(text: str, pos: int, delimiter: str) -> tuple[Row, int] | None:
    """The record that starts at pos (a line start), read as iter_rows reads it, and where
    the next one starts; None at the end of the text. Its Row's line is not counted (0)."""
    reader = csv.reader(map(_GROUP, _LINE.finditer(text, pos)), delimiter=delimiter)
    try:
        texts = next(reader)
    except StopIteration:
        return None
    except csv.Error:
        rec = parse_record(text, pos, delimiter)
        if rec is None:
            return None
        cells, end, nxt = rec
        return Row([c.text for c in cells], pos, end, 0, text, delimiter, cells), nxt
    nxt = pos
    for _ in range(reader.line_num):
        nxt = _LINE.match(text, nxt).end()  # type: ignore[union-attr]
    c = text[nxt - 1]
    end = nxt if c != "\n" and c != "\r" else nxt - 2 if c == "\n" and text[nxt - 2 : nxt - 1] == "\r" else nxt - 1
    return Row(texts, pos, end, 0, text, delimiter), nxt


def iter_rows(text: str, delimiter: str | None = None) -> Iterator[Row]:
    """The records of a CSV text in order (delimiter None: sniffed, see sniff_delimiter)."""
    d = delimiter or sniff_delimiter(text)
    start = 1 if text.startswith(BOM) else 0  # where the next record begins (a line start)
    line = 0
    size = len(text)
    while start < size:
        # The C reader pulls lines from C iterators (a chain over lists split in C): no Python
        # call per line or per cell. Each record then ends where the last line it read does.
        ends = array("q")
        reader = csv.reader(chain.from_iterable(_line_chunks(text, start, ends)), delimiter=d)
        used = 0  # lines read by this reader before the record
        try:
            for texts in reader:
                k = reader.line_num
                nxt = ends[k - 1]
                c = text[nxt - 1]
                end = nxt if c != "\n" and c != "\r" else nxt - 2 if c == "\n" and text[nxt - 2 : nxt - 1] == "\r" else nxt - 1
                yield Row(texts, start, end, line + used, text, d)
                start, used = nxt, k
            return
        except csv.Error:
            line += used
            # A field over csv.field_size_limit (or anything else the C reader refuses): read
            # that record exactly, then go on with a new reader at the first line after it.
            rec = parse_record(text, start, d)
            if rec is None:
                return
            cells, end, nxt = rec
            yield Row([c.text for c in cells], start, end, line, text, d, cells)
            at = size
            for m in _LINE_END.finditer(text, start):
                line += 1
                if m.end() >= nxt:
                    at = m.end()
                    break
            else:
                line += 1  # the last line, without a break
            start = at

