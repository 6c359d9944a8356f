"""Writes one release into its folder, atomically: a half-written index never replaces a good one."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import sys
import zlib
from array import array
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate, chain, compress, count, repeat, tee
from operator import add, attrgetter, is_not, itemgetter, ne, not_, sub
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable, Iterator

import marisa_trie
import orjson

from . import __version__, layout, stage, stamps
from .forked import Helper, HelperFailed
from .model import CODE, HEADER, MODIFIER, CodeRecord, ImportResult, Manifest
from .sources import file_sha256
from .words import word_lines, words_many


class IndexWriteError(Exception):
    pass


def _cannot_write(folder: Path, exc: OSError | None = None) -> IndexWriteError:
    why = f" ({exc.strerror})" if exc is not None and exc.strerror else ""
    return IndexWriteError(
        f"cannot write to the index folder {folder}{why}: choose a folder you can write with "
        "--index-dir FOLDER or MEDCODE_INDEX_DIR, or ask its owner to update it"
    )


def ensure_writable(root: Path) -> None:
    """Fail early, before a long import, when the index folder cannot be written."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(root, exc) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise _cannot_write(root)


_BUILDING_SUFFIX_BYTES = 6  # random bytes ending a .building folder's name (in hex)


def _building_folder(set_dir: Path, label: str) -> Path:
    """A new folder to build a release in. mkdir, unlike tempfile.mkdtemp (0700), honours the
    umask: a shared index folder must stay readable by the other users who check files with it.
    Named with the building process's id: when a build worker has to be killed, the process
    that ran it removes what it left (remove_building)."""
    tmp = set_dir / f".building-{label}-{os.getpid()}-{os.urandom(_BUILDING_SUFFIX_BYTES).hex()}"
    try:
        set_dir.mkdir(exist_ok=True)
        tmp.mkdir()
    except OSError as exc:
        raise _cannot_write(set_dir, exc) from None
    return tmp


def remove_building(root: Path, pid: int) -> None:
    """Remove the .building folders (_building_folder) the process `pid`, now gone, left under
    an index folder: in each set's folder and in the claim edits' (layout.EDITS_DIR)."""
    root = Path(root)
    pattern = f".building-*-{pid}-{'?' * 2 * _BUILDING_SUFFIX_BYTES}"
    for folder in [*root.glob(f"*/{pattern}"), *root.glob(f"{layout.EDITS_DIR}/*/{pattern}")]:
        shutil.rmtree(folder, ignore_errors=True)


def remove_release(folder: Path) -> None:
    """Remove an installed release: first moved aside in one step, so readers see it either
    whole or gone, then deleted."""
    folder = Path(folder)
    if not os.access(folder.parent, os.W_OK | os.X_OK):
        raise _cannot_write(folder.parent)
    aside = folder.with_name(f".removing-{folder.name}-{os.urandom(4).hex()}")
    try:
        os.rename(folder, aside)
    except OSError as exc:
        raise _cannot_write(folder.parent, exc) from None
    shutil.rmtree(aside, ignore_errors=True)


_PART_JOIN = " \u2014 "


def _dumps_all(values: Iterable[Any]) -> list[bytes]:
    """orjson.dumps of each value, copied into a bytes object of its own size: orjson's result
    keeps a buffer of about 4 KB, so the documents a build holds until they are written (a
    quarter of a million NDC records) took 1.4 GB, and touching that memory cost more time
    than the copy (0.26 s against 0.95 s for 244,000 documents). In C passes (bytes of a
    memoryview copies; the original is dropped at once), not a Python call per document."""
    return list(map(bytes, map(memoryview, map(orjson.dumps, values))))


# The compact word index's form (_write_word_index), part of _Texts.key: a word index shipped
# for an older form is then computed again, not installed.
WORD_INDEX_FORM = "medcode compact word index 1"


@dataclass(slots=True)
class _Texts:
    """What the word index reads of the records (in id order), as plain lists: a helper
    process gets them as one message (forked.Helper.hand_over), not the records."""

    descriptions: list[str]
    shorts: list[str | None]
    terms: list[list[str]]
    groups: list[str | None]  # CodeRecord.group

    @classmethod
    def of(cls, records: list[CodeRecord]) -> _Texts:
        return cls(*(list(map(attrgetter(name), records)) for name in ("description", "short", "terms", "group")))

    def picked(self, ids: list[int]) -> _Texts:
        return _Texts(*(list(map(column.__getitem__, ids)) for column in (self.descriptions, self.shorts, self.terms, self.groups)))

    def message(self) -> tuple:
        """The texts as one message for a helper process (of_message reads it): the shorts,
        terms and groups as runs of neighbours holding one object (_runs). An NDC product's
        packages share one brand, one terms list and one group key, which marshal would copy
        for each package, and the helper would hold as copies."""
        return (self.descriptions, *map(_runs, (self.shorts, self.terms, self.groups)))

    def key(self) -> str:
        """SHA-256 of exactly what the word index is made of (_write_word_index is a function
        of these texts in id order, and of nothing else): a word index made for the same key
        is the one this release would get (defaults/ndc_words.py ships one). Each column as
        one JSON array (0.13 s for the NDC directory's, and 0.03 s to hash them), after a tag
        naming the word index's form, to be changed whenever _write_word_index writes another."""
        import hashlib  # here: libcrypto is megabytes a `medcode check` (which imports this) never needs

        digest = hashlib.sha256(WORD_INDEX_FORM.encode())
        for column in (self.descriptions, self.shorts, self.terms, self.groups):
            digest.update(orjson.dumps(column))
        return digest.hexdigest()

    @classmethod
    def of_message(cls, message: tuple) -> _Texts:
        descriptions, *columns = message
        return cls(descriptions, *(list(chain.from_iterable(map(repeat, heads, array(layout.OFFSET_TYPE, lengths)))) for heads, lengths in columns))


