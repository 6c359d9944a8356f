"""Indexes under stress: damaged records, shared and read-only folders, concurrent imports of one
release, and import sources that are zip bombs, FIFOs or devices."""

from __future__ import annotations

import io
import json
import os
import resource
import stat
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from medcode.index_builder import build, layout, stamps, writer
from medcode.index_builder.model import CodeRecord, ImportResult, Source
from medcode.index_builder.reader import IndexCorrupt, IndexStore, Release
from medcode.index_builder.sources import SourceError, read_inputs
from medcode.index_builder.writer import write_family, write_release
from medcode.server import cli


def release(root: Path, description: str = "Type 2 diabetes mellitus without complications", label: str = "R1") -> Path:
    records = [CodeRecord("E119", description), CodeRecord("E11", "Type 2 diabetes mellitus", kind="header")]
    return write_release(root, ImportResult("icd10cm", label, f"icd10cm {label}", None, None, Source("file", "x"), records))


def damage_in_place(path: Path) -> None:
    """Change bytes without changing the size: the open-time size check cannot see it."""
    data = path.read_bytes()
    path.write_bytes(data.replace(b"{", b"#"))


def rot_in_place(path: Path) -> None:
    """Damage the open cannot see: bytes changed with no write its stamps notice (bit rot),
    as the stamps are renewed after it. Found only when the bytes are read."""
    damage_in_place(path)
    folder = path.parent
    stamps.record(folder, list(json.loads((folder / layout.MANIFEST).read_text())["files"]))


# -- damaged records ----------------------------------------------------------------------------
def test_a_damaged_record_names_the_file_and_the_rebuild_command(tmp_path):
    folder = release(tmp_path / "idx")
    rot_in_place(folder / layout.RECORDS_BIN)
    rel = Release(folder)  # the sizes still agree
    with pytest.raises(IndexCorrupt) as exc:
        rel.get("E119")
    message = str(exc.value)
    assert str(folder / layout.RECORDS_BIN) in message and "is damaged" in message
    assert "medcode index build" in message and "medcode index import icd10cm PATH" in message


def test_lookup_and_search_on_a_damaged_record_exit_2_without_a_traceback(run, tmp_path):
    folder = release(tmp_path / "idx")
    rot_in_place(folder / layout.RECORDS_BIN)
    for args in (("lookup", "E11.9"), ("search", "diabetes")):
        code, out, err = run(*args, index=tmp_path / "idx")
        assert code == 2, args
        assert f"medcode: {folder / layout.RECORDS_BIN} is damaged" in err
        assert "medcode index build" in err
        assert "Traceback" not in err and "JSONDecodeError" not in err


def test_a_damaged_file_releases_share_names_every_release_that_reads_it(tmp_path):
    # Fiscal years share files by hard links: damage made through one release shows in all,
    # and the message says so, whichever release the look-up went through.
    e119 = CodeRecord("E119", "Type 2 diabetes mellitus without complications")
    fy26, fy27 = write_family(tmp_path, [
        ImportResult("icd10cm", label, f"ICD-10-CM {label}", None, None, Source("file", "x"), [e119])
        for label in ("FY2026", "FY2027")
    ])
    damage_in_place(fy27 / layout.RECORDS_BIN)
    with pytest.raises(IndexCorrupt) as exc:
        Release(fy26).get("E119")
    message = str(exc.value)
    assert f"{fy26 / layout.RECORDS_BIN} is damaged" in message
    assert f"the same file as FY2027/{layout.RECORDS_BIN}" in message
    single = release(tmp_path / "one")
    damage_in_place(single / layout.RECORDS_BIN)
    with pytest.raises(IndexCorrupt) as exc:
        Release(single).get("E119")
    assert "the same file as" not in str(exc.value)


