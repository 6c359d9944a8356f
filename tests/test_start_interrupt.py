"""Ctrl-C while `medcode` is still starting (importing its modules) ends it as at any other
moment: one line, "medcode: interrupted", exit status 2, no traceback.

The installed console script runs with a sitecustomize (test-side only) that pauses the
import of one module until the test has sent SIGINT: the signal lands inside that import,
whichever moment of the start the module stands for, with no timing involved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "medcode"
_WAIT = 60  # seconds: a bound against hanging, never a timing assertion

# Loaded at the interpreter's start (PYTHONPATH): a finder consulted before the others that,
# on the named module's import, says so in a file and waits there for the signal.
HOOK = """
import os, sys, time

class _PauseAt:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("MEDCODE_TEST_PAUSE_AT"):
            sys.meta_path.remove(self)
            open(os.environ["MEDCODE_TEST_PAUSED"], "w").close()
            end = time.monotonic() + 60
            while time.monotonic() < end:
                time.sleep(0.01)
        return None

sys.meta_path.insert(0, _PauseAt())
"""

# Moments of the start: the CLI module itself, the index reader's C extension and the index
# folder's module (both imported by the CLI), and, once the command is known, what it imports
# where it runs (check's pipeline; index status's release freshness).
MOMENTS = [
    (["check", "x.837"], "medcode.server.cli"),
    (["check", "x.837"], "marisa_trie"),
    (["check", "x.837"], "medcode.index_builder.location"),
    (["check", "x.837"], "medcode.server.analysis"),
    (["index", "status"], "medcode.index_builder.reader"),
    (["index", "status"], "medcode.index_builder.freshness"),
]


@pytest.mark.skipif(not SCRIPT.exists() or sys.platform == "win32", reason="the installed console script, POSIX signals")
@pytest.mark.parametrize(("args", "module"), MOMENTS, ids=[f"{a[0]}-{m}" for a, m in MOMENTS])
def test_ctrl_c_while_starting_says_interrupted(tmp_path, args, module):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    paused = tmp_path / "paused"
    env = {
        **os.environ,
        "PYTHONPATH": str(hook),
        "MEDCODE_TEST_PAUSE_AT": module,
        "MEDCODE_TEST_PAUSED": str(paused),
        "MEDCODE_INDEX_DIR": str(tmp_path / "index"),
    }
    env.pop("MEDCODE_DEBUG", None)
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A shell running the tests in the background ignores SIGINT, and so would medcode.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        end = time.monotonic() + _WAIT
        while not paused.exists() and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        assert paused.exists(), f"{module} was never imported: {proc.communicate()}"
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=_WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert err == "medcode: interrupted\n", err
    assert proc.returncode == 2 and out == ""
