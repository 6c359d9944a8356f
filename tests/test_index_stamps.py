"""A file of the index written in place after the build, its size kept (random bytes over a
part of it, as a stray write or a bad copy leaves), is found before its answers are used:
on the next open in a fresh process, and in a running language server on its next use. It
is said as damage met while reading is (the file, what is not done, the rebuild command).
Found by stamps.py: a write moves a file's ctime, and a file whose stat moved is hashed.

An intact copy of the index (new inodes: hashed once) reads clean, as does an index built
before the stamps or a folder that cannot be written."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_session import place, start, stop
from medcode.index_builder import layout, stamps
from medcode.index_builder.reader import IndexStore
from medcode.server.lsp.server import RECHECK_REQUESTS_S
from official_layouts import claim_837p

DAY = dt.date(2026, 3, 10)  # FY2026
REBUILD = "`medcode index build --set icd10cm`"
# Where the damage goes, and what the message says is not done beyond the release's codes.
FILES = {
    "trie": ("icd10cm/FY2026/codes.marisa", ""),
    "records": ("icd10cm/FY2026/records.bin", ""),
    "postings": ("icd10cm/FY2026/postings.bin", ""),
    "aux": ("icd10cm/FY2026/aux-tabular-edits.bin", "the tabular edits"),
    "mce": (".edits/mce/*/records.bin", "the claim edits that need it are not run"),
}


def _copy(default_index: Path, tmp_path: Path) -> Path:
    """A copy (new inodes), given the clock tick that lets its stamps be trusted (stamps.py)."""
    index = tmp_path / "idx"
    shutil.copytree(default_index, index)
    time.sleep(0.05)
    return index


def _file(index: Path, which: str) -> Path:
    (path,) = index.glob(FILES[which][0])
    return path


def _damage(path: Path) -> None:
    """4 KB of random bytes written over the middle of the file: same inode, same size."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(os.urandom(min(4096, size - size // 2)))


def _medcode(index: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(index)}
    return subprocess.run([sys.executable, "-m", "medcode.server", *args], env=env, capture_output=True, text=True, timeout=120)


def _hashes(monkeypatch) -> list[Path]:
    """The files read to hash them from now on, forgetting what this process hashed."""
    monkeypatch.setattr(stamps, "_hashed", {})
    seen: list[Path] = []
    real = stamps._sha256
    monkeypatch.setattr(stamps, "_sha256", lambda fh: seen.append(Path(fh.name)) or real(fh))
    return seen


@pytest.mark.parametrize("which", list(FILES))
def test_a_file_changed_in_place_is_named_on_the_next_open(default_index, tmp_path, which):
    index = _copy(default_index, tmp_path)
    assert "warning" not in _medcode(index, "lookup", "E11.9").stderr  # stamps renewed: a clean read
    damaged = _file(index, which)
    _damage(damaged)
    done = _medcode(index, "lookup", "E11.3", "--date", DAY.isoformat())
    said = [line for line in done.stderr.splitlines() if str(damaged) in line]
    assert len(said) == 1, done.stderr
    assert f"{damaged} is damaged (it does not match its checksum" in said[0] and said[0].endswith(REBUILD)
    assert FILES[which][1] in said[0]
    if which in ("trie", "records", "postings"):  # the release is set aside: its days are not answered
        assert "cannot be verified" in done.stdout and done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr
    # Found again by the next process: a damaged file is never stamped.
    assert str(damaged) in _medcode(index, "lookup", "E11.9").stderr


@pytest.mark.parametrize("which", list(FILES))
async def test_a_running_server_names_a_file_changed_in_place_on_its_next_use(default_index, tmp_path, which):
    index = _copy(default_index, tmp_path)
    session = await start("visual-studio-code", index)
    try:
        text = claim_837p([("C1", ["E119"], [("J1100", DAY)])])
        uri = "file:///tmp/e2e/stamps/claims.837"
        session.open(uri, text)
        await session.diagnostics(uri)
        line, col, _ = place(text, "HI*ABK:E119", "E119")
        assert await session.hover(uri, line, col + 1) is not None
        assert not [m for m in session.client.messages if m.type == types.MessageType.Error]
        damaged = _file(index, which)
        _damage(damaged)
        await asyncio.sleep(RECHECK_REQUESTS_S + 0.1)  # hover and completion recheck at most this often
        hover = await session.hover(uri, line, col + 1)  # an error response would raise here
        assert hover is not None
        said = [m.message for m in session.client.messages if str(damaged) in m.message]
        assert len(said) == 1 and "does not match its checksum" in said[0] and REBUILD in said[0], said
        await session.hover(uri, line, col + 1)
        assert len([m for m in session.client.messages if str(damaged) in m.message]) == 1  # said once
    finally:
        await stop(session)


