"""The embedded NDC release's word index, shipped: made by generate.py with the writer's own
code (writer.write_word_index_of) from the digest it has just written, and installed by
`medcode index build` instead of being computed (5.5 s of CPU, the default build's longest
piece of work), when it is provably the one the build would compute.

It is a function of the records' texts in id order and nothing else (writer._Texts.key), so
SOURCES.json records that key ("ndc" -> "word_index_key"), and the build installs the files
only when the texts it is writing have the same key. Any other build (another marisa-trie
numbering the codes otherwise, a digest read differently, a word index of another form)
computes the word index as before. The files' SHA-256 are checked like the other outputs': a
damaged file stops the NDC step with a message naming it (as a damaged digest does), never a
wrong index.

Compressed with xz where that pays (0.4 MB for 2.3 MB of ranks, groups, offsets and trie);
the postings are zlib blocks already and ship as they are (3.0 MB).
"""

from __future__ import annotations

import lzma
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from .. import layout, stage
from ..model import CodeRecord
from ..sources import SourceError
from .data_files import DATA_DIR, NOT_AS_RECORDED, as_recorded, sources

# Each word-index file of the release (writer.WORD_INDEX_FILES) -> the data file shipping it.
SHIPPED = {
    layout.RANK: "ndc_index_rank.bin.xz",
    layout.WORDS: "ndc_index_words.marisa.xz",
    layout.POSTINGS_ZIDX: "ndc_index_postings.zidx.xz",
    layout.POSTINGS_ZBIN: "ndc_index_postings.zbin",
    layout.GROUPS_IDX: "ndc_index_groups.idx.xz",
    layout.GROUPS_BIN: "ndc_index_groups.bin.xz",
}
KEY = "word_index_key"  # in SOURCES.json's "ndc" section


def write(records: list[CodeRecord]) -> tuple[dict[str, bytes], str]:
    """The shipped files' bytes by data file name, and the key of the texts they index."""
    from ..writer import write_word_index_of

    with tempfile.TemporaryDirectory(prefix="medcode-ndc-words-") as tmp:
        folder = Path(tmp)
        key = write_word_index_of(folder, records)
        made = sorted(p.name for p in folder.iterdir())
        if made != sorted(SHIPPED):  # e.g. no groups: records that share no words by group
            raise ValueError(f"the word index is written as {made}, not as the files shipped ({sorted(SHIPPED)})")
        files = {}
        for name, shipped in SHIPPED.items():
            data = (folder / name).read_bytes()
            files[shipped] = lzma.compress(data, preset=9) if shipped.endswith(".xz") else data
    return files, key


def installer(folder: Path = DATA_DIR):
    """What ImportResult.word_index takes for the digest in `folder`: None when its
    SOURCES.json names no shipped word index (the word index is then computed)."""
    info = sources(folder)
    key = info.get("ndc", {}).get(KEY)
    return None if key is None else partial(install, data_dir=folder, info=info, key=key)


def install(release: Path, texts_key: str, *, data_dir: Path, info: dict[str, Any], key: str) -> bool:
    """Put the shipped word index into `release` when it was made for texts of `texts_key`;
    False (nothing written) when not. A damaged file raises SourceError naming it."""
    if texts_key != key:
        return False
    stage.doing("installing the shipped word index")
    outputs = info["outputs"]
    for name, shipped_name in SHIPPED.items():
        path = data_dir / shipped_name
        try:
            data = path.read_bytes()
            if not as_recorded(data, outputs[shipped_name]):
                raise ValueError(f"it {NOT_AS_RECORDED}")
            if shipped_name.endswith(".xz"):
                data = lzma.decompress(data)
        except (OSError, KeyError, ValueError, lzma.LZMAError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise SourceError(f"the embedded NDC word index file {path} cannot be used ({why}); reinstall medcode-ls") from exc
        (release / name).write_bytes(data)
    return True