_NOTHING = object()


def _runs(column: list) -> tuple[list, bytes]:
    """A column as runs of neighbours holding the same object: each run's object and its
    length (uint32 bytes). An NDC product's packages are neighbours in id order, so each
    object is sent about once (135,663 runs for 127,949 products' objects); numbering each
    column's distinct objects by identity instead (a dict of their ids) took 0.85 s of the
    hand-over, on the way to the word index, runs 0.47 s (load 11)."""
    n = len(column)
    starts = list(compress(range(n), map(is_not, column, chain((_NOTHING,), column))))
    return list(map(column.__getitem__, starts)), array(layout.OFFSET_TYPE, map(sub, chain(starts[1:], (n,)), starts)).tobytes()


def _vocabularies(texts: _Texts) -> tuple[list[set[str]], list[int]]:
    """Per record the words the word index lists it under (_word_lists), once each, and its rank."""
    word_lists, ranks = _word_lists(texts)
    return list(map(set, word_lists)), ranks


def _word_lists(texts: _Texts) -> tuple[list[list[str]], list[int]]:
    """Per record the words the word index lists it under (its description's, short's and
    terms'; a word may come twice), and its rank (the number of words in its description).
    Every record's texts are cut at once (words_many): cut one by one, ICD-10-CM's took a
    second of its build."""
    word_lists = words_many(texts.descriptions)
    ranks = list(map(min, map(len, word_lists), repeat(0xFFFF)))
    # A short description and terms are cut as one text per record: no word spans a space.
    shorts, terms = texts.shorts, texts.terms
    more = [i for i, (short, its_terms) in enumerate(zip(shorts, terms)) if short or its_terms]
    extra = [" ".join(filter(None, (shorts[i], *terms[i]))) for i in more]
    deque(map(list.extend, map(word_lists.__getitem__, more), words_many(extra)), maxlen=0)
    return word_lists, ranks


_FIRST_OF_GROUP = itemgetter(1)  # of _Groups.assign's (number, first part, short, terms)
_BEFORE_JOIN, _AFTER_JOIN = itemgetter(0), itemgetter(2)  # of a description's partition(_PART_JOIN)
_FIRST = itemgetter(0)


class _Groups:
    """The words records share by group (CodeRecord.group: an NDC product's packages), listed in
    the postings once per group under the id n + group number instead of once per record: half
    of the NDC directory's 4.7 million postings repeated a product's words for each package."""

    def __init__(self, n: int, texts: _Texts):
        self.n = n
        self.members: list[array] = []  # per group, its record ids (ascending: encoded in id order)
        self.postings: dict[str, list[int]] = {}  # word -> group ids (ascending)
        # group key -> its number, and the first part, short and terms it was made from
        self._by_key: dict[str, tuple[int, str, str | None, list[str]]] = {}
        # The descriptions' first parts and, cut into words all at once (word_lines, words_many;
        # the first parts once per distinct text), in the order the records are encoded. The
        # records' own words are kept as lines, split when read (assign).
        parts = list(map(str.partition, texts.descriptions, repeat(_PART_JOIN)))
        self._firsts = list(map(_BEFORE_JOIN, parts))
        self._own_lines = word_lines(list(map(_AFTER_JOIN, parts)))
        del parts
        firsts = list(dict.fromkeys(compress(self._firsts, map(is_not, texts.groups, repeat(None)))))
        self._first = dict(zip(firsts, words_many(firsts)))

    def assign(self, texts: _Texts) -> tuple[Iterable[Iterable[str]], list[int]]:
        """Per record (ids in ascending order) the words the word index lists it under (an
        iterator when every record is grouped: each record's set is made as _postings reads
        it, and dropped then: the NDC packages' quarter of a million sets, held at once,
        took 45,000 page faults; the ranks are then complete once it has been read), and
        its rank: for a record that carries its group's words (its description's first part,
        short and terms are its group's), only its own words beyond them, the group being
        listed once (`postings`, `members`); any other record is indexed on its own
        (_vocabularies). The only loop per record finds its group; the words are cut,
        merged and listed in bulk passes."""
        total = len(texts.descriptions)
        by_key, members = self._by_key, self.members
        made: list[tuple[int, str, str | None, list[str]]] = []  # per group: number, first, short, terms
        number_of: list[int | None] = [None] * total
        for i, (key, short, terms, first) in enumerate(zip(texts.groups, texts.shorts, texts.terms, self._firsts)):
            if key is None:
                continue
            g = by_key.get(key)
            if g is None:
                g = by_key[key] = (len(made), first, short, terms)
                made.append(g)
                members.append(array(layout.OFFSET_TYPE))
            if first == g[1] and short == g[2] and terms == g[3]:
                number_of[i] = g[0]
                members[g[0]].append(i)
        # Each group's words: its first part's, its short's and its terms' (those two cut as
        # one text per group: no word spans the space that joins them).
        first_words = list(map(self._first.__getitem__, map(_FIRST_OF_GROUP, made)))
        extras = word_lines([" ".join(filter(None, (short, *terms))) for _, _, short, terms in made])
        group_words = list(map(set, map(add, first_words, map(str.split, extras))))
        del extras
        group_counts = list(map(len, first_words))
        self.postings = _postings(group_words, self.n)
        # The grouped records: their own words beyond their group's; rank counts both.
        grouped = list(map(is_not, number_of, repeat(None)))
        ids = list(compress(range(total), grouped))
        numbers = list(compress(number_of, grouped))
        # Each record's line is cut once, as its set is made; its word count (for its rank) is
        # taken in step (tee, zip), so neither its words nor its set outlive _postings' read.
        own = self._own_lines if len(ids) == total else list(map(self._own_lines.__getitem__, ids))
        counted, cut = tee(map(str.split, own))
        own_ranks: list[int] = []
        ranked = map(own_ranks.append, map(min, map(add, map(group_counts.__getitem__, numbers), map(len, counted)), repeat(0xFFFF)))
        own_vocabs = map(_FIRST, zip(map(set.difference, map(set, cut), map(group_words.__getitem__, numbers)), ranked))
        if len(ids) == total:
            return own_vocabs, own_ranks  # the ranks complete once the vocabularies are read
        own_vocabs = list(own_vocabs)
        vocabs: list[Iterable[str]] = [()] * total
        ranks = [0] * total
        for i, vocab, rank in zip(ids, own_vocabs, own_ranks):
            vocabs[i], ranks[i] = vocab, rank
        alone = list(compress(range(total), map(not_, grouped)))
        for i, vocab, rank in zip(alone, *_vocabularies(texts.picked(alone))):
            vocabs[i], ranks[i] = vocab, rank
        return vocabs, ranks


