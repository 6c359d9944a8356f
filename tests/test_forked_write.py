"""A compact release written with a forked helper (the word index in a child process, as the
parallel build's NDC step does) is the same index as one written in one process; a helper that
fails leaves no release behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from medcode.index_builder import forked, layout, writer
from medcode.index_builder.reader import Release
from medcode.index_builder.writer import IndexWriteError, write_release

from test_index_format import grouped_records, result

needs_fork = pytest.mark.skipif(not forked.Helper.available(), reason="the helper forks (Linux only)")


def _compact(release: str = "R1"):
    res = result(grouped_records(), release=release, aux={"products": {f"{i:05x}": [f"product {i}"] for i in range(134)}})
    res.compact = True
    return res


def _files(rel: Release) -> dict:
    return {name: info["sha256"] for name, info in rel.manifest.to_json()["files"].items()}


@needs_fork
def test_a_release_written_with_a_forked_helper_is_the_same_release(tmp_path, monkeypatch):
    started: list[int] = []
    real_start = forked.Helper.start

    def start(self, work, **kwargs):
        ok = real_start(self, work, **kwargs)
        started.append(ok)
        return ok

    monkeypatch.setattr(forked.Helper, "start", start)
    one = Release(write_release(tmp_path / "one", _compact()))
    assert started == []  # not asked for: no helper
    two = Release(write_release(tmp_path / "two", _compact(), fork=True))
    assert started == [True]
    # Every file byte for byte, the word index (written by the child) included.
    assert _files(one) == _files(two)
    assert {layout.WORDS, layout.POSTINGS_ZBIN, layout.GROUPS_BIN, layout.RANK} <= set(_files(two))
    for query in ("brand5", "labeler3 pkg17", "otherbrand tube", "no product"):
        assert two.search(query, limit=500) == one.search(query, limit=500), query
    assert two.aux("products", "00003") == ["product 3"]


def test_without_fork_the_writer_does_the_helpers_work_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(forked.Helper, "available", staticmethod(lambda: False))
    one = Release(write_release(tmp_path / "one", _compact()))
    two = Release(write_release(tmp_path / "two", _compact(), fork=True))
    assert _files(one) == _files(two)


@needs_fork
def test_a_failing_helper_fails_the_release_and_leaves_nothing(tmp_path, monkeypatch):
    def broken(folder, texts, postings_helper=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer, "_write_word_index", broken)
    with pytest.raises(IndexWriteError, match="helper process"):
        write_release(tmp_path, _compact(), fork=True)
    assert list((tmp_path / "icd10cm").iterdir()) == []  # neither the release nor a .building folder


@needs_fork
def test_a_failure_in_the_parent_stops_the_helper(tmp_path, monkeypatch):
    stopped: list[bool] = []
    real_abandon = forked.Helper.abandon

    def abandon(self):
        stopped.append(self._pid is not None)
        real_abandon(self)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(forked.Helper, "abandon", abandon)
    monkeypatch.setattr(writer, "_write_blob_offsets", broken)
    with pytest.raises(OSError):
        write_release(tmp_path, _compact(), fork=True)
    assert stopped == [True]
    assert list((tmp_path / "icd10cm").iterdir()) == []


@needs_fork
def test_a_helper_forked_before_the_records_exist_writes_the_same_release(tmp_path):
    """The NDC step forks its helper before the parse (writer.word_index_helper) and hands it
    the records' texts once written: the same files as one process writes."""
    with writer.word_index_helper() as helper:
        assert helper is not None
        two = Release(write_release(tmp_path / "two", _compact(), helper=helper))  # records made after the fork
    one = Release(write_release(tmp_path / "one", _compact()))
    assert _files(one) == _files(two)
    assert two.search("brand5", limit=500) == one.search("brand5", limit=500)


@needs_fork
def test_a_helper_left_unused_or_stopped_by_an_error_ends_with_its_block():
    with writer.word_index_helper() as helper:
        unused = helper._pid
    with pytest.raises(RuntimeError):
        with writer.word_index_helper() as helper:
            failed = helper._pid
            raise RuntimeError("the source could not be read")
    for pid in (unused, failed):
        with pytest.raises(ChildProcessError):  # waited for already: no child left behind
            os.waitpid(pid, 0)


def test_without_fork_there_is_no_helper(monkeypatch):
    monkeypatch.setattr(forked.Helper, "available", staticmethod(lambda: False))
    with writer.word_index_helper() as helper:
        assert helper is None


