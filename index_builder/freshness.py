"""How fresh the installed data is, per code set: which releases are installed, which one is in
force today, which official release should be, and the command that gets it.

A set is
- ``current`` when an installed release is in force today and none newer is official yet;
- ``stale`` when the official release in force today (per the catalogue) is not installed, or
  no installed release is in force today, or (a daily set) the newest copy is too old;
- ``missing`` when nothing is installed;
- ``local`` for sets the catalogue cannot fetch (CPT, your own lists): nothing to compare with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .catalogue import Catalogue, CatalogueRelease
from .codesets import OFFICIAL_SETS, set_name
from .reader import IndexStore, Release

CURRENT, STALE, MISSING, LOCAL = "current", "stale", "missing", "local"


@dataclass
class SetFreshness:
    set_id: str
    state: str
    installed: list[str] = field(default_factory=list)  # release labels, oldest first
    in_force: str | None = None  # the installed release in force today
    answering: str | None = None  # the installed release that answers for today
    answering_title: str | None = None
    official: CatalogueRelease | None = None  # the official release in force today
    official_installed: bool = False
    reason: str = ""
    command: str | None = None
    summary: str = ""  # a few words for the editor's one-line message

    @property
    def name(self) -> str:
        return set_name(self.set_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "set": self.set_id,
            "name": self.name,
            "state": self.state,
            "installed": self.installed,
            "in_force_today": self.in_force,
            "answering_today": self.answering,
            "official": self.official.label if self.official else None,
            "official_effective": self.official.effective.isoformat() if self.official and self.official.effective else None,
            "official_installed": self.official_installed,
            "reason": self.reason,
            "command": self.command,
        }


def freshness(store: IndexStore, catalogue: Catalogue, today: dt.date | None = None) -> list[SetFreshness]:
    """One entry per set the catalogue knows, then per other installed set."""
    today = today or dt.date.today()
    out = [_official(store, catalogue, set_id, today) for set_id in _ordered(catalogue.sets)]
    for set_id in store.sets():
        if set_id not in catalogue.sets:
            rels = store.releases(set_id)
            choice = store.release_for(set_id, today)
            out.append(
                SetFreshness(
                    set_id, LOCAL, [r.label for r in rels],
                    in_force=choice[0].label if choice and choice[1] else None,
                    answering=choice[0].label if choice else None,
                    answering_title=choice[0].title if choice else None,
                    reason="no official downloads: update it with `medcode index import`",
                )
            )
    return out


def _ordered(sets) -> list[str]:
    return sorted(sets, key=lambda s: (OFFICIAL_SETS.index(s) if s in OFFICIAL_SETS else len(OFFICIAL_SETS), s))


def _official(store: IndexStore, catalogue: Catalogue, set_id: str, today: dt.date) -> SetFreshness:
    entry = catalogue.sets[set_id]
    rels = store.releases(set_id)
    official = catalogue.in_force(set_id, today)
    command = f"medcode index fetch {set_id}"
    item = SetFreshness(set_id, MISSING, [r.label for r in rels], official=official)
    since = _since(official)
    if not rels:
        item.reason = f"no release installed; {official.label} has been in force{since}" if official else "no release installed"
        item.command = command if official else None
        return item
    choice = store.release_for(set_id, today)
    answering, in_force = choice if choice else (None, False)
    item.answering = answering.label if answering else None
    item.answering_title = answering.title if answering else None
    item.in_force = answering.label if answering and in_force else None
    item.official_installed = official is not None and any(r.label == official.label for r in rels)
    if entry.daily:
        return _daily(item, rels, entry.stale_after_days, today, command)
    newer_or_same = (
        official is not None and in_force and answering is not None
        and answering.effective_from is not None and official.effective is not None
        and answering.effective_from >= official.effective
    )
    if item.in_force and (official is None or item.official_installed or newer_or_same):
        item.state = CURRENT
        item.reason = f"{answering.label} is installed and in force"
        return item
    item.state = STALE
    item.command = command
    ended = _ended(answering, today)
    if official is not None and not item.official_installed:
        item.summary = f"{official.label} is not installed, {answering.label} answers"
        item.reason = f"{official.label} (in force{since}) is not installed; {answering.label} answers today{ended}"
    else:
        # The catalogue's newest release is installed (or there is none), yet nothing is in
        # force today: a newer release exists that this medcode's catalogue does not list.
        item.summary = f"no release in force today, {answering.label} answers"
        item.reason = (
            f"no installed release is in force today; {answering.label} answers{ended}, and the release catalogue "
            "knows no newer one: update medcode, or fetch the publisher's file with --url URL --release LABEL"
        )
        item.command = f"medcode index fetch {set_id} --url URL --release LABEL"
    return item


def _daily(item: SetFreshness, rels: list[Release], max_age: int | None, today: dt.date, command: str) -> SetFreshness:
    """A daily directory is never 'in force' beyond its day; it is current while young enough."""
    newest = max(rels, key=lambda r: (r.effective_from or dt.date.min, r.label))
    day = newest.effective_from
    age = (today - day).days if day else None
    item.answering, item.answering_title = newest.label, newest.title
    if age is not None and max_age is not None and age <= max_age:
        item.state = CURRENT
        item.reason = f"directory of {day} ({age} day{'s' if age != 1 else ''} old)"
        return item
    item.state = STALE
    item.command = command
    old = f"{age} days old" if age is not None else "of unknown date"
    limit = f", more than {max_age}" if max_age is not None else ""
    item.summary = f"directory of {newest.label}"
    item.reason = f"the newest directory installed is {newest.label} ({old}{limit}); the publisher updates it daily"
    return item


def _since(rel: CatalogueRelease | None) -> str:
    return f" since {rel.effective}" if rel is not None and rel.effective is not None else ""


def _ended(rel: Release | None, today: dt.date) -> str:
    end = rel.effective_to if rel is not None else None
    return f" (it ended {end})" if end is not None and end < today else ""


def stale_message(items: list[SetFreshness]) -> str | None:
    """One short line for the editor when installed data is stale (None when nothing is).
    Sets with no data at all are left to the per-file notes that already say so."""
    stale = [i for i in items if i.state == STALE]
    if not stale:
        return None
    parts = "; ".join(f"{i.name} ({i.summary})" for i in stale)
    sets = " ".join(i.set_id for i in stale if i.command and "--url" not in i.command)
    run = f" Get current data: medcode index fetch {sets}" if sets else " See medcode index status."
    return f"medcode: code data is out of date: {parts}.{run}"