# zlib level for compact releases: 3 compresses the NDC directory's 114 MB of documents in
# about two thirds of the time of 6 (the default), for 8% more bytes (27.8 MB against 25.7).
_ZLEVEL = 3


def _write_array(path: Path, values: array) -> None:
    with open(path, "wb") as fh:
        values.tofile(fh)


def _write_keyed(folder: Path, names: tuple[str, str, str], items: dict[str, Any], compact: bool = False) -> None:
    """A trie of keys plus, per trie id, one JSON document."""
    trie_name, idx_name, bin_name = names
    trie = marisa_trie.Trie(list(items), order=marisa_trie.LABEL_ORDER)
    values: list[Any] = [None] * len(trie)
    for value, i in zip(items.values(), map(trie.key_id, items)):
        values[i] = value
    trie.save(str(folder / trie_name))
    if compact:
        _write_zblob(folder / layout.compact(idx_name), folder / layout.compact(bin_name), values)
    else:
        _write_blob(folder / idx_name, folder / bin_name, _dumps_all(values))


def _write_blob(idx_path: Path, bin_path: Path, docs: list[bytes]) -> None:
    _write_blob_offsets(idx_path, bin_path, docs, [])


def _write_zblob(idx_path: Path, bin_path: Path, values: list[Any], to_json: Callable[[Any], Any] | None = None, what: str = "") -> None:
    """Values as JSON documents (of to_json(value) if given) in zlib blocks of
    layout.BLOCK_DOCS, each block the documents joined by a newline (compact JSON never holds
    a raw one). Index: count, block size, block offsets. Each block's documents are made as it
    is compressed, so none are held (plain orjson.dumps, not _dumps_all: dropped at once)."""
    step, level, compress, dumps = layout.BLOCK_DOCS, _ZLEVEL, zlib.compress, orjson.dumps
    blocks: list[bytes] = []
    every = step << 9  # stage updates: about 15 for the NDC directory
    for k in range(0, len(values), step):
        if what and not k % every:
            stage.counted(what, k, len(values))
        chunk = values[k : k + step]
        blocks.append(compress(b"\n".join(map(dumps, map(to_json, chunk) if to_json else chunk)), level))
    _write_blob_offsets(idx_path, bin_path, blocks, [len(values), step])


# Delta lists up to this many bytes are stored as they are: zlib makes them no shorter (its
# header and checksum take 6 bytes) and cost 10 µs each; seven NDC words in ten have one.
_RAW_POSTINGS = 32


