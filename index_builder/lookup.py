"""Answering "is this code valid?" honestly: which release answers, and what it can prove.

A code absent from a release that is not in force on the date in question, or from a partial
source, is only "not found in <release>"; it is "not a code" only when a complete release in
force on that date lacks it (DESIGN.md, honesty principle).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from .codesets import display
from .model import CodeRecord
from .reader import IndexStore, Release


class Status(str, Enum):
    FOUND = "found"  # in the release in force, valid on the date
    TERMINATED = "terminated"  # listed, but its termination date is before the date
    NOT_YET = "not-yet-effective"  # listed, but added after the date
    DELETED = "deleted"  # in an earlier release, gone from the release in force
    NOT_FOUND = "not-found"  # a complete release in force lacks it: not a code
    UNVERIFIED = "unverified"  # the data at hand cannot decide (stale, partial, or none)


@dataclass(slots=True)
class Answer:
    set_id: str
    key: str
    status: Status
    day: dt.date
    release: Release | None  # the release that answered
    in_force: bool  # whether that release covers the day
    record: CodeRecord | None = None
    # Where else the code was seen when the answering release does not list it.
    seen_in: Release | None = None
    seen_record: CodeRecord | None = None

    @property
    def display(self) -> str:
        return display(self.set_id, self.key)

    @property
    def found(self) -> bool:
        return self.record is not None


def _iso(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Listing:
    """What the installed releases list for a key, whatever the date: the answering
    release's record, or else the closest other release that lists it."""

    record: CodeRecord | None
    seen_in: Release | None = None
    seen_record: CodeRecord | None = None


def listing(store: IndexStore, set_id: str, key: str, release: Release) -> Listing:
    record = release.get(key)
    if record is not None:
        return Listing(record)
    # The closest release that lists it: the last one before (where it was deleted), else the
    # first one after (where it appears).
    rels = store.releases(set_id)
    # A reload between choosing the release and getting here (the server's store, on another
    # thread) gives new Release objects: find this one again by its label.
    at = next((i for i, r in enumerate(rels) if r is release or r.label == release.label), None)
    if at is None:
        return Listing(None)
    for other in [*reversed(rels[:at]), *rels[at + 1 :]]:
        rec = other.get(key)
        if rec is not None:
            return Listing(None, other, rec)
    return Listing(None)


def judge(set_id: str, key: str, day: dt.date, release: Release, in_force: bool, found: Listing) -> Answer:
    """The status of a listing on a day, given the release that answers for that day."""
    record = found.record
    if record is not None:
        terminated, added = _iso(record.terminated), _iso(record.added)
        if terminated is not None and terminated < day:
            status = Status.TERMINATED
        elif added is not None and added > day:
            status = Status.NOT_YET
        else:
            status = Status.FOUND
        return Answer(set_id, key, status, day, release, in_force, record)
    answer = Answer(set_id, key, Status.UNVERIFIED, day, release, in_force, None, found.seen_in, found.seen_record)
    if in_force and release.manifest.complete:
        seen = found.seen_in
        # Seen only in a newer release, the code did not exist yet on this day: still not a
        # code then, and seen_in tells the user where it appears.
        older = seen is not None and (seen.effective_from or dt.date.min) < (release.effective_from or dt.date.min)
        answer.status = Status.DELETED if older else Status.NOT_FOUND
    return answer


def resolve(store: IndexStore, set_id: str, key: str, day: dt.date | None = None) -> Answer:
    """What the installed data says about one normalised key of one set on one day."""
    day = day or dt.date.today()
    choice = store.release_for(set_id, day)
    if choice is None:
        return Answer(set_id, key, Status.UNVERIFIED, day, None, False)
    release, in_force = choice
    return judge(set_id, key, day, release, in_force, listing(store, set_id, key, release))