# -- permissions --------------------------------------------------------------------------------
def test_release_folders_are_readable_by_other_users(tmp_path):
    old = os.umask(0o022)
    try:
        folder = release(tmp_path / "idx")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o004 for p in folder.iterdir())
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o755


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder (and what is below it) unwritable as the writer sees it. Root writes
    anywhere, so os.access, which the writer asks first, answers as for another user."""

    def make(folder: Path) -> None:
        real = os.access

        def access(path, mode, *args, **kwargs):
            inside = Path(path) == folder or folder in Path(path).parents
            if inside and mode & os.W_OK:
                return False
            return real(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)

    return make


def test_import_build_and_remove_refuse_a_read_only_index_folder(run, tmp_path, read_only, monkeypatch):
    index = tmp_path / "idx"
    folder = release(index)
    csv = tmp_path / "codes.csv"
    csv.write_text("code,description\nACME01,Acme wellness visit\n")
    built = []
    monkeypatch.setattr(build, "build_defaults", lambda root, sets=None, progress=None: built.append(root) or [])
    read_only(index)
    code, _, err = run("index", "import", "payer-acme", str(csv), "--release", "2026", index=index)
    assert code == 2 and f"cannot write to the index folder {index}" in err
    assert not (index / "payer-acme").exists()
    code, _, err = run("index", "build")
    assert code == 2 and "cannot write to the index folder" in err and built == []
    code, _, err = run("index", "remove", "icd10cm", "R1")
    assert code == 2 and "cannot write to the index folder" in err
    assert (folder / layout.MANIFEST).is_file()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_really_read_only_index_folder(run, tmp_path):
    index = tmp_path / "idx"
    release(index)
    csv = tmp_path / "codes.csv"
    csv.write_text("code,description\nACME01,Acme wellness visit\n")
    index.chmod(0o555)
    try:
        code, _, err = run("index", "import", "payer-acme", str(csv), "--release", "2026", index=index)
        assert code == 2 and "cannot write to the index folder" in err
    finally:
        index.chmod(0o755)


# -- concurrent imports -------------------------------------------------------------------------
def test_replacing_a_release_never_leaves_a_moment_without_it(tmp_path, monkeypatch):
    index = tmp_path / "idx"
    target = release(index, "first")
    manifest = target / layout.MANIFEST
    gaps = []
    for name in ("rename", "replace"):
        real = getattr(os, name)

        def watched(src, dst, *args, _real=real, **kwargs):
            result = _real(src, dst, *args, **kwargs)
            if not manifest.is_file():
                gaps.append((src, dst))
            return result

        monkeypatch.setattr(os, name, watched)
    release(index, "second")
    assert gaps == []
    assert Release(target).get("E119").description == "second"
    assert [p.name for p in target.parent.iterdir()] == ["R1"]  # nothing left beside it


def test_concurrent_imports_of_one_release_leave_one_whole_release(tmp_path):
    index = tmp_path / "idx"
    target = release(index, "initial")
    seen_missing = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            if not (target / layout.MANIFEST).exists():
                seen_missing.append(1)

    def writer_thread(n: int) -> None:
        for i in range(5):
            release(index, f"writer {n} round {i}")

    watcher = threading.Thread(target=reader)
    watcher.start()
    writers = [threading.Thread(target=writer_thread, args=(n,)) for n in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    watcher.join()
    assert seen_missing == []
    rel = Release(target)
    assert rel.verify() == []  # every file belongs to one writer's manifest
    assert rel.get("E119").description.endswith("round 4")
    assert [p.name for p in target.parent.iterdir()] == ["R1"]
    assert IndexStore(index).problems == []


# -- import sources -----------------------------------------------------------------------------
def zip_bomb(path: Path, megabytes: int = 64) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("HCPC2020_ANWEB.txt", "w") as fh:
            block = b"\0" * (1 << 20)
            for _ in range(megabytes):
                fh.write(block)
    return path


def test_a_zip_bomb_is_refused_before_memory_grows(tmp_path):
    bomb = zip_bomb(tmp_path / "hcpcs.zip")
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as exc:
            read_inputs(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "HCPC2020_ANWEB.txt would expand from" in str(exc.value) and "zip bomb" in str(exc.value)
    assert peak < 16 << 20


def test_real_archives_pass_the_bomb_check(shared_dir):
    inputs = read_inputs(shared_dir / "data/hcpcs/2020-Alpha-Numeric-HCPCS-File.zip")
    assert any(f.lower.endswith(".txt") for f in inputs)


def test_import_of_a_zip_bomb_exits_2(run, tmp_path):
    code, _, err = run("index", "import", "hcpcs", str(zip_bomb(tmp_path / "hcpcs.zip")), index=tmp_path / "idx")
    assert code == 2 and "zip bomb" in err


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))


@pytest.mark.parametrize("kind", ["fifo", "device", "link to a device"])
def test_a_fifo_or_device_is_refused_as_an_import_source(tmp_path, kind):
    source = tmp_path / "source.txt"
    if kind == "fifo":
        os.mkfifo(source)
    elif kind == "device":
        source = Path("/dev/zero")
    else:
        source.symlink_to("/dev/zero")
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(tmp_path / "idx")}
    done = subprocess.run(
        [sys.executable, "-m", "medcode.server", "index", "import", "payer-acme", str(source), "--two-column"],
        capture_output=True, text=True, env=env, timeout=60, preexec_fn=_limit_memory,
    )
    assert done.returncode == 2
    assert "not a file" in done.stderr and "Traceback" not in done.stderr


def test_fetch_refuses_a_zip_bomb_before_unpacking_it(run, tmp_path):
    bomb = zip_bomb(tmp_path / "hcpcs.zip")
    code, _, err = run("index", "fetch", "hcpcs", "--url", bomb.as_uri(), "--retries", "0", index=tmp_path / "idx")
    assert code == 2 and "zip bomb" in err and "Traceback" not in err
    assert not (tmp_path / "idx" / "hcpcs").exists()


def test_an_empty_postings_entry_reads_as_damage_not_as_a_crash(tmp_path, monkeypatch):
    """A zero-length entry in the compact postings fails on its type byte with Python's own
    IndexError, which the reader must turn into IndexCorrupt (the index's error class once
    shadowed the builtin there, so the builtin escaped)."""
    records = [CodeRecord("E119", "Type 2 diabetes mellitus without complications")]
    result = ImportResult("icd10cm", "R1", "icd10cm R1", None, None, Source("file", "x"), records, compact=True)
    rel = Release(write_release(tmp_path, result))
    assert rel.search("diabetes") and rel._compact_postings
    blob = rel._words[1]
    monkeypatch.setattr(blob, "get", lambda i: memoryview(b""))
    with pytest.raises(IndexCorrupt, match="is damaged"):
        rel.search("diabetes mellitus")  # not asked before: searches answered are remembered