def _write_zpostings(idx_path: Path, bin_path: Path, lists: list[array], helper: Helper | None = None) -> None:
    """Per word, its sorted ids as deltas in the narrowest array type behind one byte naming
    that type: zlib-compressed, or for short lists (layout.RAW_DELTA_TYPES) as they are.

    `helper` (a waiting helper of the word index's helper, _start_word_index_helper, whose
    parent has usually written its own part by then and left a core idle): it encodes the
    later half of the ids while this process encodes the rest, each list as it would be
    encoded here (the NDC directory's 3.5 million ids take most of a second)."""
    split = _halfway(lists) if helper is not None else len(lists)
    part_idx, part_bin = (bin_path.with_name(f".{bin_path.name}.{n}") for n in ("part-idx", "part-bin"))
    if split == len(lists) or not helper.hand_over((str(part_idx), str(part_bin), _as_lists(lists[split:]))):
        _write_blob(idx_path, bin_path, _encode_postings(lists))
        return
    try:
        head = _encode_postings(lists[:split])
        helper.join()
    except BaseException:
        helper.abandon()
        raise
    # The later half's blobs appended after this half's as one piece, their offsets moved on.
    offsets = array(layout.OFFSET_TYPE)
    with open(part_idx, "rb") as fh:
        offsets.frombytes(fh.read())
    data = part_bin.read_bytes()
    part_idx.unlink()
    part_bin.unlink()
    _write_blob_offsets(idx_path, bin_path, head, [], (data, offsets))


def _as_lists(lists: list[array]) -> list[list[int]]:
    return [ids if type(ids) is list else list(ids) for ids in lists]  # marshal takes no array


def _postings_part_from(payload: tuple) -> None:
    """The postings helper's work: its part of _write_zpostings, into the part files."""
    part_idx, part_bin, lists = payload
    _write_blob(Path(part_idx), Path(part_bin), _encode_postings(lists))


def _halfway(lists: list[array]) -> int:
    """Where the lists' ids are half behind (the encoding's work goes with the ids)."""
    half, total = sum(map(len, lists)) / 2, 0
    for k, ids in enumerate(lists):
        total += len(ids)
        if total >= half:
            return k + 1
    return len(lists)


def _encode_postings(lists: list[array]) -> list[bytes]:
    out = []
    append, compress, level = out.append, zlib.compress, _ZLEVEL
    for ids in lists:
        deltas = list(map(sub, ids, chain((0,), ids)))
        top = max(deltas)
        code = "B" if top < 0x100 else "H" if top < 0x10000 else layout.OFFSET_TYPE
        data = array(code, deltas).tobytes()
        if len(data) <= _RAW_POSTINGS:
            append(_RAW_CODES[code] + data)
        else:
            append(code.encode() + compress(data, level))
    return out


_RAW_CODES = {code: raw.encode() for raw, code in layout.RAW_DELTA_TYPES.items()}


def _write_blob_offsets(
    idx_path: Path, bin_path: Path, docs: list[bytes], head: list[int], tail: tuple[bytes, array] | None = None
) -> None:
    """The documents one after another, and their offsets (after `head`) as the index.
    `tail`: documents written elsewhere, as their bytes and their offsets from 0, appended
    as they are (the postings helper's part, _write_zpostings), not cut into its documents
    again to be written one by one."""
    ends = list(accumulate(map(len, docs), initial=0))
    if tail is not None:
        data, tail_offsets = tail
        ends += map(ends[-1].__add__, tail_offsets[1:])
    if ends[-1] >= 2**32:
        raise IndexWriteError("release too large for the index format (4 GiB of records)")
    with open(bin_path, "wb") as fh:
        fh.writelines(docs)
        if tail is not None:
            fh.write(data)
    _write_array(idx_path, array(layout.OFFSET_TYPE, head + ends))


def _dedupe(records: Iterable[CodeRecord], warnings: list[str]) -> dict[str, CodeRecord]:
    records = records if isinstance(records, list) else list(records)
    out = _by_code(records)  # in C: no code twice (the usual source)
    if len(out) == len(records):
        return out
    out = {}
    dupes = 0
    for rec in records:
        if rec.code in out:
            dupes += 1
            continue
        out[rec.code] = rec
    if dupes:
        warnings.append(f"{dupes} repeated code(s) in the source; the first of each was kept")
    return out


def write_release(root: Path, result: ImportResult, *, fork: bool = False, helper: Helper | None = None) -> Path:
    """Build the release in a temporary folder beside its target, then move it into place.

    A compact release's word index may be written by a helper process while this one writes
    the rest (forked.py): `helper`, one forked earlier (word_index_helper), or with `fork`,
    one forked now. The parallel build's workers ask for it."""
    if not layout.valid_release_label(result.release):
        raise IndexWriteError(
            f"release label {result.release!r} is not usable as a folder name "
            "(letters, digits, '.', '_' and '-' only)"
        )
    ensure_writable(root)
    set_dir = Path(root) / result.set_id
    target = set_dir / result.release
    tmp = _building_folder(set_dir, result.release)
    try:
        # In the try: a build interrupted (parallel.Stopped) as the helper starts leaves no folder.
        if helper is None and fork and result.compact:
            helper = _start_word_index_helper()
        manifest = _write_into(tmp, result, helper)
        (tmp / layout.MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False))
        _swap_into_place(tmp, target)
        stamps.record(target, list(manifest.files))  # just hashed: the first open need not
    except PermissionError as exc:
        _abandon(helper)
        shutil.rmtree(tmp, ignore_errors=True)
        raise _cannot_write(set_dir, exc) from None
    except HelperFailed as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise IndexWriteError(str(exc)) from None
    except BaseException:
        _abandon(helper)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _abandon(helper: Helper | None) -> None:
    if helper is not None:
        helper.abandon()


