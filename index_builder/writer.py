"""Writes one release into its folder, atomically: a half-written index never replaces a good one."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from array import array
from collections import defaultdict
from pathlib import Path
from typing import Any
from collections.abc import Iterable

import marisa_trie
import orjson

from . import __version__, layout
from .model import CODE, HEADER, MODIFIER, CodeRecord, ImportResult, Manifest
from .sources import file_sha256
from .words import words


class IndexWriteError(Exception):
    pass




def _flags(rec: CodeRecord, cutoff: str | None) -> int:
    """Kind bits, plus 'terminated' for an end date within the release's period: a scheduled
    end after it (NDC packages list many) says nothing about the release's own dates."""
    bits = {CODE: layout.FLAG_CODE, HEADER: layout.FLAG_HEADER, MODIFIER: layout.FLAG_MODIFIER}[rec.kind]
    if rec.terminated and (cutoff is None or rec.terminated <= cutoff):
        bits |= layout.FLAG_TERMINATED
    return bits


def _write_array(path: Path, values: array) -> None:
    with open(path, "wb") as fh:
        values.tofile(fh)


def _write_keyed(folder: Path, names: tuple[str, str, str], items: dict[str, Any]) -> None:
    """A trie of keys plus, per trie id, one JSON document."""
    trie_name, idx_name, bin_name = names
    trie = marisa_trie.Trie(list(items), order=marisa_trie.LABEL_ORDER)
    docs: list[bytes] = [b""] * len(trie)
    for key, value in items.items():
        docs[trie.key_id(key)] = orjson.dumps(value)
    trie.save(str(folder / trie_name))
    _write_blob(folder / idx_name, folder / bin_name, docs)


def _write_blob(idx_path: Path, bin_path: Path, docs: list[bytes]) -> None:
    offsets = array(layout.OFFSET_TYPE, [0])
    with open(bin_path, "wb") as fh:
        pos = 0
        for doc in docs:
            fh.write(doc)
            pos += len(doc)
            offsets.append(pos)
    if pos >= 2**32:
        raise IndexWriteError("release too large for the index format (4 GiB of records)")
    _write_array(idx_path, offsets)


def _dedupe(records: Iterable[CodeRecord], warnings: list[str]) -> dict[str, CodeRecord]:
    out: dict[str, CodeRecord] = {}
    dupes = 0
    for rec in records:
        if rec.code in out:
            dupes += 1
            continue
        out[rec.code] = rec
    if dupes:
        warnings.append(f"{dupes} repeated code(s) in the source; the first of each was kept")
    return out


def write_release(root: Path, result: ImportResult) -> Path:
    """Build the release in a temporary folder beside its target, then move it into place."""
    if not layout.valid_release_label(result.release):
        raise IndexWriteError(
            f"release label {result.release!r} is not usable as a folder name "
            "(letters, digits, '.', '_' and '-' only)"
        )
    set_dir = Path(root) / result.set_id
    set_dir.mkdir(parents=True, exist_ok=True)
    target = set_dir / result.release
    tmp = Path(tempfile.mkdtemp(prefix=f".building-{result.release}-", dir=set_dir))
    try:
        manifest = _write_into(tmp, result)
        (tmp / layout.MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False))
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _swap_into_place(new: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".replaced-{target.name}-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_into(folder: Path, result: ImportResult) -> Manifest:
    warnings = list(result.warnings)
    by_code = _dedupe(result.records, warnings)
    if not by_code:
        raise IndexWriteError(f"no {result.set_id} codes were found in the source")

    trie = marisa_trie.Trie(list(by_code), order=marisa_trie.LABEL_ORDER)
    n = len(trie)
    docs: list[bytes] = [b""] * n
    flags = bytearray(n)
    rank = array(layout.RANK_TYPE, [0]) * n
    postings: dict[str, list[int]] = defaultdict(list)
    counts = {"records": n, CODE: 0, HEADER: 0, MODIFIER: 0, "terminated": 0}
    end = result.effective_to or result.effective_from
    cutoff = end.isoformat() if end else None
    for code, rec in by_code.items():
        i = trie.key_id(code)
        docs[i] = orjson.dumps(rec.to_json())
        flags[i] = _flags(rec, cutoff)
        desc_words = words(rec.description)
        rank[i] = min(len(desc_words), 0xFFFF)
        counts[rec.kind] += 1
        if flags[i] & layout.FLAG_TERMINATED:
            counts["terminated"] += 1
        vocab = set(desc_words)
        if rec.short:
            vocab.update(words(rec.short))
        for term in rec.terms:
            vocab.update(words(term))
        for w in vocab:
            postings[w].append(i)

    trie.save(str(folder / layout.CODES))
    _write_blob(folder / layout.RECORDS_IDX, folder / layout.RECORDS_BIN, docs)
    (folder / layout.FLAGS).write_bytes(bytes(flags))
    _write_array(folder / layout.RANK, rank)

    word_trie = marisa_trie.Trie(list(postings), order=marisa_trie.LABEL_ORDER)
    lists: list[bytes] = [b""] * len(word_trie)
    for w, ids in postings.items():
        lists[word_trie.key_id(w)] = array(layout.OFFSET_TYPE, sorted(ids)).tobytes()
    word_trie.save(str(folder / layout.WORDS))
    _write_blob(folder / layout.POSTINGS_IDX, folder / layout.POSTINGS_BIN, lists)

    for name, items in result.aux.items():
        _write_keyed(folder, layout.aux_files(name), items)
    for name, keys in result.key_sets.items():
        key_trie = marisa_trie.Trie(keys)
        key_trie.save(str(folder / layout.key_set_file(name)))
        counts[name] = len(key_trie)
    (folder / layout.META).write_text(json.dumps(result.meta, ensure_ascii=False, separators=(",", ":")))

    files = {
        p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.iterdir())
        if p.is_file()
    }
    return Manifest(
        format=layout.FORMAT_VERSION,
        set_id=result.set_id,
        release=result.release,
        title=result.title,
        effective_from=result.effective_from.isoformat() if result.effective_from else None,
        effective_to=result.effective_to.isoformat() if result.effective_to else None,
        complete=result.complete,
        source=result.source,
        counts=counts,
        builder=f"medcode-ls {__version__}",
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        files=files,
        aux=sorted(result.aux),
        warnings=warnings,
        byteorder=sys.byteorder,
        key_sets=sorted(result.key_sets),
    )
