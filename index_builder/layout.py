"""The on-disk layout of one release: file names, flag bits, and the fixed-width arrays.

One folder per code set and release (``<root>/<set>/<release>/``) holds:

- ``manifest.json``: provenance, counts, and the size and SHA-256 of every other file;
- ``codes.marisa``: a marisa Trie (label order, so prefix listings come out sorted) of the keys;
- ``records.idx`` / ``records.bin``: per trie id, the record as compact UTF-8 JSON;
- ``flags.bin``: one byte per id (kind and termination bits) for look-ups that need no text;
- ``rank.bin``: per id, the number of words in the description (shorter ranks first);
- ``words.marisa`` + ``postings.idx`` / ``postings.bin``: the description word index;
- ``aux-<name>.marisa`` / ``.idx`` / ``.bin``: keyed side stores (PCS tables, NDC products);
- ``keys-<name>.marisa``: key-only side tries whose keys carry their data (NCCI code pairs:
  1.4 million "column 1, column 2, indicator, dates" keys, found by prefix, no record files);
- ``meta.json``: small per-release data (ICD-10-CM chapters and sections);
- ``.stamps.json``: per file, its stat when its hash was last checked (stamps.py).

A compact release (``ImportResult.compact``: the NDC directory, a quarter of a million
near-identical package records) stores its record and side-store blobs as ``.zidx`` / ``.zbin``
instead: zlib blocks of ``BLOCK_DOCS`` documents (neighbours in key order share most of their
text), the index holding the document count, the block size and the block offsets; and its
postings as ``postings.zidx`` / ``.zbin``: per word, zlib of the delta-coded id list, the first
byte naming the array type of the deltas (a short list is stored without zlib, behind a
lower-case type byte: RAW_DELTA_TYPES). Where records share words by group
(``CodeRecord.group``: an NDC product's packages), an id from the record count on names a group,
and ``groups.idx`` / ``groups.bin`` list per group its record ids (uint32): the product's words
are listed once, not once per package. Readers tell the two kinds apart by the file names
the manifest lists.

Arrays are native-endian; the manifest records the byte order so another machine refuses them
clearly instead of reading nonsense.
"""

from __future__ import annotations

import re

FORMAT_VERSION = 1

# The claim edits' MCE tables: a release beside the code sets, not one of them (mce_index.py).
EDITS_DIR = ".edits"
MCE_SET = "mce"

MANIFEST = "manifest.json"
META = "meta.json"
# Per file, its stat when its SHA-256 was last found to match the manifest (stamps.py); not
# listed in the manifest, rewritten as files are checked.
STAMPS = ".stamps.json"
CODES = "codes.marisa"
RECORDS_IDX = "records.idx"
RECORDS_BIN = "records.bin"
FLAGS = "flags.bin"
RANK = "rank.bin"
WORDS = "words.marisa"
POSTINGS_IDX = "postings.idx"
POSTINGS_BIN = "postings.bin"

RECORDS_ZIDX = "records.zidx"
RECORDS_ZBIN = "records.zbin"
POSTINGS_ZIDX = "postings.zidx"
POSTINGS_ZBIN = "postings.zbin"
GROUPS_IDX = "groups.idx"
GROUPS_BIN = "groups.bin"
BLOCK_DOCS = 32  # documents per zlib block: ~7 KB of NDC records, ~30 µs to inflate

FLAG_CODE = 1
FLAG_HEADER = 2
FLAG_MODIFIER = 4
FLAG_TERMINATED = 8

OFFSET_TYPE = "I"  # uint32 offsets and ids
# Compact postings: the type byte of a delta list stored without zlib (a short one), and the
# array type of its deltas.
RAW_DELTA_TYPES = {"b": "B", "h": "H", "i": OFFSET_TYPE}
RANK_TYPE = "H"  # uint16


def aux_files(name: str) -> tuple[str, str, str]:
    return f"aux-{name}.marisa", f"aux-{name}.idx", f"aux-{name}.bin"


def compact(name: str) -> str:
    """The compact twin of a blob file name: records.bin -> records.zbin."""
    stem, _, ext = name.rpartition(".")
    return f"{stem}.z{ext}"


def key_set_file(name: str) -> str:
    return f"keys-{name}.marisa"


_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def valid_release_label(label: str) -> bool:
    """Release labels name folders, so they are kept to a portable file-name alphabet."""
    return bool(_LABEL_RE.match(label)) and ".." not in label