@needs_fork
def test_a_helper_gone_before_its_input_came_fails_as_a_helper():
    helper = forked.Helper()
    assert helper.start_waiting(lambda payload: None, first=lambda: os._exit(3))
    with pytest.raises(forked.HelperFailed):
        helper.hand_over("x" * 500_000)  # more than a pipe holds: the write meets the closed end


_PF_EXITING = 0x4  # linux/sched.h: the process is ending and never runs its own code again


def _running(pid: int) -> bool:
    """The process exists and is not ending (a zombie has ended and only waits to be reaped;
    one killed may still be closing its files for a moment, but writes nothing more)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] not in ("Z", "X") and not int(fields[6]) & _PF_EXITING


def _await_pid(pid_file: Path) -> int:
    """The pid a helper wrote once it started its work (polled: it runs in another process)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if pid_file.exists() and pid_file.read_text().endswith("\n"):
            return int(pid_file.read_text())
        time.sleep(0.01)
    raise AssertionError("the postings' helper never started its work")


def _postings_helper_that_keeps_writing(pid_file: Path):
    """The postings' helper's work replaced by one that records its pid and then keeps
    writing into the release folder until stopped, as a slow encoding would (the folder gone,
    it keeps trying: only being stopped ends it)."""

    def work(payload):
        part_idx = Path(payload[0])
        pid_file.write_text(f"{os.getpid()}\n")
        for n in range(100_000):
            try:
                (part_idx.parent / f".still-writing-{n % 10}").write_bytes(b"x")
            except OSError:
                pass
            time.sleep(0.01)

    return work


def _fails_leaving_no_postings_helper(tmp_path: Path, pid_file: Path, error: type[Exception], match: str) -> None:
    """write_release fails as expected, and once it has returned the postings' helper is gone
    and so is the release's .building folder."""
    try:
        with pytest.raises(error, match=match):
            write_release(tmp_path / "index", _compact(), fork=True)
        assert not _running(_await_pid(pid_file)), "the postings' helper outlived the failed release"
        assert list((tmp_path / "index" / "icd10cm").iterdir()) == []
    finally:  # never leave it running, whatever failed
        if pid_file.exists() and pid_file.read_text().endswith("\n") and _running(pid := int(pid_file.read_text())):
            os.kill(pid, signal.SIGKILL)


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_late_failure_stops_the_helper_and_its_own_helper_before_the_folder_goes(tmp_path, monkeypatch):
    """abandon() killed the word index's helper but not the postings' helper it had forked,
    which went on writing into the .building folder being deleted (or left one behind)."""
    pid_file = tmp_path / "postings-helper.pid"
    monkeypatch.setattr(writer, "_postings_part_from", _postings_helper_that_keeps_writing(pid_file))

    def fails_late(*args, **kwargs):  # the parent's own part, once both helpers work
        _await_pid(pid_file)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_write_zblob", fails_late)
    _fails_leaving_no_postings_helper(tmp_path, pid_file, OSError, "No space")


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_helper_that_dies_does_not_leave_its_own_helper_writing(tmp_path, monkeypatch):
    """The word index's helper killed from outside (out of memory) cannot stop the helper it
    forked: the failed join stops it, before the folder is deleted."""
    pid_file = tmp_path / "postings-helper.pid"
    monkeypatch.setattr(writer, "_postings_part_from", _postings_helper_that_keeps_writing(pid_file))

    def dies(lists):  # runs in the word index's helper (the postings' helper's work is replaced)
        _await_pid(pid_file)
        os._exit(9)

    monkeypatch.setattr(writer, "_encode_postings", dies)
    _fails_leaving_no_postings_helper(tmp_path, pid_file, IndexWriteError, "helper process")


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_join_cut_short_leaves_the_helper_for_abandon_to_stop():
    """A build worker told to stop while it waits for its helper (parallel.Stopped, raised by
    its signal handler) abandons the helper before deleting its folder: the join cut short
    had forgotten the helper, which went on writing into the deleted folder."""

    class Cut(BaseException):
        pass

    def cut(signum, frame):
        raise Cut()

    helper = forked.Helper()
    assert helper.start(lambda: time.sleep(60))
    pid = helper._pid
    old = signal.signal(signal.SIGALRM, cut)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Cut):
            helper.join()
        helper.abandon()
        assert not _running(pid), "the helper outlived abandon"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
