"""The ranged edits that made a document's current text, kept so that a check can re-walk only
the part of an X12 file they touched (incremental.py) instead of the whole file.

The editor's document (lsp/documents.py) replaces its log on every change; the checker remembers
the revision it last checked and asks for the edits since.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Edits kept at most: a checker further behind than this walks the whole text again.
KEEP = 256

# (start, end, length): text[start:end] of the text before the edit became `length` characters.
Edit = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class EditLog:
    """Edits that lead from revision `base` to revision `base + len(edits)`. The editor logs
    edits without joining its text; a check binds the log to the text it joined (`bound`), and
    trusts only a log bound to the very text it checks. A whole-text change starts a new log at
    the next revision with no edits, so a checker of an older revision walks everything."""

    text: str | None = field(default=None, repr=False, compare=False)
    base: int = 0
    edits: tuple[Edit, ...] = ()

    @property
    def revision(self) -> int:
        return self.base + len(self.edits)

    def then(self, start: int, end: int, length: int) -> EditLog:
        edits = (*self.edits, (start, end, length))
        base = self.base
        if len(edits) > KEEP:
            base += len(edits) - KEEP // 2
            edits = edits[len(edits) - KEEP // 2 :]
        return EditLog(None, base, edits)

    def replaced(self) -> EditLog:
        return EditLog(None, self.revision + 1, ())

    def bound(self, text: str) -> EditLog:
        """This log as the one that made `text` (a check only trusts a log bound to its text)."""
        return EditLog(text, self.base, self.edits)

    def since(self, revision: int | None) -> tuple[Edit, ...] | None:
        """The edits after `revision`; None when they are not all known."""
        if revision is None or not self.base <= revision <= self.revision:
            return None
        return self.edits[revision - self.base :]


def span(edits: tuple[Edit, ...]) -> Edit | None:
    """One edit covering several in sequence (each in the coordinates the previous one left):
    the old text's [start, end) became `length` characters. None for no edits."""
    if not edits:
        return None
    a, b, n = edits[0]
    for s, e, m in edits[1:]:
        # [a, a+n) is what changed so far, in the current text; past it the current text is
        # the old one shifted by n - (b - a), before it the same.
        lo, hi = min(a, s), max(a + n, e)
        a, b, n = lo, hi - (a + n) + b, hi - lo - (e - s) + m
    return a, b, n


def disjoint(edits: tuple[Edit, ...]) -> list[Edit]:
    """The same change as edits in sequence, as edits that neither overlap nor touch, in order
    of position, each in the coordinates the previous one left (so each one's start is also
    where it is in the final text). Unlike span, keystrokes far apart stay apart; edits that
    undo each other (a line added, then taken out) leave nothing."""
    # Each entry: [start in the final text so far, characters it removed, characters it holds].
    out: list[list[int]] = []
    for s, e, m in edits:
        # The entries this edit overlaps or touches (their text in [start, start + held]).
        i = 0
        while i < len(out) and out[i][0] + out[i][2] < s:
            i += 1
        j = i
        while j < len(out) and out[j][0] <= e:
            j += 1
        if i == j:
            merged = [s, e - s, m]
        else:
            first, last = out[i], out[j - 1]
            lo, hi = min(s, first[0]), max(e, last[0] + last[2])
            # Between the entries and around them the text is the old one: what the merged
            # edit removed is theirs plus that text.
            removed = sum(r for _, r, _ in out[i:j]) + (hi - lo) - sum(h for _, _, h in out[i:j])
            merged = [lo, removed, hi - lo - (e - s) + m]
        delta = m - (e - s)
        for later in out[j:]:
            later[0] += delta
        out[i:j] = [merged] if merged[1] or merged[2] else []
    return [(a, a + r, h) for a, r, h in out]