@contextmanager
def word_index_helper(fork: bool = True) -> Iterator[Helper | None]:
    """A helper process for write_release(helper=...), forked on entering (None without `fork`
    or where forking is not available): enter it before reading the source, while this
    process is small (forked.Helper.start_waiting). Left unused, it ends with the block; on
    an error it is stopped."""
    helper = _start_word_index_helper() if fork else None
    try:
        yield helper
    except BaseException:
        _abandon(helper)
        raise
    if helper is not None:
        helper.join()  # already joined when write_release used it


def _start_word_index_helper() -> Helper | None:
    """A waiting helper for the word index, which first forks (while it is small too) its own
    waiting helper for half of the postings' encoding (_write_zpostings)."""
    helper, postings = Helper(), Helper()
    # One process group, stopped together: the postings' helper must not outlive an abandoned
    # word index's helper (it would write into the folder being deleted).
    started = helper.start_waiting(
        lambda payload: _word_index_from(payload, postings), first=lambda: postings.start_waiting(_postings_part_from), group=True
    )
    return helper if started else None


def _start_postings_helper() -> Helper | None:
    helper = Helper()
    return helper if helper.start_waiting(_postings_part_from) else None


def _word_index_from(payload: tuple, postings: Helper) -> None:
    """The helper's work: the word index, from what _write_codes_compact handed over."""
    folder, message = payload
    try:
        _write_word_index(Path(folder), _Texts.of_message(message), postings)
    finally:
        postings.join()  # unused when the index was too small to share: it ends now


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE). False where the
    system or file system cannot; raises when b vanished meanwhile (FileNotFoundError)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: a `medcode check` imports this module but never swaps folders

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc before 2.28, musl
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def write_family(root: Path, results: list[ImportResult], progress=None) -> list[Path]:
    """Several releases of one set that share most records (the fiscal years of the embedded
    defaults): the codes, records and word index of their union are written once and
    hard-linked into each release folder (copied where the file system cannot link); each
    release has its own flags, where 0 marks a code that is not in it (reader.py), and its own
    manifest. Every folder is complete on its own, and each is swapped into place atomically.

    A code's record is the same in every release of the family except its kind, which the
    flags carry (I42.0: a code in FY2026, a header in FY2027)."""
    for result in results:
        run_finish(result)
    set_id = results[0].set_id
    ensure_writable(root)
    set_dir = Path(root) / set_id
    set_dir.mkdir(parents=True, exist_ok=True)
    members = [list(result.records) for result in results]
    lead, rests, lead_bits = _split_lead(members)
    # The lead's codes are in no rest (_split_lead): each keeps its one record, taken by code
    # in one C pass (its bits' keys are its codes in order) instead of sorted by kind again.
    union = _union(rests)
    union.update(zip(lead_bits, lead))
    base = _building_folder(set_dir, "shared")
    out = []
    listed: list[tuple[Path, list[str]]] = []  # each release's files, to stamp (stamps.py)
    try:
        trie, records = _write_codes(base, union, results[-1])
        common_aux = _common_aux(results)
        _write_side_stores(base, common_aux, results[0].compact)
        # The files releases of one family share (linked, not copied): what _write_codes wrote
        # (codes, records, rank, words, postings, plain or compact) and the side stores every
        # release holds alike; not flags, meta, manifest.
        shared = sorted(p.name for p in base.iterdir())
        codes_by_id = list(map(_CODE_OF, records))  # records in id order: no key restored from the trie
        del records
        lead_flags = bytearray(map(lead_bits.get, codes_by_id, repeat(0)))
        lead_ended = _ended(lead)
        key_id = trie.key_id
        hashes = {name: {"bytes": (base / name).stat().st_size, "sha256": file_sha256(base / name)} for name in shared}
        for result, recs, rest in zip(results, members, rests):
            if not layout.valid_release_label(result.release):
                raise IndexWriteError(f"release label {result.release!r} is not usable as a folder name")
            tmp = _building_folder(set_dir, result.release)
            try:
                for name in shared:
                    _link(base / name, tmp / name)
                cutoff = _cutoff(result)
                kinds = _kind_bits(rest)
                if len(kinds) == len(rest):
                    # The rest's codes are not in the lead (_split_lead): its bits fill the
                    # lead's zeros, set by trie id (5,000 codes, not a pass over all 98,000).
                    flags = bytearray(lead_flags)
                    for code, bits in kinds.items():
                        flags[key_id(code)] = bits
                    counts = _counts(flags, len(lead) + len(rest))
                    _mark_ended(flags, counts, lead_ended + _ended(rest), cutoff, trie)
                else:  # a code twice in one release: the first counts, the last gives the flags
                    flags, counts = _member_flags_one_by_one(recs, cutoff, trie)
                (tmp / layout.FLAGS).write_bytes(bytes(flags))
                manifest = _finish(tmp, result, counts, list(result.warnings), hashes, written_aux=common_aux)
                manifest.shared = True
                (tmp / layout.MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False))
                target = set_dir / result.release
                _swap_into_place(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            out.append(target)
            listed.append((target, list(manifest.files)))
            if progress:
                progress(result, target, counts["records"])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    # Stamped once every link is made and the shared folder gone: each changed the ctime of
    # the files the releases share.
    for target, files in listed:
        stamps.record(target, files)
    return out


def _common_aux(results: list[ImportResult]) -> dict[str, dict]:
    """The side stores every release of a family holds as one object, alike in form (the
    embedded ICD-10-CM fiscal years' tabular notes, from the one tabular): written and hashed
    once and linked into each release, as the union's files are, not once per release."""
    first = results[0]
    if any(r.compact != first.compact for r in results):
        return {}
    return {name: items for name, items in first.aux.items() if all(r.aux.get(name) is items for r in results)}


# The family's loops over every record of every release (half a million for the defaults) run
# as map/zip/compress over these getters, in C: a Python loop per record cost a second.
_CODE_OF, _KIND_OF, _END_OF = attrgetter("code"), attrgetter("kind"), attrgetter("terminated")


def _by_code(recs: list[CodeRecord]) -> dict[str, CodeRecord]:
    return dict(zip(map(_CODE_OF, recs), recs))


def _kind_bits(recs: list[CodeRecord]) -> dict[str, int]:
    return dict(zip(map(_CODE_OF, recs), map(_KIND_BITS.__getitem__, map(_KIND_OF, recs))))


def _ended(recs: list[CodeRecord]) -> list[CodeRecord]:
    return list(compress(recs, map(_END_OF, recs)))


def _split_lead(members: list[list[CodeRecord]]) -> tuple[list[CodeRecord], list[list[CodeRecord]], dict[str, int]]:
    """The leading records every release of the family lists alike, the same objects in the
    same order (the embedded defaults put
    the codes that never change first: 97% of each fiscal year), and what follows in each. The
    lead is indexed once, not once per release. Empty when a lead code comes again later.
    Also the lead's kind bits by code."""
    first = members[0]
    n = min(map(len, members))
    for m in members[1:]:  # where each first lists another object (compared in C)
        n = next(compress(count(), map(is_not, first[:n], m)), n)
    lead = first[:n]
    bits = _kind_bits(lead)
    if len(bits) != len(lead) or not all(bits.keys().isdisjoint(map(_CODE_OF, m[n:])) for m in members):
        return [], members, {}
    return lead, [m[n:] for m in members], bits


def _union(members: list[list[CodeRecord]]) -> dict[str, CodeRecord]:
    """Every code of the family once: the newest record wins, a code's over a header's (I42.0
    keeps its FY2026 data)."""
    union: dict[str, CodeRecord] = {}
    headers: dict[str, CodeRecord] = {}
    for recs in members:
        kinds = list(map(_KIND_OF, recs))
        union.update(_by_code(list(compress(recs, map(HEADER.__ne__, kinds)))))
        headers.update(_by_code(list(compress(recs, map(HEADER.__eq__, kinds)))))
    headers.update(union)
    return headers


def _counts(flags: bytearray, records: int) -> dict[str, int]:
    """A release's counts from its flags (before any is marked terminated)."""
    return {
        "records": records,
        CODE: flags.count(layout.FLAG_CODE),
        HEADER: flags.count(layout.FLAG_HEADER),
        MODIFIER: flags.count(layout.FLAG_MODIFIER),
        "terminated": 0,
    }


def _mark_ended(flags: bytearray, counts: dict[str, int], ended: list[CodeRecord], cutoff: str | None, trie) -> None:
    for rec in ended:
        if cutoff is None or rec.terminated <= cutoff:
            flags[trie.key_id(rec.code)] |= layout.FLAG_TERMINATED
            counts["terminated"] += 1


def _member_flags_one_by_one(recs: list[CodeRecord], cutoff: str | None, trie) -> tuple[bytearray, dict[str, int]]:
    flags = bytearray(len(trie))
    key_id = trie.key_id
    counts = {"records": 0, CODE: 0, HEADER: 0, MODIFIER: 0, "terminated": 0}
    for rec in recs:
        bits = _KIND_BITS[rec.kind]
        if rec.terminated and (cutoff is None or rec.terminated <= cutoff):
            bits |= layout.FLAG_TERMINATED
            counts["terminated"] += 1
        i = key_id(rec.code)
        if not flags[i]:
            counts["records"] += 1
            counts[rec.kind] += 1
        flags[i] = bits
    return flags, counts


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _swap_into_place(new: Path, target: Path) -> None:
    """Put new at target. Readers never find target missing while a release is installed
    there: it is exchanged with the new folder in one step, and when several imports of the
    same release race, the last to swap wins and each leaves a complete folder."""
    for _ in range(100):
        try:
            os.rename(new, target)  # nothing there yet (or an empty folder)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        try:
            exchanged = _exchange(new, target)
        except FileNotFoundError:
            continue  # removed meanwhile: try the plain rename again
        if exchanged:
            shutil.rmtree(new, ignore_errors=True)  # new now holds the release replaced
            return
        # No atomic exchange here: move the old one aside, leaving a brief gap.
        old = target.with_name(f".replaced-{target.name}-{os.urandom(6).hex()}")
        try:
            os.rename(target, old)
        except FileNotFoundError:
            continue
        try:
            os.rename(new, target)
        finally:
            shutil.rmtree(old, ignore_errors=True)
        return
    raise IndexWriteError(f"{target} kept changing while this release was written; try again")


def _write_into(folder: Path, result: ImportResult, helper: Helper | None = None) -> Manifest:
    repeated: list[str] = []
    by_code = _dedupe(result.records, repeated)
    if not by_code:
        raise IndexWriteError(f"no {result.set_id} codes were found in the source")
    trie, records = _write_codes(folder, by_code, result, helper)
    flags, counts = _flags(records, result, trie)
    (folder / layout.FLAGS).write_bytes(bytes(flags))
    # The importer's warnings as its finish left them (run_finish, in _write_codes).
    return _finish(folder, result, counts, [*result.warnings, *repeated], helper=helper)


def run_finish(result: ImportResult) -> None:
    """The work the importer left to the writer (ImportResult.finish), once."""
    finish, result.finish = result.finish, None
    if finish is not None:
        finish()


_KIND_BITS = {CODE: layout.FLAG_CODE, HEADER: layout.FLAG_HEADER, MODIFIER: layout.FLAG_MODIFIER}


def _cutoff(result: ImportResult) -> str | None:
    """The last day of the release's period: an end date up to it marks a code 'terminated'; a
    scheduled end after it (NDC packages list many) says nothing about the release's own dates."""
    end = result.effective_to or result.effective_from
    return end.isoformat() if end else None


def _code_trie(by_code: dict[str, CodeRecord]) -> marisa_trie.Trie:
    """The release's code trie, whose ids number its records (and so its word index: the
    shipped NDC one is made by write_word_index_of through this too)."""
    return marisa_trie.Trie(list(by_code), order=marisa_trie.LABEL_ORDER)


def _write_codes(folder: Path, by_code: dict[str, CodeRecord], result: ImportResult, helper: Helper | None = None):
    """The code trie, records, ranks and word index; returns the trie and the records in id
    order. A compact release's word index may still be being written by `helper` (see _finish).
    No flags: a family's releases each have their own (write_family), so the union's were
    work thrown away; a single release's are made by _write_into."""
    trie = _code_trie(by_code)
    if result.compact:
        return _write_codes_compact(folder, trie, by_code, result, helper)
    run_finish(result)
    n = len(trie)
    records = _in_id_order(trie, by_code)
    # Every pass runs over all records at once (map, words_many): a Python loop per record,
    # and per word of each, took most of the ICD-10-CM and PCS writes.
    stage.doing(f"indexing the words of {n:,} records")
    word_lists, ranks = _word_lists(_Texts.of(records))
    postings = _unique_ids(_postings(word_lists))
    del word_lists

    trie.save(str(folder / layout.CODES))
    stage.doing(f"writing {n:,} records")
    _write_blob(folder / layout.RECORDS_IDX, folder / layout.RECORDS_BIN, _dumps_all(map(CodeRecord.to_json, records)))
    _write_array(folder / layout.RANK, array(layout.RANK_TYPE, ranks))

    stage.doing(f"writing the word index ({len(postings):,} words)")
    word_trie = marisa_trie.Trie(list(postings), order=marisa_trie.LABEL_ORDER)
    word_trie.save(str(folder / layout.WORDS))
    lists: list[bytes] = [b""] * len(word_trie)
    for w, ids in postings.items():  # each list ascending: the records were read in id order
        lists[word_trie.key_id(w)] = array(layout.OFFSET_TYPE, ids).tobytes()
    _write_blob(folder / layout.POSTINGS_IDX, folder / layout.POSTINGS_BIN, lists)
    return trie, records


def _flags(records: list[CodeRecord], result: ImportResult, trie: marisa_trie.Trie) -> tuple[bytearray, dict[str, int]]:
    """Each record's flags (its kind, and ended before the release's cutoff), in id order, in
    one C pass, with their counts."""
    flags = bytearray(map(_KIND_BITS.__getitem__, map(_KIND_OF, records)))
    counts = _counts(flags, len(records))
    _mark_ended(flags, counts, _ended(records), _cutoff(result), trie)
    return flags, counts


def _in_id_order(trie: marisa_trie.Trie, by_code: dict[str, CodeRecord]) -> list[CodeRecord]:
    records: list[CodeRecord] = [None] * len(trie)  # type: ignore[list-item]
    for rec, i in zip(by_code.values(), map(trie.key_id, by_code)):
        records[i] = rec
    return records


def _postings(vocabs: Iterable[Iterable[str]], first: int = 0) -> defaultdict[str, list[int]]:
    """Each word's ids (`first` on, in the order of `vocabs`: ascending), each id appended to
    its words' lists in one C pass. `vocabs` may be an iterator (read once, in step: tee)."""
    lists: defaultdict[str, list[int]] = defaultdict(list)
    words, sizes = tee(vocabs)
    deque(
        map(list.append, map(lists.__getitem__, chain.from_iterable(words)), chain.from_iterable(map(repeat, count(first), map(len, sizes)))),
        maxlen=0,
    )
    return lists


def _unique_ids(postings: dict[str, list[int]]) -> dict[str, list[int]]:
    """Postings made from word lists that may name a word twice for one record: its id is then
    twice in a row in the word's list (ascending), kept once. Each id is kept where it differs
    from the one before it, in C passes (compress over a compare with the list shifted by one):
    15-20% less than dict.fromkeys' hashing of every id (ICD-10-CM's 925,000, PCS's 744,000),
    which in turn cost less than a set of words per record (ICD-10-CM, PCS: 100,000 sets)."""
    for w, ids in postings.items():
        if len(ids) > 1:
            postings[w] = list(compress(ids, map(ne, ids, chain((-1,), ids))))
    return postings


def _write_codes_compact(
    folder: Path, trie: marisa_trie.Trie, by_code: dict[str, CodeRecord], result: ImportResult, helper: Helper | None = None
):
    """_write_codes for a compact release (layout.py). Records are encoded in id order, so each
    zlib block is compressed as soon as its documents are made (none are held: a quarter of a
    million for the NDC directory), and each word's ids come out ascending (no sorting). With
    a `helper`, the word index is written by that process meanwhile, from the records' texts
    handed over (joined before the manifest lists the files)."""
    n = len(trie)
    records = _in_id_order(trie, by_code)
    texts = _Texts.of(records)
    installed = result.word_index is not None and result.word_index(folder, texts.key())
    if installed:
        forked = False
        if helper is not None:
            helper.join()  # forked in case the shipped index did not fit: it ends unused now
    else:
        stage.doing(f"handing the texts of {n:,} records to the word index's process")
        forked = helper is not None and helper.hand_over((str(folder), texts.message()))
    # What the importer left for the documents and side stores (after the hand-over: the word
    # index needs none of it, and the helper writes it meanwhile).
    run_finish(result)
    if not installed and not forked:
        _write_word_index(folder, texts)
    # A quarter of a million NDC packages: every pass below runs over all records at once
    # (map, chain, C-level appends) rather than a Python loop doing it all per record.
    _write_zblob(folder / layout.RECORDS_ZIDX, folder / layout.RECORDS_ZBIN, records, CodeRecord.to_json, "indexing records:")
    trie.save(str(folder / layout.CODES))
    return trie, records


def write_word_index_of(folder: Path, records: list[CodeRecord]) -> str:
    """The word index a compact release of `records` gets (as write_release numbers and
    writes them), into `folder`; returns its key (_Texts.key). For defaults/generate.py,
    which ships the embedded NDC release's."""
    by_code = _dedupe(records, [])
    texts = _Texts.of(_in_id_order(_code_trie(by_code), by_code))
    _write_word_index(folder, texts)
    return texts.key()


def _write_word_index(folder: Path, texts: _Texts, postings_helper: Helper | None = None) -> None:
    """A compact release's ranks and word index (words, postings, groups), records in id order.
    `postings_helper`: encodes part of the postings (_write_zpostings)."""
    n = len(texts.descriptions)
    stage.doing(f"indexing the words of {n:,} records")
    groups = _Groups(n, texts)
    vocabs, ranks = groups.assign(texts)
    lists = _postings(vocabs)  # each word's record ids, ascending: the records in id order
    _write_array(folder / layout.RANK, array(layout.RANK_TYPE, ranks))  # complete now (assign)
    del vocabs, ranks
    # Record ids, then group ids: both ascending, and every record id is below every group id.
    postings: dict[str, list[int] | array] = lists
    for w, gids in groups.postings.items():
        ids = lists.get(w)
        if ids is None:
            postings[w] = gids
        else:
            ids.extend(gids)
    stage.doing(f"writing the word index ({len(postings):,} words)")
    word_trie = marisa_trie.Trie(list(postings), order=marisa_trie.LABEL_ORDER)
    word_trie.save(str(folder / layout.WORDS))
    id_lists: list[array] = [array(layout.OFFSET_TYPE)] * len(word_trie)
    for w, ids in postings.items():
        id_lists[word_trie.key_id(w)] = ids
    _write_zpostings(folder / layout.POSTINGS_ZIDX, folder / layout.POSTINGS_ZBIN, id_lists, postings_helper)
    if groups.members:
        _write_blob(folder / layout.GROUPS_IDX, folder / layout.GROUPS_BIN, [m.tobytes() for m in groups.members])


def _write_side_stores(folder: Path, aux: dict[str, dict], compact: bool) -> None:
    for name, items in aux.items():
        stage.doing(f"writing the {name} side store ({len(items):,} entries)")
        _write_keyed(folder, layout.aux_files(name), items, compact)


def _finish(
    folder: Path,
    result: ImportResult,
    counts: dict[str, int],
    warnings: list[str],
    hashes: dict | None = None,
    helper: Helper | None = None,
    written_aux: dict | None = None,
) -> Manifest:
    """`written_aux`: side stores already in the folder (a family's shared ones, write_family)."""
    _write_side_stores(folder, {name: items for name, items in result.aux.items() if not written_aux or name not in written_aux}, result.compact)
    for name, keys in result.key_sets.items():
        key_trie = marisa_trie.Trie(keys)
        key_trie.save(str(folder / layout.key_set_file(name)))
        counts[name] = len(key_trie)
    (folder / layout.META).write_text(json.dumps(result.meta, ensure_ascii=False, separators=(",", ":")))
    if helper is not None and helper.running:
        stage.doing("waiting for the word index")
        helper.join()  # its files are listed below

    hashes = hashes or {}
    files = {
        p.name: hashes.get(p.name) or {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
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
