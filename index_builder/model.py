"""The data that importers produce and the index stores: code records and release manifests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable

# Record kinds. A "code" is valid on a claim; a "header" is a real entry of the code set
# (an ICD-10-CM category, a PCS table) that is not; a "modifier" qualifies a procedure code.
CODE = "code"
HEADER = "header"
MODIFIER = "modifier"
KINDS = (CODE, HEADER, MODIFIER)

# detail key of a record whose description no embedded file carries, and what is shown instead.
NO_DESCRIPTION = "no_description"
NO_DESCRIPTION_TEXT = "(description not in the embedded data)"


@dataclass(slots=True)
class CodeRecord:
    """One entry of a code set release, keyed by its normalised form (no dots, NDC as 11 digits)."""

    code: str
    description: str
    kind: str = CODE
    short: str | None = None
    parent: str | None = None
    added: str | None = None  # ISO dates, as published
    effective: str | None = None
    terminated: str | None = None
    action: str | None = None
    notes: dict[str, list[str]] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    # Extra words that should find this record in a description search (synonyms, brand names).
    # Used when the index is written; not stored with the record.
    terms: list[str] = field(default_factory=list)
    # Records of one group (an NDC product's packages) share the words of their description's
    # first part (before " — "), short and terms; a compact release indexes those words once
    # for the group (layout.py). Not stored with the record.
    group: str | None = None

    @property
    def billable(self) -> bool:
        return self.kind == CODE

    @property
    def has_description(self) -> bool:
        """False for a code the embedded data knows is valid but cannot describe (new in a
        fiscal year whose tabular no registry package carries)."""
        return bool(self.description) or not self.detail.get(NO_DESCRIPTION)

    @property
    def shown_description(self) -> str:
        return self.description if self.has_description else NO_DESCRIPTION_TEXT

    def to_json(self) -> dict[str, Any]:
        # Written out, not looped: this runs for every record of every build (a million).
        out: dict[str, Any] = {"c": self.code, "d": self.description}
        if self.kind != CODE:
            out["k"] = self.kind
        if self.short:
            out["s"] = self.short
        if self.parent:
            out["p"] = self.parent
        if self.added:
            out["a"] = self.added
        if self.effective:
            out["e"] = self.effective
        if self.terminated:
            out["t"] = self.terminated
        if self.action:
            out["x"] = self.action
        if self.notes:
            out["n"] = self.notes
        if self.detail:
            out["v"] = self.detail
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CodeRecord:
        return cls(
            code=data["c"],
            description=data["d"],
            kind=data.get("k", CODE),
            short=data.get("s"),
            parent=data.get("p"),
            added=data.get("a"),
            effective=data.get("e"),
            terminated=data.get("t"),
            action=data.get("x"),
            notes=data.get("n", {}),
            detail=data.get("v", {}),
        )


@dataclass(slots=True)
class SourceFile:
    name: str
    sha256: str
    bytes: int


@dataclass(slots=True)
class Download:
    """One file `medcode index fetch` downloaded for a release: where from, what it was, when."""

    url: str
    name: str
    sha256: str
    bytes: int
    downloaded_at: str  # UTC, ISO 8601 to the second

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "name": self.name, "sha256": self.sha256, "bytes": self.bytes, "downloaded_at": self.downloaded_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Download:
        return cls(data["url"], data["name"], data["sha256"], data["bytes"], data["downloaded_at"])


@dataclass(slots=True)
class Source:
    """Where a release's data came from: an installed package, files the user gave, or files
    downloaded from the publisher (`medcode index fetch`)."""

    kind: str  # "package" | "file" | "download"
    name: str
    version: str | None = None
    files: list[SourceFile] = field(default_factory=list)
    url: str | None = None
    downloaded_at: str | None = None  # UTC; the last download of the release's files
    downloads: list[Download] = field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "package":
            return f"{self.name} {self.version}" if self.version else self.name
        if self.kind == "download" and self.files:
            day = (self.downloaded_at or "")[:10]
            return f"{self.files[0].name}, downloaded {day}" if day else self.files[0].name
        # The file the user gave comes first; the members read from it follow.
        return self.files[0].name if self.files else self.name


@dataclass
class ImportResult:
    """What an importer hands to the index writer for one release of one code set."""

    set_id: str
    release: str
    title: str
    effective_from: dt.date | None
    effective_to: dt.date | None
    source: Source
    records: Iterable[CodeRecord]
    # False when the source lists only some of the set's codes (a local list, a subset):
    # then a code missing from it proves nothing.
    complete: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    # Named keyed stores beside the codes, e.g. PCS tables keyed by their 3-character prefix.
    aux: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Named key-only tries (layout.key_set_file): data too large for one record per key.
    key_sets: dict[str, Iterable[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Store records, side stores and postings zlib-compressed (layout.py): for large sets of
    # repetitive records, where it cuts the index several-fold for a few µs per look-up.
    compact: bool = False
    # Work left to the writer that only the stored documents and side stores need, not the
    # word index (the NDC products' documents): run once by the writer (writer.run_finish),
    # after it forked the word index's helper, so both run at once. It may fill aux and
    # replace warnings.
    finish: Callable[[], None] | None = None
    # A compact release's word index made beforehand (the embedded NDC release's, shipped:
    # defaults/ndc_words.py): called with the release's folder and the key of its records'
    # texts (writer._Texts.key), it installs the word index there when it was made for that
    # key and returns True; False, and the writer computes it.
    word_index: Callable[[Path, str], bool] | None = None


@dataclass
class Manifest:
    format: int
    set_id: str
    release: str
    title: str
    effective_from: str | None
    effective_to: str | None
    complete: bool
    source: Source
    counts: dict[str, int]
    builder: str
    built_at: str
    files: dict[str, dict[str, Any]]  # file name -> {"bytes": size, "sha256": digest}
    aux: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    byteorder: str = "little"
    # True when the release shares its code and record files with others of its set (written
    # by writer.write_family): flags 0 then marks a code that is not in this release.
    shared: bool = False
    key_sets: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "set": self.set_id,
            "release": self.release,
            "title": self.title,
            "effective_from": self.effective_from,
            "effective_to": self.effective_to,
            "complete": self.complete,
            "source": {
                "kind": self.source.kind,
                "name": self.source.name,
                "version": self.source.version,
                "url": self.source.url,
                "files": [
                    {"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in self.source.files
                ],
                # Only fetched releases carry these; older manifests simply lack them.
                **({"downloaded_at": self.source.downloaded_at} if self.source.downloaded_at else {}),
                **({"downloads": [d.to_json() for d in self.source.downloads]} if self.source.downloads else {}),
            },
            "counts": self.counts,
            "builder": self.builder,
            "built_at": self.built_at,
            "files": self.files,
            "aux": self.aux,
            "warnings": self.warnings,
            "byteorder": self.byteorder,
            **({"shared": True} if self.shared else {}),
            **({"key_sets": self.key_sets} if self.key_sets else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        src = data["source"]
        return cls(
            format=data["format"],
            set_id=data["set"],
            release=data["release"],
            title=data["title"],
            effective_from=data.get("effective_from"),
            effective_to=data.get("effective_to"),
            complete=data.get("complete", True),
            source=Source(
                kind=src["kind"],
                name=src["name"],
                version=src.get("version"),
                url=src.get("url"),
                files=[SourceFile(f["name"], f["sha256"], f["bytes"]) for f in src.get("files", [])],
                downloaded_at=src.get("downloaded_at"),
                downloads=[Download.from_json(d) for d in src.get("downloads", [])],
            ),
            counts=data["counts"],
            builder=data["builder"],
            built_at=data["built_at"],
            files=data["files"],
            aux=data.get("aux", []),
            warnings=data.get("warnings", []),
            byteorder=data.get("byteorder", "little"),
            shared=data.get("shared", False),
            key_sets=data.get("key_sets", []),
        )

    def covers(self, day: dt.date) -> bool:
        start = dt.date.fromisoformat(self.effective_from) if self.effective_from else None
        end = dt.date.fromisoformat(self.effective_to) if self.effective_to else None
        return (start is None or start <= day) and (end is None or day <= end)
