"""Reads releases written by the writer: memory-mapped, so opening one costs milliseconds."""

from __future__ import annotations

import datetime as dt
import heapq
from bisect import bisect_left
import json
import mmap
import os
import shlex
import sys
import zlib
from array import array
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, repeat
from operator import and_, lt, rshift
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import marisa_trie
import orjson

from . import layout, stamps
from .codesets import EMBEDDED_SETS, ICD10CM
from .model import CODE, HEADER, MODIFIER, CodeRecord, Manifest
from .sources import file_sha256
from .words import words


_MISSING = object()
# What is not done when a release's side data of this name is damaged (IndexStore.problems):
# its users say so where it was needed, and the release's codes are still read. Damage in
# other side data sets the whole release aside, as damage in its codes does.
# The PCS tables (pcs_tables.py) only say what each character of a code means, and the NDC
# products (importers/ndc.product_of) a package's product details (hover, lookup, completion):
# a code's validity and description are its record's, so no check needs them.
_AUX_USE = {
    "tabular-edits": "the tabular edits (excludes1, code-first, use-additional-code) of its dates are not run",
    "tables": "the ICD-10-PCS character meanings of its codes are not shown (hover, lookup); its codes are still checked",
    "products": "the NDC product details of its codes are not shown (hover, lookup, completion); its codes are still checked",
}
_AUX_CACHE_SIZE = 256
_SEARCH_CACHE_SIZE = 128  # word searches remembered per release (Release.search)
_DELTA_TYPES = ("B", "H", layout.OFFSET_TYPE)
# Search order within one score, per flags byte (Release._best): in force before terminated,
# claim-valid codes before headers. Below 4, so that 4 x score orders first.
_FLAG_CLASS = tuple((2 if b & layout.FLAG_TERMINATED else 0) + (0 if b & layout.FLAG_CODE else 1) for b in range(256))


class IndexDataError(Exception):
    """An index cannot be used; the message names the file and how to rebuild it."""


class IndexCorrupt(IndexDataError):
    def __init__(self, message: str, folder: Path | None = None, problem: str | None = None, linked: tuple[Path, ...] = ()):
        super().__init__(message)
        self.folder = folder  # the release folder, when known: readers can set it aside
        # What is wrong without the generic rebuild hint, for those who add the one command.
        self.problem = problem if problem is not None else message
        # The other releases whose damaged file is this very file (hard links): set aside with it.
        self.linked = linked

    def __reduce__(self):
        # Sent between `check -j N` processes: whoever sets the release aside needs the folder.
        return (type(self), (str(self), self.folder, self.problem, self.linked))


class AuxDamaged(IndexCorrupt):
    """A release's side data (Release.aux) cannot be read; its codes can. Those who use that
    data say what they could not do (an index-damaged finding) rather than set the whole
    release aside."""

    def __init__(self, message: str, folder: Path, name: str):
        super().__init__(message, folder)
        self.name = name

    def __reduce__(self):
        return (type(self), (str(self), self.folder, self.name))


def rebuild_hint(set_id: str) -> str:
    return (
        f"rebuild it with `medcode index build` (embedded defaults) or "
        f"`medcode index import {set_id} PATH` (your own files)"
    )


# Data built with an embedded set rather than as one: the claim edits' MCE tables
# (build.MCE_STEP) come with `index build --set icd10cm`.
_BUILT_WITH = {layout.MCE_SET: ICD10CM}


def rebuild_command(manifest: Manifest | None, set_id: str, label: str) -> str:
    """The one command that rebuilds a release, from where its manifest says it came from;
    both ways (rebuild_hint) when the manifest cannot say."""
    if manifest is None:
        return rebuild_hint(set_id)
    source = manifest.source
    built_with = _BUILT_WITH.get(set_id, set_id)
    if source.kind == "package" and built_with in EMBEDDED_SETS:
        return f"rebuild it with `medcode index build --set {built_with}`"
    if source.kind == "download":
        return f"rebuild it with `medcode index fetch {set_id} --release {label} --force`"
    # An import records what the user gave, resolved (several paths for NCCI, comma-joined).
    given = " ".join(shlex.quote(p) for p in source.name.split(", ")) if source.name else "PATH"
    # NCCI files name their quarter, and one import may have brought several: no --release.
    release = "" if set_id == "ncci" else f" --release {label}"
    return f"rebuild it with `medcode index import {set_id} {given}{release}`"


