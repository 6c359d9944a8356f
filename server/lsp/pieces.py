"""An open document's text as the string it was last joined into plus the edits made since.

A keystroke in a 40 MB claim file must not copy 40 MB (a fresh string of that size costs tens
of milliseconds of page faults and copying, on the event loop, per keystroke). Edits are kept as
pieces of the strings they came from; slices read through them, and the whole text is joined
once, when something needs all of it (the check joins a snapshot in its worker thread).
Hover and completion read it through slices, find and rfind (x12/context.py takes any text
with those), so a request after a keystroke joins nothing.
"""

from __future__ import annotations

import threading

WINDOW = 1 << 16  # characters read at a time by find and rfind

class EditedText:
    """Edits come from the event loop; a worker thread may join the text meanwhile (to build
    the line index), so changing the pieces and keeping a join take a lock."""

    __slots__ = ("_pieces", "_len", "_joined", "_edits", "_root", "_lock")

    def __init__(self, text: str = ""):
        self._pieces: list[tuple[str, int, int]] = [(text, 0, len(text))] if text else []
        self._len = len(text)
        self._joined: str | None = text
        self._edits = 0  # edits since this text was opened or replaced whole
        self._root = object()  # what snapshots of this text share (adopt)
        self._lock = threading.Lock()

    @property
    def edits(self) -> int:
        return self._edits

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
        before: list[tuple[str, int, int]] = []
        after: list[tuple[str, int, int]] = []
        pos = 0
        for src, a, b in self._pieces:
            n = b - a
            if pos < start:
                before.append((src, a, a + min(n, start - pos)))
            if pos + n > end:
                after.append((src, a + max(end - pos, 0), b))
            pos += n
        with self._lock:
            self._pieces = before + ([(new, 0, len(new))] if new else []) + after
            self._len += len(new) - (end - start)
            self._joined = None
            self._edits += 1

    def join(self) -> str:
        joined = self._joined
        if joined is None:
            pieces = self._pieces
            joined = "".join(src if a == 0 and b == len(src) else src[a:b] for src, a, b in pieces)
            with self._lock:
                if self._pieces is pieces:  # no edit meanwhile: later edits split the joined string
                    self._joined = joined
                    self._pieces = [(joined, 0, len(joined))]
        return joined

    def snapshot(self) -> EditedText:
        """This text as it is now, to be joined elsewhere (a worker thread) while edits go on."""
        snap = EditedText.__new__(EditedText)
        with self._lock:
            snap._pieces, snap._len, snap._joined, snap._edits, snap._root = self._pieces, self._len, self._joined, self._edits, self._root
        snap._lock = threading.Lock()
        return snap

    def same_as(self, snap: EditedText) -> bool:
        """No edit came since the snapshot was taken."""
        return snap._root is self._root and snap._edits == self._edits

    def adopt(self, snap: EditedText) -> None:
        """Take the string a snapshot was joined into if no edit came since (on the loop)."""
        with self._lock:
            if snap._joined is not None and self._joined is None and snap._root is self._root and snap._edits == self._edits:
                self._joined = snap._joined
                self._pieces = [(snap._joined, 0, len(snap._joined))]
