"""An open document's text as the string it was last joined into plus the edits made since.

A keystroke in a 40 MB claim file must not copy 40 MB (a fresh string of that size costs tens
of milliseconds of page faults and copying, on the event loop, per keystroke). Edits are kept as
pieces of the strings they came from; slices read through them, and the whole text is joined
once, when something needs all of it (a worker thread joins a snapshot for the check, near the end
of the debounce: documents.py join_ahead).
Hover and completion read it through slices, find and rfind (x12/context.py takes any text
with those), so a request after a keystroke joins nothing.
"""

from __future__ import annotations

import ctypes
import sys
import threading

from ..priority import pause
from . import marks as marks_

WINDOW = 1 << 16  # characters read at a time by find and rfind
GROW = 1 << 20  # characters copied at a time into a joined text
COPY_MIN = 1 << 22  # characters from which an ASCII text is joined by _copied

class EditedText:
    """Edits come from the event loop; a worker thread may join the text meanwhile (to build
    the line index), so changing the pieces and keeping a join take a lock."""

    __slots__ = ("_pieces", "_len", "_joined", "_edits", "_root", "_lock", "_log", "_log_from", "_marks")

    def __init__(self, text: str = ""):
        self._pieces: list[tuple[str, int, int]] = [(text, 0, len(text))] if text else []
        self._len = len(text)
        self._joined: str | None = text
        self._edits = 0  # edits since this text was opened or replaced whole
        self._root = object()  # what snapshots of this text share (adopt)
        self._lock = threading.Lock()
        # The edits since the pieces were last one string (edit numbers _log_from + 1 ...):
        # adopt replays those that came after a snapshot onto the string it was joined into.
        self._log: list[tuple[int, int, str]] = []
        self._log_from = 0
        self._marks: marks_.Marks | None = None  # where a few needles are (marks.py), once a check found them

    @property
    def edits(self) -> int:
        return self._edits

    @property
    def joined(self) -> bool:
        """The text is one string already (join() copies nothing)."""
        return self._joined is not None

    def __len__(self) -> int:
        return self._len

    def __str__(self) -> str:
        return self.join()

    def __getitem__(self, key: slice | int) -> str:
        joined = self._joined
        if joined is not None:
            return joined[key]
        if isinstance(key, int):
            i = key + self._len if key < 0 else key
            if not 0 <= i < self._len:
                raise IndexError("EditedText index out of range")
            return self[i : i + 1]
        if key.step not in (None, 1):
            raise TypeError("EditedText supports plain slices only")
        start, stop, _ = key.indices(self._len)
        out = []
        pos = 0
        for src, a, b in self._pieces:
            if pos >= stop:
                break
            n = b - a
            if pos + n > start:
                out.append(src[a + max(start - pos, 0) : a + min(stop - pos, n)])
            pos += n
        return "".join(out)

    # find and rfind read the text a window at a time, so what looks near the cursor (the
    # segment, the claim around it) costs what it reads, not a join of the whole text.
    def find(self, sub: str, start: int = 0, end: int | None = None) -> int:
        joined = self._joined
        if joined is not None:
            return joined.find(sub, start, end)
        start, end, _ = slice(start, end).indices(self._len)
        pos = start
        while pos <= end - len(sub):
            hi = min(end, pos + WINDOW + len(sub) - 1)
            at = self[pos:hi].find(sub)
            if at >= 0:
                return pos + at
            pos += WINDOW
        return -1

    def rfind(self, sub: str, start: int = 0, end: int | None = None) -> int:
        marks = self._marks
        if marks is not None and (at := marks.get(sub)) is not None:
            start, end, _ = slice(start, end).indices(self._len)
            return marks_.last(at, len(sub), start, end)
        joined = self._joined
        if joined is not None:
            return joined.rfind(sub, start, end)
        start, end, _ = slice(start, end).indices(self._len)
        hi = end
        while hi - start >= len(sub):
            lo = max(start, hi - WINDOW - len(sub) + 1)
            at = self[lo:hi].rfind(sub)
            if at >= 0:
                return lo + at
            hi -= WINDOW
        return -1

    def replace(self, start: int, end: int, new: str) -> None:
        """Replace [start, end) with new (offsets in the current text)."""
        with self._lock:
            self._pieces = _splice(self._pieces, start, end, new)
            self._len += len(new) - (end - start)
            self._joined = None
            self._edits += 1
            self._log.append((start, end, new))
            if self._marks is not None:
                self._marks = marks_.edited(self._marks, start, end, len(new), self)

    def join(self) -> str:
        joined = self._joined
        if joined is None:
            pieces = self._pieces
            joined = _concatenated(pieces)
            with self._lock:
                if self._pieces is pieces:  # no edit meanwhile: later edits split the joined string
                    self._joined = joined
                    self._pieces = [(joined, 0, len(joined))]
                    self._log, self._log_from = [], self._edits
        return joined

    def snapshot(self) -> EditedText:
        """This text as it is now, to be joined elsewhere (a worker thread) while edits go on."""
        snap = EditedText.__new__(EditedText)
        with self._lock:
            snap._pieces, snap._len, snap._joined, snap._edits, snap._root = self._pieces, self._len, self._joined, self._edits, self._root
        snap._lock = threading.Lock()
        snap._log, snap._log_from = [], snap._edits
        snap._marks = None
        return snap

    def mark(self, snap: EditedText, text: str, needles: tuple[str, ...]) -> None:
        """Find where the needles are in `text`, the snapshot joined (in a worker thread), for
        rfind to bisect; kept only if no edit came since the snapshot (later edits move them)."""
        marks = self._marks
        if marks is not None and all(n in marks for n in needles):
            return
        at = marks_.found(text, needles)
        with self._lock:
            if self.same_as(snap):
                self._marks = at

    def same_as(self, snap: EditedText) -> bool:
        """No edit came since the snapshot was taken."""
        return snap._root is self._root and snap._edits == self._edits

    def adopt(self, snap: EditedText) -> list[tuple[str, int, int]] | None:
        """Rest on the string a snapshot was joined into, with the edits made since on top:
        the string the pieces came from can then be freed (else a large file would be held
        twice, once in its pieces and once in the check of the snapshot). The pieces let go
        of are returned, for the caller to drop when it suits: freeing a 40 MB string unmaps
        it, milliseconds that hold the GIL."""
        joined = snap._joined
        with self._lock:
            if joined is None or self._joined is not None or snap._root is not self._root or snap._edits < self._log_from:
                return None
            since = self._log[snap._edits - self._log_from :]
            pieces = [(joined, 0, len(joined))] if joined else []
            for start, end, new in since:
                pieces = _splice(pieces, start, end, new)
            released, self._pieces, self._log, self._log_from = self._pieces, pieces, since, snap._edits
            if not since:
                self._joined = joined
            return released