@dataclass(frozen=True, slots=True)
class DamagedRelease:
    """An installed release that cannot be used (refused at open, or set aside when damage
    was found while reading it): the days it would be in force on, when its manifest still
    says so, and what to tell the user. Codes of those days are not judged by a neighbour."""

    set_id: str
    label: str  # the folder name when the manifest cannot be read
    effective_from: dt.date | None
    effective_to: dt.date | None
    dated: bool  # False: the manifest is unreadable, the days it covers are unknown
    problem: str  # what is wrong, naming the file
    command: str  # how to rebuild it (rebuild_command)

    @classmethod
    def of(cls, folder: Path, set_id: str, problem: str, manifest: Manifest | None = None) -> DamagedRelease:
        if manifest is None:
            try:
                manifest = Manifest.from_json(json.loads((folder / layout.MANIFEST).read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                manifest = None
        if manifest is None or manifest.set_id != set_id:
            return cls(set_id, folder.name, None, None, False, problem, rebuild_command(None, set_id, folder.name))
        try:
            start = dt.date.fromisoformat(manifest.effective_from) if manifest.effective_from else None
            end = dt.date.fromisoformat(manifest.effective_to) if manifest.effective_to else None
        except (TypeError, ValueError):
            return cls(set_id, manifest.release, None, None, False, problem, rebuild_command(manifest, set_id, manifest.release))
        return cls(set_id, manifest.release, start, end, True, problem, rebuild_command(manifest, set_id, manifest.release))

    @property
    def message(self) -> str:
        """What is wrong, then the command that rebuilds the release."""
        return f"{self.problem}; {self.command}"

    def covers(self, day: dt.date) -> bool:
        return self.dated and (self.effective_from is None or self.effective_from <= day) and (self.effective_to is None or day <= self.effective_to)


class _Blob:
    """Variable-length documents by id: an offset array plus one concatenated file."""

    def __init__(self, idx_path: Path, bin_path: Path, hint: str = ""):
        self._idx_map = _map(idx_path)
        self.path = bin_path
        self.hint = hint  # how to rebuild, for the message when a document is damaged
        self.offsets = memoryview(self._idx_map).cast(layout.OFFSET_TYPE)
        self.data: _Reads | memoryview = _Reads(bin_path) if hasattr(os, "pread") else memoryview(_map(bin_path))
        if len(self.offsets) == 0 or self.offsets[-1] != len(self.data):
            raise IndexCorrupt(f"{bin_path} does not match {idx_path.name}")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def get(self, i: int) -> memoryview:
        return self.data[self.offsets[i] : self.offsets[i + 1]]

    def json(self, i: int) -> Any:
        # Sizes are checked on open, contents only by `index verify` (reading every byte
        # would cost the milliseconds open promises): bytes changed in place surface here.
        try:
            return orjson.loads(self.get(i))
        except orjson.JSONDecodeError:
            raise self.damaged(i) from None

    def damaged(self, i: int) -> IndexCorrupt:
        return file_damage(self.path, f"{self.path} is damaged (entry {i} cannot be read)", self.hint)


def file_damage(path: Path, problem: str, hint: str = "") -> IndexCorrupt:
    """The damage of one file of a release, naming the releases whose file it is too (hard
    links): they are set aside with it, under one message."""
    linked = _sharing(path)
    also = f" (the same file as {', '.join(f'{f.name}/{path.name}' for f in linked)}, which are damaged too)" if linked else ""
    hint = f"; {hint}" if hint else ""
    return IndexCorrupt(f"{problem}{also}{hint}", path.parent, f"{problem}{also}", tuple(linked))


def _sharing(path: Path) -> list[Path]:
    """The other release folders of the set whose file of this name is this very file
    (releases of one family share files by hard links: writer.write_family)."""
    try:
        this = path.stat()
        siblings = sorted(p for p in path.parent.parent.iterdir() if p != path.parent and not p.name.startswith("."))
    except OSError:
        return []
    out = []
    for folder in siblings:
        try:
            other = (folder / path.name).stat()
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (this.st_dev, this.st_ino):
            out.append(folder)
    return out


class _ZBlob(_Blob):
    """The compact form (layout.py): documents in zlib blocks; the last few blocks inflated
    are kept, as neighbouring keys (one product's packages) are read together."""

    def __init__(self, idx_path: Path, bin_path: Path, hint: str = ""):
        super().__init__(idx_path, bin_path, hint)
        head = self.offsets
        n, step = (head[0], head[1]) if len(head) >= 3 else (0, 0)
        if len(head) < 3 or step < 1 or len(head) - 3 != -(-n // step):
            raise IndexCorrupt(f"{idx_path} is not a block index for {bin_path.name}")
        self._n, self._step = n, step
        self._blocks: dict[int, list[bytes]] = {}

    def __len__(self) -> int:
        return self._n

    def _block(self, b: int, i: int) -> list[bytes]:
        docs = self._blocks.get(b)
        if docs is None:
            try:
                docs = zlib.decompress(self.data[self.offsets[b + 2] : self.offsets[b + 3]]).split(b"\n")
            except zlib.error:
                raise self.damaged(i) from None
            if len(docs) != min(self._step, self._n - b * self._step):
                raise self.damaged(i)
            if len(self._blocks) >= 8:
                self._blocks.clear()
            self._blocks[b] = docs
        return docs

    def get(self, i: int) -> memoryview:
        b, k = divmod(i, self._step)
        return memoryview(self._block(b, i)[k])


def _blob(folder: Path, idx_name: str, bin_name: str, files: dict, hint: str) -> _Blob:
    """The blob of that name, or its compact twin where the manifest lists that instead."""
    if layout.compact(bin_name) in files:
        return _ZBlob(folder / layout.compact(idx_name), folder / layout.compact(bin_name), hint)
    return _Blob(folder / idx_name, folder / bin_name, hint)


class _Reads:
    """A file's bytes, read where sliced. Mapped, a few thousand documents looked up across a
    records file bring most of it into the process (the kernel maps 64 KB around each page
    fault): a price file's check held 30 MB of index pages that way, more than its codes."""

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._size = os.fstat(self._fd).st_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, part: slice) -> memoryview:
        return memoryview(os.pread(self._fd, max(part.stop - part.start, 0), part.start))

    def __del__(self) -> None:
        fd, self._fd = getattr(self, "_fd", -1), -1
        if fd >= 0:
            os.close(fd)


def _map(path: Path) -> mmap.mmap | bytes:
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _trie(path: Path) -> marisa_trie.Trie:
    trie = marisa_trie.Trie()
    try:
        trie.mmap(str(path))
    except RuntimeError as exc:
        raise IndexCorrupt(f"{path} is not a readable marisa trie ({exc})", path.parent) from exc
    return trie


class _GroupIndex:
    """groups.idx / groups.bin (layout.py): per group, its record ids. Checked whole when first
    opened (a few milliseconds for the NDC directory's 128,000 products), so mapping the
    thousands of groups a common word names is slicing only."""

    def __init__(self, blob: _Blob, n: int):
        offsets = blob.offsets
        self.count = len(blob)
        # Byte offsets to id positions; each group holds at least one whole id below n.
        if any(map(and_, offsets, repeat(3))):
            raise blob.damaged(next(g for g in range(self.count) if (offsets[g] | offsets[g + 1]) & 3))
        self.starts = array(layout.OFFSET_TYPE, map(rshift, offsets, repeat(2)))
        if not all(map(lt, offsets[:-1], offsets[1:])):
            raise blob.damaged(next(g for g in range(self.count) if offsets[g + 1] <= offsets[g]))
        self.members = array(layout.OFFSET_TYPE)  # a copy (1 MB): its slices iterate fast
        self.members.frombytes(blob.data[0 : len(blob.data)])
        if self.count and max(self.members) >= n:
            starts, members = self.starts, self.members
            raise blob.damaged(next(g for g in range(self.count) if max(members[starts[g] : starts[g + 1]]) >= n))


@dataclass(frozen=True, slots=True)
class Hit:
    score: int
    record: CodeRecord


class Release:
    """One code set x release, opened read-only."""

    def __init__(self, folder: Path):
        self.path = Path(folder)
        manifest_path = self.path / layout.MANIFEST
        try:
            self.manifest = Manifest.from_json(json.loads(manifest_path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"{manifest_path} is missing") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"{manifest_path} is unreadable ({exc})") from exc
        m = self.manifest
        self._hint = rebuild_hint(m.set_id)
        if m.format != layout.FORMAT_VERSION:
            raise IndexCorrupt(f"{manifest_path} has index format {m.format}, this medcode reads {layout.FORMAT_VERSION}")
        if m.byteorder != sys.byteorder:
            raise IndexCorrupt(f"{self.path} was built on a {m.byteorder}-endian machine")
        # The files of side data whose damage only its users report (_AUX_USE): a wrong size
        # there is noted for them (aux_problem), and the release's codes are still read.
        side = {f: n for n in m.aux if n in _AUX_USE for f in (*layout.aux_files(n), layout.compact(layout.aux_files(n)[2]))}
        aux_problems: dict[str, str] = {}
        stats: dict[str, os.stat_result] = {}
        for name, info in m.files.items():
            path = self.path / name
            try:
                st = stats[name] = path.stat()
            except FileNotFoundError:
                problem = f"{path} is missing"
            else:
                problem = None if st.st_size == info["bytes"] else f"{path} has {st.st_size} bytes, the manifest says {info['bytes']}"
            if problem is None:
                continue
            stats.pop(name, None)
            if name not in side:
                raise IndexCorrupt(problem)
            aux_problems.setdefault(side[name], problem)
        # Contents: a file written since its hash was last checked is hashed now (stamps.py).
        for name, problem in stamps.check(self.path, m.files, stats).items():
            if name not in side:
                raise file_damage(self.path / name, problem)
            aux_problems.setdefault(side[name], problem)
            del stats[name]
        self._side = side
        # For changed(): each file's path as a string (a stat per file on a server's every
        # check, hover and completion), and its stat at open.
        folder = f"{self.path}{os.sep}"
        self._seen = {name: (folder + name, stamps.stat_of(st)) for name, st in stats.items()}
        try:
            self._codes = _trie(self.path / layout.CODES)
            self._records = _blob(self.path, layout.RECORDS_IDX, layout.RECORDS_BIN, m.files, self._hint)
            self._flags = _map(self.path / layout.FLAGS)
            rank_map = _map(self.path / layout.RANK)
            self._rank = memoryview(rank_map).cast(layout.RANK_TYPE) if len(rank_map) else array(layout.RANK_TYPE)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorrupt(f"{self.path} cannot be read ({exc})") from exc
        n = len(self._codes)
        if len(self._records) != n or len(self._flags) != n or len(self._rank) != n:
            raise IndexCorrupt(f"{self.path}: the code list and its records disagree in length")
        self._aux: dict[str, tuple[marisa_trie.Trie, _Blob]] = {}
        self._aux_problems = aux_problems  # side data found damaged: name -> what is wrong
        self._aux_docs: dict[tuple[str, str], Any] = {}
        self._key_sets: dict[str, marisa_trie.Trie] = {}
        self._searches: dict[tuple[tuple[str, ...], int, int], list[tuple[int, int]]] = {}

    # -- identity --------------------------------------------------------------------------
    @property
    def set_id(self) -> str:
        return self.manifest.set_id

    @property
    def label(self) -> str:
        return self.manifest.release

    @property
    def title(self) -> str:
        return self.manifest.title

    @property
    def effective_from(self) -> dt.date | None:
        v = self.manifest.effective_from
        return dt.date.fromisoformat(v) if v else None

    @property
    def effective_to(self) -> dt.date | None:
        v = self.manifest.effective_to
        return dt.date.fromisoformat(v) if v else None

    def covers(self, day: dt.date) -> bool:
        return self.manifest.covers(day)

    def __repr__(self) -> str:
        return f"Release({self.set_id}/{self.label})"

    # -- codes -----------------------------------------------------------------------------
    # A release that shares its files with others of its set (manifest.shared) lists the codes
    # of them all; flags 0 marks those that are not in it, and its flags give each code's kind.
    def __len__(self) -> int:
        return self.manifest.counts["records"] if self.manifest.shared else len(self._codes)

    def _id(self, key: str) -> int | None:
        i = self._codes.get(key)
        return None if i is None or not self._flags[i] else i

    def __contains__(self, key: str) -> bool:
        return self._id(key) is not None

    def flags(self, key: str) -> int | None:
        i = self._id(key)
        return None if i is None else self._flags[i]

    def get(self, key: str) -> CodeRecord | None:
        i = self._id(key)
        return None if i is None else self._record(i)

    def listed(self, key: str) -> CodeRecord:
        """The record of a key that keys() gave. Sizes are checked on open, contents only by
        `index verify`: a trie whose bytes changed in place may list a key that it then cannot
        find, which is said as that damage, not passed on as None."""
        rec = self.get(key)
        if rec is None:
            path = self.path / layout.CODES
            raise file_damage(path, f"{path} is damaged (it lists {key!r} but cannot find it)", self._hint)
        return rec

    def _record(self, i: int) -> CodeRecord:
        doc = self._records.json(i)
        try:
            rec = CodeRecord.from_json(doc)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._records.damaged(i) from None
        if self.manifest.shared:
            bits = self._flags[i]
            rec.kind = HEADER if bits & layout.FLAG_HEADER else MODIFIER if bits & layout.FLAG_MODIFIER else CODE
        return rec

    def keys(self, prefix: str = "", flag_mask: int | None = None) -> Iterator[str]:
        """Keys starting with prefix, in sorted order; only those with a flag bit if given."""
        if flag_mask is None and self.manifest.shared:
            flag_mask = 0xFF
        if flag_mask is None:
            return self._codes.iterkeys(prefix)
        flags = self._flags
        return (k for k, i in self._codes.iteritems(prefix) if flags[i] & flag_mask)

    def count(self, prefix: str, flag: int) -> int:
        """How many keys under prefix carry the flag bit (e.g. billable codes below a header)."""
        return sum(1 for _, i in self._codes.iteritems(prefix) if self._flags[i] & flag)

    def records(self, prefix: str, limit: int, flag_mask: int = 0xFF) -> list[CodeRecord]:
        out = []
        for _, i in self._codes.iteritems(prefix):
            if self._flags[i] & flag_mask:
                out.append(self._record(i))
                if len(out) >= limit:
                    break
        return out

    # -- word search -----------------------------------------------------------------------
    @cached_property
    def _words(self) -> tuple[marisa_trie.Trie, _Blob]:
        # Compact postings keep the plain blob layout; their lists are compressed one by one.
        self._compact_postings = compact = layout.POSTINGS_ZBIN in self.manifest.files
        idx, bin_ = (layout.POSTINGS_ZIDX, layout.POSTINGS_ZBIN) if compact else (layout.POSTINGS_IDX, layout.POSTINGS_BIN)
        # Groups (layout.py): postings ids from the record count on name a group of records.
        self._groups = (
            _GroupIndex(_Blob(self.path / layout.GROUPS_IDX, self.path / layout.GROUPS_BIN, self._hint), len(self._codes))
            if compact and layout.GROUPS_BIN in self.manifest.files
            else None
        )
        return _trie(self.path / layout.WORDS), _Blob(self.path / idx, self.path / bin_, self._hint)

    def _postings(self, word_id: int) -> memoryview | list[int]:
        """The record ids a word finds: ascending, except that those found through a group
        follow the others."""
        blob = self._words[1]
        raw = blob.get(word_id)
        if not self._compact_postings:
            return raw.cast(layout.OFFSET_TYPE)
        try:  # type byte, then zlib of the deltas or the deltas (writer._write_zpostings)
            code = chr(raw[0])
            if code in _DELTA_TYPES:
                ids = list(accumulate(array(code, zlib.decompress(raw[1:]))))
            else:
                deltas = array(layout.RAW_DELTA_TYPES[code])
                deltas.frombytes(raw[1:])  # array(type, memoryview) would read it byte by byte
                ids = list(accumulate(deltas))
            if not ids:  # every word in the trie finds something
                raise ValueError(code)
        except (ValueError, IndexError, KeyError, zlib.error):
            raise blob.damaged(word_id) from None
        n = len(self._codes)
        if ids[-1] < n:
            return ids
        groups = self._groups
        if groups is None or ids[-1] >= n + groups.count:
            raise blob.damaged(word_id)
        at = bisect_left(ids, n)
        out = ids[:at]
        members, starts = groups.members, groups.starts
        for g in ids[at:]:
            g -= n
            out += members[starts[g] : starts[g + 1]]
        return out

    def search(self, query: str, limit: int = 20, flag_mask: int = 0xFF) -> list[Hit]:
        """Records whose words cover every query word (each a whole word or, from two
        characters on, a word's beginning), best first: more whole-word matches, claim-valid
        codes, shorter descriptions."""
        qwords = list(dict.fromkeys(words(query)))
        if not qwords:
            return []
        # Completion asks again for what it asked a moment ago (every keystroke, and the same
        # few words claim after claim); a broad word costs milliseconds to rank, so the best
        # ids are remembered (records are decoded afresh: callers may change them).
        memo = (tuple(qwords), limit, flag_mask)
        found = self._searches.get(memo)
        if found is None:
            found = self._search(qwords, limit, flag_mask)
            if len(self._searches) >= _SEARCH_CACHE_SIZE:
                self._searches.clear()
            self._searches[memo] = found
        return [Hit(score, self._record(rid)) for score, rid in found]

    def _search(self, qwords: list[str], limit: int, flag_mask: int) -> list[tuple[int, int]]:
        """(score, record id) of the best `limit` records for the query words (search)."""
        trie, _ = self._words
        per_word: list[dict[int, int]] = []
        for qw in qwords:
            prefix_ok = len(qw) >= 2 and not qw.isdigit()
            matches = trie.iteritems(qw) if prefix_ok else ([(qw, trie[qw])] if qw in trie else [])
            # A record scores its best match: whole word 3, beginning 1. Filled by dict.fromkeys
            # (beginnings first, the whole word over them) rather than id by id: "fractur"
            # names 20,000 records and the per-id loop was half the search.
            whole = None
            scores: dict[int, int] = {}
            for word, wid in matches:
                if word == qw:
                    whole = wid
                else:
                    scores.update(dict.fromkeys(self._postings(wid), 1))
            if whole is not None:
                scores.update(dict.fromkeys(self._postings(whole), 3))
            if not scores:
                return []
            per_word.append(scores)
        per_word.sort(key=len)
        total: dict[int, int] = per_word[0]
        for scores in per_word[1:]:
            total = {rid: s + scores[rid] for rid, s in total.items() if rid in scores}
            if not total:
                return []
        return [(total[rid], rid) for rid in self._best(total, limit, flag_mask)]

    def _best(self, total: dict[int, int], limit: int, flag_mask: int) -> list[int]:
        """The `limit` best record ids of those scored, in order: higher score, in force,
        claim-valid codes, lower rank, lower trie id (stable, and cheap where restoring each
        key of 20,000 matches for "fractur" was not). The order is one integer per record,
        compared in C: a tuple key built by a lambda per match was most of a broad search."""
        flags = self._flags
        rank = self._rank
        shift = len(self._codes).bit_length()
        cls = _FLAG_CLASS
        best = heapq.nsmallest(
            limit,
            ((((cls[flags[rid]] - 4 * s) << 16) + rank[rid] << shift) + rid for rid, s in total.items() if flags[rid] & flag_mask),
        )
        low = (1 << shift) - 1
        return [key & low for key in best]

    # -- side data -------------------------------------------------------------------------
    @cached_property
    def meta(self) -> dict[str, Any]:
        path = self.path / layout.META
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"{path} is unreadable ({exc}); {self._hint}", self.path, f"{path} is unreadable ({exc})") from exc

    def aux(self, name: str, key: str) -> Any | None:
        if name not in self.manifest.aux:
            return None
        cached = self._aux_docs.get((name, key), _MISSING)
        if cached is not _MISSING:
            return cached
        trie, blob = self._open_aux(name)
        i = trie.get(key)
        try:
            doc = None if i is None else blob.json(i)
        except IndexCorrupt as exc:  # bytes changed in place: found only when read
            raise self._aux_damaged(name, exc) from None
        # Side documents can be large (a PCS table is up to 66 KB of JSON) and hovers ask for
        # the same few repeatedly; a small bounded cache keeps decoding off the hot path.
        if len(self._aux_docs) >= _AUX_CACHE_SIZE:
            self._aux_docs.clear()
        self._aux_docs[(name, key)] = doc
        return doc

    def aux_all(self, name: str) -> dict[str, Any]:
        """Every document of the side data of that name, by key (empty when the release has
        none), read in one go: for side data small enough that its user needs all of it (the
        tabular notes' 3,000 documents read in ~15 ms, where reading them one key at a time
        cost ten times that). Damage met raises AuxDamaged, as aux() does."""
        if name not in self.manifest.aux:
            return {}
        trie, blob = self._open_aux(name)
        try:
            if len(trie) != len(blob):
                raise blob.damaged(len(blob))
            return {key: blob.json(i) for key, i in trie.iteritems()}
        except IndexCorrupt as exc:
            raise self._aux_damaged(name, exc) from None

    def _aux_damaged(self, name: str, exc: IndexCorrupt) -> AuxDamaged:
        """Damage read in the side data of that name: noted (aux_problem answers it from
        now on) and given back as the error its readers tell apart."""
        self._aux_problems[name] = str(exc)
        return AuxDamaged(str(exc), self.path, name)

    def _open_aux(self, name: str) -> tuple[marisa_trie.Trie, _Blob]:
        opened = self._aux.get(name)
        if opened is not None:
            return opened
        problem = self._aux_problems.get(name)
        if problem is None:
            trie_name, idx_name, bin_name = layout.aux_files(name)
            try:
                # The store adds the one command that rebuilds the release to what it notes.
                hint = "" if name in _AUX_USE else self._hint
                opened = self._aux[name] = (_trie(self.path / trie_name), _blob(self.path, idx_name, bin_name, self.manifest.files, hint))
                return opened
            except IndexDataError as exc:
                problem = self._aux_problems[name] = str(exc)
            except (OSError, ValueError, TypeError) as exc:  # an offset file that is no array
                problem = self._aux_problems[name] = f"{self.path / idx_name} cannot be read ({exc})"
        raise AuxDamaged(problem, self.path, name)

    def aux_problem(self, name: str) -> str | None:
        """Why the side data of that name cannot be read (None: it can, or the release has
        none). Opening it costs under a millisecond and is kept for aux(); damage in its
        bytes is found when they are read and answered here from then on."""
        if name in self.manifest.aux and name not in self._aux:
            try:
                self._open_aux(name)
            except AuxDamaged:
                pass
        return self._aux_problems.get(name)

    def changed(self) -> list[IndexCorrupt]:
        """Damage written into this release's files since it was opened (a running server's
        next use finds it): a file whose stat moved is hashed (stamps.py). Its side data's
        damage comes as AuxDamaged, noted here (aux_problem) as when met while read. A file
        replaced by another (a new inode: a rebuild) is left to a reload: the release reads
        the file it opened."""
        stats: dict[str, os.stat_result] = {}
        stat = os.stat
        # A copy: a server's check (a worker thread) and its hover (the loop) may ask at once.
        for name, (path, (ino, size, mtime, ctime)) in list(self._seen.items()):
            try:
                st = stat(path)
            except OSError:
                continue
            if st.st_ctime_ns != ctime or st.st_mtime_ns != mtime or st.st_size != size:
                if st.st_ino == ino:
                    stats[name] = st
        if not stats:
            return []
        bad = stamps.check(self.path, self.manifest.files, stats)
        found: list[IndexCorrupt] = []
        for name, st in stats.items():
            seen = self._seen.get(name)
            if name not in bad:
                if seen is not None:
                    self._seen[name] = (seen[0], stamps.stat_of(st))
                continue
            if self._seen.pop(name, None) is None:  # said once (by the other thread)
                continue
            aux = self._side.get(name)
            if aux is None:
                found.append(file_damage(self.path / name, bad[name], self._hint))
            elif aux not in self._aux_problems:
                self._aux_problems[aux] = bad[name]
                self._aux.pop(aux, None)  # not read from now on (_open_aux says why)
                self._aux_docs.clear()
                found.append(AuxDamaged(bad[name], self.path, aux))
        return found

    def key_set(self, name: str) -> marisa_trie.Trie | None:
        """A key-only side trie (layout.key_set_file), memory-mapped on first use; None when
        the release has none of that name."""
        trie = self._key_sets.get(name)
        if trie is None:
            if name not in self.manifest.key_sets:
                return None
            trie = self._key_sets[name] = _trie(self.path / layout.key_set_file(name))
        return trie

    def verify(self) -> list[str]:
        """Check every file against the SHA-256 in the manifest (reads everything, unlike open,
        which hashes only the files written since their last check: stamps.py)."""
        problems = []
        for name, info in self.manifest.files.items():
            if file_sha256(self.path / name) != info["sha256"]:
                problems.append(f"{self.path / name} does not match its checksum")
        return problems


def _open_settled(folder: Path, attempts: int = 3) -> Release:
    """Open a release, trying again when it is refused: an import swapping a new copy in
    while the files are opened can pair one copy's manifest with the other's files."""
    for _ in range(attempts - 1):
        try:
            return Release(folder)
        except IndexDataError:
            continue
    return Release(folder)


class IndexStore:
    """Every release installed under one index folder, opened lazily."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.problems: list[str] = []
        self._damaged: dict[str, str] = {}  # set -> its first problem: "cannot be read", not "no data"
        self._broken: dict[str, list[DamagedRelease]] = {}  # set -> its releases that cannot be used
        self._aux_broken: dict[tuple[Path, str], DamagedRelease] = {}  # (release folder, side data) -> its damage
        self._edits_broken: dict[str, DamagedRelease] = {}  # claim edits' tables (layout.EDITS_DIR) -> their damage
        self._releases: dict[str, list[Release]] | None = None
        self._edits: list[Release] = []  # the claim edits' tables opened (for recheck)

    def _load(self) -> dict[str, list[Release]]:
        if self._releases is not None:
            return self._releases
        found: dict[str, list[Release]] = defaultdict(list)
        self.problems = []
        self._damaged = {}
        self._broken = {}
        self._aux_broken = {}
        self._edits_broken = {}
        self._edits = []
        if self.root.is_dir():
            for set_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
                named: set[Path] = set()  # releases whose damaged file an earlier one's message named
                for rel_dir in sorted(p for p in set_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    try:
                        rel = _open_settled(rel_dir)
                    except IndexDataError as exc:
                        damaged = DamagedRelease.of(rel_dir, set_dir.name, str(exc))
                        if rel_dir not in named:  # one file, one message (file_damage)
                            self.problems.append(f"{exc}; {damaged.command}")
                            self._damaged.setdefault(set_dir.name, self.problems[-1])
                            named.update(getattr(exc, "linked", ()))
                        self._broken.setdefault(set_dir.name, []).append(damaged)
                        continue
                    found[set_dir.name].append(rel)
                    # Side data is checked as the release is (sizes, trie headers), not when a
                    # code first needs it: what it cannot do is said before any file is read.
                    for name in rel.manifest.aux:
                        if name in _AUX_USE:
                            self.aux_damaged(rel, name)
            # The claim edits' tables: not a code set, opened by their rules, but their damage
            # is reported with the sets' (problems), not passed over in silence.
            edits = self.root / layout.EDITS_DIR
            for rel_dir in sorted(edits.glob("*/*")) if edits.is_dir() else ():
                if rel_dir.name.startswith(".") or not rel_dir.is_dir():
                    continue
                try:
                    self._edits.append(_open_settled(rel_dir))
                except IndexDataError as exc:
                    self.edits_damage(rel_dir, rel_dir.parent.name, str(exc))
        for rels in found.values():
            rels.sort(key=lambda r: (r.effective_from or dt.date.min, r.label))
        self._releases = dict(found)
        return self._releases

    def reload(self) -> None:
        self._releases = None

    def recheck(self) -> list[IndexCorrupt]:
        """Damage written into the files of the releases in use since they were opened
        (Release.changed: a stat per file, a hash where one moved), for the caller to set
        aside (set_aside) as damage met while reading. Nothing before the first use."""
        if self._releases is None:
            return []
        found: list[IndexCorrupt] = []
        for rel in [*self.releases(), *self._edits]:
            found += rel.changed()
        return found

    def aux_damaged(self, release: Release, name: str) -> DamagedRelease | None:
        """The release as damaged for what its side data of that name holds (the tabular
        notes of the claim edits...), None while it reads: once per release, the problem
        then named with its command among the problems."""
        problem = release.aux_problem(name)
        if problem is None:
            return None
        key = (release.path, name)
        found = self._aux_broken.get(key)
        if found is None:
            found = self._aux_broken[key] = DamagedRelease.of(release.path, release.set_id, problem, release.manifest)
            self.problems.append(f"{problem}; {_AUX_USE.get(name, 'what it holds is not shown')}; {found.command}")
        return found

    def edits_damage(self, folder: Path, set_id: str, problem: str) -> DamagedRelease:
        """Note that the claim edits' tables in folder cannot be used (found at open, or while
        reading them); once, then named with its command among the problems."""
        found = self._edits_broken.get(set_id)
        if found is None:
            found = self._edits_broken[set_id] = DamagedRelease.of(folder, set_id, problem)
            self.problems.append(f"{problem}; the claim edits that need it are not run; {found.command}")
        return found

    def side_data_damaged(self) -> bool:
        """Whether some side data or claim edits' tables are damaged (aux_damaged,
        edits_damaged): one test for an intact index, before any per-day question."""
        self._load()
        return bool(self._aux_broken or self._edits_broken)

    def edits_damaged(self, set_id: str) -> DamagedRelease | None:
        """The claim edits' tables of that id (layout.MCE_SET) when installed but damaged."""
        self._load()
        return self._edits_broken.get(set_id)

    def set_aside(self, exc: IndexDataError) -> bool:
        """Stop using the release a damage was found in (until the next reload), noting the
        problem; the other releases keep answering. False when the damage names no release
        in use (nothing to set aside)."""
        folder = getattr(exc, "folder", None)
        loaded = self._load()
        # True only when the damage is new: callers that try again then read without it.
        if isinstance(exc, AuxDamaged) and exc.name in _AUX_USE:  # only what its side data holds is set aside
            rel = next((r for r in self.releases() if r.path == folder), None)
            return rel is not None and (folder, exc.name) not in self._aux_broken and self.aux_damaged(rel, exc.name) is not None
        if folder is not None and folder.parent.parent == self.root / layout.EDITS_DIR:
            new = folder.parent.name not in self._edits_broken
            self.edits_damage(folder, folder.parent.name, exc.problem if isinstance(exc, IndexCorrupt) else str(exc))
            return new
        for set_id, rels in loaded.items():
            if not any(r.path == folder for r in rels):
                continue
            # The releases that share the damaged file go with it: the same bytes, one message.
            folders = {folder, *getattr(exc, "linked", ())}
            problem = exc.problem if isinstance(exc, IndexCorrupt) else str(exc)
            for gone in [r for r in rels if r.path in folders]:
                # What is wrong, with the one command that rebuilds this release (not the
                # generic hint the reader adds where it cannot tell which).
                damaged = DamagedRelease.of(gone.path, set_id, problem, gone.manifest)
                self._broken.setdefault(set_id, []).append(damaged)
                if gone.path == folder:
                    self.problems.append(damaged.message)
                    self._damaged.setdefault(set_id, self.problems[-1])
            kept = [r for r in rels if r.path not in folders]
            if kept:
                loaded[set_id] = kept
            else:
                del loaded[set_id]
            return True
        return False

    def is_empty(self) -> bool:
        return not self._load()

    def problem(self, set_id: str) -> str | None:
        """Why a release of this set could not be opened (missing or damaged manifest, ...)."""
        self._load()
        return self._damaged.get(set_id)

    def damaged_sets(self) -> frozenset[str]:
        """The sets with a release that is installed but cannot be used."""
        self._load()
        return frozenset(s for s, broken in self._broken.items() if broken)

    def damaged_for(self, set_id: str, day: dt.date) -> DamagedRelease | None:
        """The damaged release that would answer for this day, had it been readable: one in
        force that took effect after the readable release in force (release_for's rule: the
        latest wins), else one whose days are unknown when no readable release is in force.
        Its codes on that day cannot be verified; a neighbour must not answer for it."""
        self._load()
        broken = self._broken.get(set_id)
        if not broken:
            return None
        choice = self.release_for(set_id, day)
        in_force = choice[0] if choice is not None and choice[1] else None
        floor = (in_force.effective_from or dt.date.min, in_force.label) if in_force is not None else None
        dated = [d for d in broken if d.covers(day)]
        dated.sort(key=lambda d: (d.effective_from or dt.date.min, d.label))
        if dated and (floor is None or (dated[-1].effective_from or dt.date.min, dated[-1].label) > floor):
            return dated[-1]
        if in_force is None:
            return next((d for d in broken if not d.dated), None)
        return None

    def sets(self) -> list[str]:
        return list(self._load())

    def releases(self, set_id: str | None = None) -> list[Release]:
        loaded = self._load()
        if set_id is not None:
            return list(loaded.get(set_id, []))
        return [r for rels in loaded.values() for r in rels]

    def release(self, set_id: str, label: str) -> Release | None:
        return next((r for r in self.releases(set_id) if r.label == label), None)

    def release_for(self, set_id: str, day: dt.date | None = None) -> tuple[Release, bool] | None:
        """The release that answers for a date of service, and whether it is in force then.

        Among releases in force, the one that took effect last wins (an April update over its
        October release). With none in force, the nearest older release answers, else the oldest.
        """
        rels = self.releases(set_id)
        if not rels:
            return None
        day = day or dt.date.today()
        in_force = [r for r in rels if r.covers(day)]
        if in_force:
            return in_force[-1], True
        older = [r for r in rels if r.effective_from is None or r.effective_from <= day]
        return (older[-1] if older else rels[0]), False
