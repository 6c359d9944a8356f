"""Ctrl-C during `medcode index build` ends it quietly and cleanly whenever it comes: one line
("medcode: interrupted"), the CLI's exit status for an interrupt (2), no traceback from any
process, no process left running, no .building folder. SIGTERM to the build's own process
alone leaves nothing running or half-written either.

Each test runs a real build of two sets (NDC and HCPCS): enough for the two worker processes
(the HCPCS one idle once its set is built) and for the NDC step's forked helpers (idle while
the shipped word index is installed; writing where it is computed instead, as if none were
shipped: _COMPUTED). The signal goes when a given progress line appears, not after a fixed
delay."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medcode.index_builder import forked, parallel

from test_forked_write import _running

pytestmark = [
    pytest.mark.skipif(
        not forked.Helper.available() or not Path("/proc/self/stat").exists(),
        reason="Linux only: forked helpers, processes read from /proc",
    ),
    pytest.mark.skipif(parallel.worker_count(2, 2) < 2, reason="one core: the build runs no worker processes"),
]

_WAIT = 120  # seconds: a bound against hanging, never a timing assertion


def _in_session(sid: int) -> list[int]:
    """The processes of session `sid` still running: the build and all it forked, including
    the helpers that lead process groups of their own."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[3]) == sid and _running(int(entry.name)):
            found.append(int(entry.name))
    return found


@dataclass
class Run:
    code: int
    lines: list[str] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # processes running once the build had exited
    output_open: bool = False  # some process still held the build's output

    @property
    def text(self) -> str:
        return "".join(self.lines)


# `medcode` as if no NDC word index were shipped (defaults/ndc_words.py): the NDC step's
# helpers compute it. The build's workers are forked, so they see the change.
_COMPUTED = (
    "from medcode.index_builder.defaults import ndc_words; ndc_words.installer = lambda folder=None: None; "
    "import runpy; runpy.run_module('medcode.server', run_name='__main__')"
)


def _build_until(index: Path, line: str, sig: int, *, group: bool = True, computed: bool = False) -> Run:
    """Start the build in a session of its own, send `sig` (to its process group, as a terminal's
    Ctrl-C does, or to its own process alone) when a progress line matches `line`, and wait
    for it to end and for its output to close (every process that could write it gone).
    `computed`: the NDC word index computed by forked helpers (_COMPUTED), not installed."""
    medcode = ["-c", _COMPUTED] if computed else ["-m", "medcode.server"]
    proc = subprocess.Popen(
        [sys.executable, *medcode, "index", "build", "--index-dir", str(index), "--set", "ndc", "--set", "hcpcs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, parallel.WORKERS_ENV: "2"},
        start_new_session=True,
        # A shell running the tests in the background ignores SIGINT, and so would the build.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        for text in proc.stdout:
            lines.append(text)
            if re.search(line, text):
                seen.set()
        seen.set()  # ended without it: the check below says so

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(_WAIT) and any(re.search(line, t) for t in lines), f"no line matched {line!r}:\n{''.join(lines)}"
        (os.killpg if group else os.kill)(proc.pid, sig)
        code = proc.wait(_WAIT)
        if group:  # everything was told to end: nothing may outlast the build's own process
            left = _in_session(proc.pid)
            reader.join(_WAIT)
        else:  # the build's workers learn it has gone, and end themselves
            reader.join(_WAIT)
            left = _in_session(proc.pid)
        return Run(code, lines, left, reader.is_alive())
    finally:
        if _in_session(proc.pid):  # never leave a build running, whatever failed
            os.killpg(proc.pid, signal.SIGKILL)


# The moments: the workers just being forked; one worker idle (HCPCS built) while the other
# reads NDC; the NDC step writing its records (the word index installed); and with the word
# index computed (_COMPUTED): the NDC step writing while its helpers write the word index; the
# NDC step waiting for its helper (an interrupted wait once forgot the helper, left writing
# into the folder being deleted).
MOMENTS = {
    "starting": r"^Building ",
    "one worker idle": r"^HCPCS Level II: .* records",
    "writing records": r"^NDC: indexing records",
    "helpers writing": r"^NDC: (indexing records|handing the texts)",
    "waiting for the helper": r"^NDC: waiting for the word index",
}
COMPUTED_MOMENTS = {"helpers writing", "waiting for the helper"}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_ctrl_c_ends_the_build_quietly_and_cleanly(tmp_path, moment):
    run = _build_until(tmp_path / "index", MOMENTS[moment], signal.SIGINT, computed=moment in COMPUTED_MOMENTS)
    assert "Traceback" not in run.text and "KeyboardInterrupt" not in run.text, run.text
    assert [t for t in run.lines if "interrupted" in t] == ["medcode: interrupted\n"], run.text
    assert run.code == 2, run.text
    assert run.left == [], "processes left running once the build exited"
    assert not run.output_open
    assert list((tmp_path / "index").rglob(".building*")) == []


def test_sigterm_to_the_build_alone_leaves_no_helper_writing(tmp_path):
    """Its workers, no longer watched, end their steps as failed ones (helpers stopped,
    .building folders removed): the output closes, so no process is left."""
    run = _build_until(tmp_path / "index", MOMENTS["helpers writing"], signal.SIGTERM, group=False, computed=True)
    assert run.code == -signal.SIGTERM
    assert not run.output_open and run.left == [], "a worker or helper outlived the build"
    assert "Traceback" not in run.text, run.text
    assert list((tmp_path / "index").rglob(".building*")) == []


def _deaf_step(root: Path, step: str, progress, fork: bool = False):
    """A build step that has begun a release (its .building folder) and then ignores the stop
    (SIGTERM): only the kill after parallel._STOP_WAIT ends it."""
    from medcode.index_builder.writer import _building_folder

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _building_folder(Path(root) / step, "deaf")
    progress(f"{step}: deaf to the stop")
    while True:
        time.sleep(0.05)


def test_a_worker_killed_after_the_wait_leaves_no_building_folder(tmp_path, monkeypatch):
    """The caller kills it and removes what it left; the idle worker exits when told."""
    import multiprocessing

    from medcode.index_builder import build

    monkeypatch.setattr(build, "timed_step", _deaf_step)  # the workers are forked: they see it
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(parallel, "_STOP_WAIT", 0.5)
    before = {p.pid for p in multiprocessing.active_children()}

    def progress(message: str) -> None:
        if message.endswith("deaf to the stop"):
            assert list(tmp_path.rglob(".building-deaf-*")), "the step began no release"
            raise KeyboardInterrupt  # Ctrl-C, as the caller's drain of progress lines meets it

    with pytest.raises(KeyboardInterrupt):
        parallel.build_steps(tmp_path, ["ndc"], progress, 2, lambda step: 0.0)
    assert list(tmp_path.rglob(".building*")) == []
    assert [p for p in multiprocessing.active_children() if p.pid not in before] == []