def _splice(pieces: list[tuple[str, int, int]], start: int, end: int, new: str) -> list[tuple[str, int, int]]:
    """The pieces with [start, end) replaced by new."""
    before: list[tuple[str, int, int]] = []
    after: list[tuple[str, int, int]] = []
    pos = 0
    for src, a, b in pieces:
        n = b - a
        if pos < start:
            before.append((src, a, a + min(n, start - pos)))
        if pos + n > end:
            after.append((src, a + max(end - pos, 0), b))
        pos += n
    return before + ([(new, 0, len(new))] if new else []) + after


def _concatenated(pieces: list[tuple[str, int, int]]) -> str:
    """The pieces as one string, joined in a check's worker thread: at most a window at a time
    holds the GIL, so the event loop can take it back in between ("".join of 40 MB held it for
    50-250 ms, and every hover waited behind it), and no copy of nearly all the text is made
    beside the old and new ones ("".join first slices every piece out of its source)."""
    if len(pieces) == 1 and pieces[0][1] == 0 and pieces[0][2] == len(pieces[0][0]):
        return pieces[0][0]
    length = sum(b - a for _, a, b in pieces)
    if _new_string is not None and length >= COPY_MIN and all(_compact_ascii(src) for src, _, _ in pieces):
        return _copied(pieces, length)
    return _grown(pieces)


def _grown(pieces: list[tuple[str, int, int]]) -> str:
    """The new string grows in place (CPython resizes a string only this function holds) a
    window at a time. Each growth is a realloc, which glibc may do by copying all of it: in the
    server's heap a 38 MB join took 30 ms of CPU or, by the heap's state, 300 ms (_copied)."""
    out = ""
    for src, a, b in pieces:
        for i in range(a, b, GROW):
            out += src[i : min(b, i + GROW)]
            pause()  # a check's join gives way to the loop's requests (priority.py)
    return out


# An ASCII text (every X12 file, most others) is copied into a string made at its full size, a
# window per ctypes.memmove, which releases the GIL: each character is copied once, and the loop
# never waits for the copy. The string is seen by nothing else until it is filled. CPython only.
_ASCII_DATA = sys.getsizeof("") - 1  # where a compact ASCII string's characters start (its header's size)
_new_string = None
if sys.implementation.name == "cpython":
    _new_string = ctypes.pythonapi.PyUnicode_New
    _new_string.restype = ctypes.py_object  # a new reference, which ctypes takes over
    _new_string.argtypes = [ctypes.c_ssize_t, ctypes.c_uint32]


def _compact_ascii(s: str) -> bool:
    """The characters follow the string's header, one byte each (str.isascii() reads a flag,
    not the characters; the size rules out the legacy layout with a separate buffer)."""
    return type(s) is str and s.isascii() and sys.getsizeof(s) == _ASCII_DATA + len(s) + 1


def _copied(pieces: list[tuple[str, int, int]], length: int) -> str:
    out = _new_string(length, 127)
    to = id(out) + _ASCII_DATA
    for src, a, b in pieces:
        at = id(src) + _ASCII_DATA
        while a < b:
            n = min(GROW, b - a)
            ctypes.memmove(to, at + a, n)
            to += n
            a += n
            pause()
    return out
