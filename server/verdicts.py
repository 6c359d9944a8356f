"""Memoised look-ups and the fix suggestions rules share across file kinds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from medcode.index_builder import layout
from medcode.index_builder.lookup import Answer, Listing, judge, listing, resolve
from medcode.index_builder.model import CodeRecord
from medcode.index_builder.reader import DamagedRelease, IndexStore, Release

from .heap import newest

SUGGESTIONS = 5


@dataclass(frozen=True, slots=True)
class Suggestion:
    key: str
    description: str


class Verdicts:
    """resolve() with a memory: real files repeat the same codes on thousands of lines.

    What depends only on the data (which release answers a day, what a release lists for a
    key) is cached; only the cheap comparison with the day is redone.
    """

    def __init__(self, store: IndexStore):
        self.store = store
        self._choices: dict[tuple[str, dt.date], tuple[Release, bool] | None] = {}
        self._listings: dict[tuple[str, str, int], Listing] = {}
        self._has_data: dict[str, bool] = {}
        self._damaged: dict[tuple[str, dt.date], DamagedRelease | None] = {}

    def choice(self, set_id: str, day: dt.date) -> tuple[Release, bool] | None:
        k = (set_id, day)
        if k not in self._choices:
            self._choices[k] = self.store.release_for(set_id, day)
        return self._choices[k]

    def answer(self, set_id: str, key: str, day: dt.date) -> Answer:
        choice = self.choice(set_id, day)
        if choice is None:
            return resolve(self.store, set_id, key, day)
        release, in_force = choice
        k = (set_id, key, id(release))
        found = self._listings.get(k)
        if found is None:
            if len(self._listings) > 200_000:
                self._listings.clear()
            found = self._listings[k] = listing(self.store, set_id, key, release)
        return judge(set_id, key, day, release, in_force, found)

    def trim(self, keep: int) -> None:
        """Keep the listings of the last `keep` keys looked up (heap.newest): a check of a
        large file lists thousands of codes, and holding them all costs megabytes."""
        self._listings = newest(self._listings, keep)

    @cached_property
    def damaged_sets(self) -> frozenset[str]:
        """Sets with an installed release that cannot be used: only their codes need the
        damaged() test (an attribute once computed, so an intact index pays nothing per code)."""
        return self.store.damaged_sets()

    def damaged(self, set_id: str, day: dt.date) -> DamagedRelease | None:
        """The damaged release in force on this day, whose codes cannot be verified (once per
        set and day)."""
        k = (set_id, day)
        if k not in self._damaged:
            self._damaged[k] = self.store.damaged_for(set_id, day) if set_id in self.damaged_sets else None
        return self._damaged[k]

    def has_data(self, set_id: str) -> bool:
        v = self._has_data.get(set_id)
        if v is None:
            v = self._has_data[set_id] = bool(self.store.releases(set_id))
        return v

    def exists(self, set_id: str, key: str, day: dt.date) -> CodeRecord | None:
        """The record when the set's data lists the key at all (any status), else None."""
        a = self.answer(set_id, key, day)
        return a.record or a.seen_record


def billable_below(release: Release, key: str, limit: int = SUGGESTIONS) -> list[Suggestion]:
    """Claim-valid codes under a header, the closest first (direct children, then deeper)."""
    # Among codes of one length, the ".9" (unspecified) one is the usual first pick.
    keys = sorted(release.keys(key, layout.FLAG_CODE), key=lambda k: (len(k), not k.endswith("9"), k))[:limit]
    return [Suggestion(k, release.listed(k).shown_description) for k in keys]