def test_a_copied_index_is_hashed_once_then_opens_by_its_stamps(default_index, tmp_path, monkeypatch):
    index = _copy(default_index, tmp_path)
    hashed = _hashes(monkeypatch)
    store = IndexStore(index)
    assert store.releases() and store.problems == []
    assert hashed  # new inodes: every file is hashed once ...
    hashed.clear()
    monkeypatch.setattr(stamps, "_hashed", {})  # ... and not in the next process
    store = IndexStore(index)
    assert store.releases() and store.problems == [] and hashed == []


def test_an_index_built_before_the_stamps_is_hashed_once_and_reads_clean(default_index, tmp_path, monkeypatch):
    index = _copy(default_index, tmp_path)
    for stamp in index.rglob(layout.STAMPS):
        stamp.unlink()
    IndexStore(index).releases()  # stamps the copy's files
    for stamp in index.rglob(layout.STAMPS):
        stamp.unlink()
    hashed = _hashes(monkeypatch)
    store = IndexStore(index)
    assert store.releases() and store.problems == [] and hashed
    assert {p.parent for p in index.rglob(layout.STAMPS)} == {r.path for r in store.releases()} | {next(index.glob(".edits/mce/*"))}


def test_a_folder_that_cannot_be_written_is_hashed_once_per_process(default_index, tmp_path, monkeypatch):
    """As a read-only index (tested as root, who may write anywhere): the stamps cannot be
    renewed, the hashes are remembered for the process, and damage is still found."""
    index = _copy(default_index, tmp_path)
    for stamp in index.rglob(layout.STAMPS):
        stamp.unlink()
    damaged = _file(index, "records")
    _damage(damaged)
    time.sleep(0.05)  # the clock tick after which its hash may be remembered (stamps.py)

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    hashed = _hashes(monkeypatch)
    store = IndexStore(index)
    assert len(store.releases("icd10cm")) == 4 and [p for p in store.problems if str(damaged) in p]
    assert not list(index.rglob(layout.STAMPS)) and not list(index.rglob(f"{layout.STAMPS}.*"))
    first = len(hashed)
    store = IndexStore(index)
    assert len(store.releases("icd10cm")) == 4 and [p for p in store.problems if str(damaged) in p]
    assert len(hashed) == first  # remembered, the damaged file's too


def test_verify_still_reads_every_byte(default_index, tmp_path, run):
    index = _copy(default_index, tmp_path)
    status, out, _ = run("index", "verify", index=index)
    assert status == 0 and "verified" in out
    damaged = _file(index, "records")
    _damage(damaged)
    status, out, _ = run("index", "verify", index=index)
    assert status != 0 and str(damaged) in out


def test_hover_and_completion_recheck_at_most_every_so_often_and_not_behind_a_check(default_index):
    # Their stats would each wait for the GIL behind a check thread (up to 5 ms a file): the
    # check rechecked as it began. A check's own recheck is never skipped.
    from medcode.server.lsp.server import MedcodeServer

    ls = MedcodeServer(str(default_index))
    asked = []
    ls.store = type("Store", (), {"recheck": lambda self: asked.append(1) or []})()
    doc = ls.documents.open(types.TextDocumentItem("file:///tmp/stamps.837", "x12", 1, "ISA*"))
    ls.recheck_index(at_most_every=RECHECK_REQUESTS_S)
    ls.recheck_index(at_most_every=RECHECK_REQUESTS_S)  # too soon
    assert len(asked) == 1
    ls.rechecked_at -= RECHECK_REQUESTS_S
    with doc.lock:  # a check holds the document
        ls.recheck_index(at_most_every=RECHECK_REQUESTS_S)
        assert len(asked) == 1
        ls.recheck_index()  # the check's own
        assert len(asked) == 2
    ls.recheck_index(at_most_every=RECHECK_REQUESTS_S)
    assert len(asked) == 3
