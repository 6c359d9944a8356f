"""What was worked out per open release and code, for the claim edits and the hovers."""

from __future__ import annotations

import weakref

from .heap import newest

_MISSING = object()


class ReleaseMemo(weakref.WeakKeyDictionary):
    """What was worked out per release and code (release -> {code: answer}), cleared whole
    past a bound: a long editor session meets many codes, and the next release's answers
    replace the last's. Two levels: the claim edits ask per code of every claim, and a key
    tuple per question would cost more than the answer's look-up. Held by the release
    itself (weakly), not its id: the memos are the process's (SHARED), and a release
    opened after another one closed may get its id."""

    size = 0  # answers held, over all releases
    # The last release asked about (weakly) and its answers: a WeakKeyDictionary look-up is
    # Python code that makes a weak reference each time, and the asks come release by release.
    _last: tuple = (type(None), None)

    def __init__(self, limit: int = 50_000):
        super().__init__()
        self.limit = limit  # answers held at most, over all releases

    def of(self, release, code: str, make):
        codes = self.held(release)
        found = codes.get(code, _MISSING)
        if found is _MISSING:
            if self.size > self.limit:
                self.clear()
                codes = self.held(release)
            found = codes[code] = make(release, code)
            self.size += 1
        return found

    def held(self, release) -> dict:
        """The answers held for the release (code -> answer): a caller that asks of each code
        of a claim looks there first, and calls of() for the codes it lacks (a miss may clear
        the memo: the answers read before stay right for the release)."""
        last, codes = self._last
        if last() is not release:
            codes = self.get(release)
            if codes is None:
                codes = self[release] = {}
            self._last = (weakref.ref(release), codes)
        return codes

    def clear(self) -> None:
        """Every release's answers forgotten, the last release's with them."""
        super().clear()
        self._last = ReleaseMemo._last
        self.size = 0

    def trim(self, keep: int) -> None:
        """Keep the answers for the last `keep` codes of each release (heap.newest)."""
        self._last = ReleaseMemo._last
        for key, codes in list(self.items()):
            self[key] = newest(codes, keep)
        self.size = sum(map(len, self.values()))
