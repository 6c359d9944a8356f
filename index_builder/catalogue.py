"""The catalogue of official release files (catalogue.json): which file to download for which
release of which set, and from what day each release is in force.

The catalogue is data, not code, so that adding next year's release is one JSON entry. A
different catalogue (a mirror, a test server) can be named with MEDCODE_CATALOGUE.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import layout
from .sources import SourceError

ENV_VAR = "MEDCODE_CATALOGUE"
FORMAT = 1


class CatalogueError(SourceError):
    """The catalogue file is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    url: str
    what: str = ""
    # A regular expression on archive member names: only these are imported (an official zip
    # also carries addenda, PDFs and index files that must not be mistaken for the data).
    members: str | None = None
    sha256: str | None = None
    optional: bool = False  # a failure is a warning: the release imports from the other files
    unverified: bool = False  # nobody checked this address against the publisher's folder
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogueRelease:
    set_id: str
    label: str
    effective: dt.date | None
    files: tuple[CatalogueFile, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SetEntry:
    set_id: str
    publisher: str
    page: str
    releases: tuple[CatalogueRelease, ...]  # oldest first
    # Daily sets (the NDC directory) have one address whose content changes every day: the
    # release is the download date, and data is stale after `stale_after_days`.
    daily: bool = False
    stale_after_days: int | None = None
    note: str | None = None


class Catalogue:
    def __init__(self, sets: dict[str, SetEntry], path: str, checked: str | None = None):
        self.sets = sets
        self.path = path
        self.checked = checked

    def entry(self, set_id: str) -> SetEntry | None:
        return self.sets.get(set_id)

    def releases(self, set_id: str) -> list[CatalogueRelease]:
        entry = self.sets.get(set_id)
        return list(entry.releases) if entry else []

    def release(self, set_id: str, label: str) -> CatalogueRelease | None:
        return next((r for r in self.releases(set_id) if r.label.lower() == label.lower()), None)

    def in_force(self, set_id: str, day: dt.date | None = None) -> CatalogueRelease | None:
        """The newest release that took effect on or before the day (today by default). For a
        daily set, that day's directory: labelled with the date."""
        day = day or dt.date.today()
        entry = self.sets.get(set_id)
        if entry is None or not entry.releases:
            return None
        if entry.daily:
            base = entry.releases[-1]
            return CatalogueRelease(set_id, day.isoformat(), day, base.files, base.note)
        started = [r for r in entry.releases if r.effective is not None and r.effective <= day]
        return started[-1] if started else None

    def latest(self, set_id: str, today: dt.date | None = None) -> CatalogueRelease | None:
        """`--latest`: the newest release already in force (a release published ahead of its
        effective date is not picked until that date)."""
        return self.in_force(set_id, today)


def _shipped():
    return resources.files(__package__).joinpath("catalogue.json")


def load(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """The catalogue at path, else $MEDCODE_CATALOGUE, else the one shipped in the package."""
    chosen = path or os.environ.get(ENV_VAR)
    where = str(chosen) if chosen else str(_shipped())
    try:
        text = Path(chosen).read_text(encoding="utf-8") if chosen else _shipped().read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise CatalogueError(f"the release catalogue {where} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"the release catalogue {where} is unreadable ({exc})") from None
    return parse(data, where)


def parse(data: Any, where: str = "catalogue") -> Catalogue:
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sets"), dict):
        raise CatalogueError(f"{where}: not a medcode release catalogue of format {FORMAT}")
    sets = {}
    for set_id, raw in data["sets"].items():
        try:
            sets[set_id] = _set_entry(set_id, raw)
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise CatalogueError(f"{where}: the entry for {set_id} is malformed ({type(exc).__name__}: {exc})") from None
    return Catalogue(sets, where, data.get("checked"))


def _set_entry(set_id: str, raw: dict[str, Any]) -> SetEntry:
    daily = bool(raw.get("daily", False))
    releases = [_release(set_id, r, daily) for r in raw["releases"]]
    labels = [r.label.lower() for r in releases]
    if len(set(labels)) != len(labels):
        raise ValueError("a release label appears twice")
    releases.sort(key=lambda r: (r.effective or dt.date.min, r.label))
    stale = raw.get("stale_after_days")
    return SetEntry(
        set_id,
        str(raw.get("publisher", "")),
        str(raw.get("page", "")),
        tuple(releases),
        daily,
        int(stale) if stale is not None else None,
        raw.get("note"),
    )


def _release(set_id: str, raw: dict[str, Any], daily: bool) -> CatalogueRelease:
    label = str(raw["label"])
    if not layout.valid_release_label(label):
        raise ValueError(f"release label {label!r} is not usable as a folder name")
    effective = dt.date.fromisoformat(raw["effective"]) if raw.get("effective") else None
    if effective is None and not daily:
        raise ValueError(f"release {label} has no effective date")
    files = tuple(_file(f) for f in raw["files"])
    if not files:
        raise ValueError(f"release {label} lists no files")
    return CatalogueRelease(set_id, label, effective, files, raw.get("note"))


def _file(raw: dict[str, Any]) -> CatalogueFile:
    url = str(raw["url"])
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{url!r} is not an http(s) address")
    members = raw.get("members")
    if members:
        re.compile(members)
    sha = raw.get("sha256")
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValueError(f"sha256 of {url} is not 64 lower-case hex digits")
    return CatalogueFile(
        url,
        str(raw.get("what", "")),
        members,
        sha,
        bool(raw.get("optional", False)),
        bool(raw.get("unverified", False)),
        raw.get("note"),
    )
