"""The checker's claim results by claim key, held in arrays rather than a dict.

A 50,000-claim file keeps one entry per claim between checks. As a dict of int keys that took
about 5 MB (a 2.6 MB table and 50,000 key objects, which the walk allocated among its
temporaries, pinning Python's memory arenas after it); here a whole walk's keys sit in two
sorted arrays beside a list of the results, 1 MB. A re-walk after an edit adds a few claims:
those go in a small dict beside the arrays.

A key is the hash of a claim's text and context with the text's length as a guard against a
collision (both must match); entries are never removed, as with the dict before: a claim that
comes back (an edit undone) is found again.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Generic, TypeVar

R = TypeVar("R")


class ClaimCache(Generic[R]):
    """Results by (hash, length); `put` fills it, `get` reads it and every result put since."""

    __slots__ = ("_hashes", "_lengths", "_results", "_added")

    def __init__(self) -> None:
        self._hashes = array("q")  # sorted
        self._lengths = array("q")  # in the order of _hashes
        self._results: list[R] = []
        self._added: dict[tuple[int, int], R] = {}

    def __len__(self) -> int:
        return len(self._hashes) + len(self._added)

    def get(self, h: int, length: int) -> R | None:
        found = self._added.get((h, length)) if self._added else None
        if found is not None:
            return found
        hashes = self._hashes
        i = bisect_left(hashes, h)
        while i < len(hashes) and hashes[i] == h:
            if self._lengths[i] == length:
                return self._results[i]
            i += 1
        return None

    def put(self, h: int, length: int, result: R) -> None:
        """Add one claim's result (a re-walk's few claims)."""
        self._added[(h, length)] = result

    @classmethod
    def of(cls, hashes: array, lengths: array, results: list[R]) -> ClaimCache[R]:
        """The cache of a whole walk: claim i's key (hashes[i], lengths[i]) and result."""
        cache: ClaimCache[R] = cls()
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        cache._hashes = array("q", [hashes[i] for i in order])
        cache._lengths = array("q", [lengths[i] for i in order])
        cache._results = [results[i] for i in order]
        return cache
