"""`medcode check` on odd paths: FIFOs, sockets, devices, huge and unreadable files, paths named
twice. Nothing blocks, nothing is read that is not a regular file, and every path not checked is
named on stderr with the reason; stdout keeps the findings only."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from medcode.server import cli

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
P837 = FIXTURES / "claims_837p.x12"


def _limit_memory() -> None:
    # Reading /dev/zero must never happen; if it did, fail fast instead of eating the machine.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))


def check_process(default_index: Path, *args: str) -> subprocess.CompletedProcess:
    """`medcode check` in its own process, so a FIFO that blocks fails the test by timeout."""
    env = {**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}
    return subprocess.run(
        [sys.executable, "-m", "medcode.server", "check", *args],
        capture_output=True, text=True, env=env, timeout=120, preexec_fn=_limit_memory,
    )


def test_fifos_sockets_and_devices_are_never_opened(tmp_path, default_index):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "a.837").write_bytes(P837.read_bytes())
    os.mkfifo(folder / "pipe.837")
    (folder / "zero.837").symlink_to("/dev/zero")  # a link inside a folder reaches a device
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "listen.sock"))
    try:
        done = check_process(default_index, "--format", "json", str(folder), str(tmp_path / "claims" / "pipe.837"))
    finally:
        sock.close()
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)  # stdout stays one JSON array of findings
    assert {Path(f["path"]).name for f in findings} == {"a.837"}
    err = done.stderr
    assert f"{folder / 'pipe.837'}: skipped: a FIFO (named pipe), never opened" in err
    assert f"{folder / 'zero.837'}: skipped: a character device, never opened" in err
    assert f"{folder / 'listen.sock'}: skipped: a socket, never opened" in err
    assert "checked 1 file(s), skipped 3 (1 FIFO, 1 device, 1 socket)" in err


def test_a_device_named_alone_is_refused_not_read(default_index):
    done = check_process(default_index, "/dev/zero")
    assert done.returncode == 2
    assert "/dev/zero: skipped: a character device, never opened" in done.stderr
    assert "nothing was checked" in done.stderr and "Traceback" not in done.stderr


def test_files_over_the_size_limit_are_skipped_with_a_note(run_check, tmp_path):
    big = tmp_path / "big.837"
    big.write_bytes(P837.read_bytes())
    code, out, err = run_check("--max-size", "1K", str(big))
    assert code == 2 and out == ""
    assert f"{big}: skipped: 1.3 KB, larger than 1 KB (see --max-size)" in err
    assert "checked 0 file(s), skipped 1 (1 too large)" in err
    code, out, err = run_check("--max-size", "2K", str(big))
    assert code == 1 and "checked 1 file(s)" in err


def test_the_size_limit_defaults_to_1_gb_and_must_be_a_size(run_check, tmp_path, capsys, monkeypatch):
    from medcode.server import check as check_module

    assert check_module.DEFAULT_MAX_BYTES == 1 << 30
    monkeypatch.setattr(check_module, "DEFAULT_MAX_BYTES", 1024)  # the default applies without the option
    big = tmp_path / "big.837"
    big.write_bytes(P837.read_bytes())
    code, _, err = run_check(str(big))
    assert code == 2 and "larger than 1 KB" in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["check", "--max-size", "lots", str(big)])
    assert exc.value.code == 2 and "is not a size" in capsys.readouterr().err


def test_a_folder_that_cannot_be_searched_is_named(run_check, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.837").write_bytes(P837.read_bytes())
    real = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real(path)

    # Root reads any folder, so the refusal is simulated where os.walk asks for it.
    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = run_check(str(tmp_path))
    assert code == 2
    assert f"medcode: {locked}: cannot be read (Permission denied)" in err
    assert "checked 0 file(s), 1 unreadable" in err


def test_a_path_whose_folder_cannot_be_searched_is_named_without_a_traceback(run_check, tmp_path, monkeypatch):
    inside = tmp_path / "locked" / "a.837"
    real = Path.stat

    def stat(self, *args, **kwargs):
        if self == inside:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    code, _, err = run_check(str(inside))
    assert code == 2 and f"{inside}: cannot be read (Permission denied)" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_named_and_the_rest_is_checked(run_check, tmp_path):
    good = tmp_path / "a.837"
    good.write_bytes(P837.read_bytes())
    bad = tmp_path / "b.837"
    bad.write_bytes(P837.read_bytes())
    bad.chmod(0)
    code, out, err = run_check(str(tmp_path))
    assert code == 1 and "a.837" in out and "b.837" not in out
    assert f"{bad}: cannot be read (Permission denied)" in err


def test_a_path_named_twice_or_reached_through_a_link_is_checked_once(run_check, tmp_path):
    claims = tmp_path / "a.837"
    claims.write_bytes(P837.read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "same.837").symlink_to(claims)
    code, out, _ = run_check("--format", "json", str(claims))
    once = json.loads(out)
    code, out, err = run_check("--format", "json", str(claims), str(claims), str(tmp_path))
    assert code == 1 and len(json.loads(out)) == len(once)
    assert "checked 1 file(s)" in err


def test_output_counts_files_checked_and_skipped(run_check, tmp_path):
    (tmp_path / "a.837").write_bytes(P837.read_bytes())
    (tmp_path / "b.edi").write_bytes((FIXTURES / "claims_837d.x12").read_bytes())
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (tmp_path / "script.py").write_text("print('hello')\n")
    code, _, err = run_check(str(tmp_path))
    assert code == 1
    assert "checked 2 file(s), skipped 2 (1 binary, 1 not a kind medcode reads)" in err


def test_a_folder_with_nothing_medcode_reads_says_so(run_check, tmp_path):
    (tmp_path / "script.py").write_text("print('hello')\n")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))
    code, out, err = run_check(str(tmp_path))
    assert code == 0 and out == ""
    assert f"{tmp_path}: no file of a kind medcode reads" in err
    assert "checked 0 file(s), skipped 2" in err


def test_a_binary_or_unknown_file_named_alone_is_an_input_error(run_check, tmp_path):
    # A folder may hold anything (its odd files are only counted), but a file the user names
    # is meant to be checked: when nothing could be, the run is no clean result.
    empty = tmp_path / "empty.837"
    empty.write_bytes(b"")
    blob = tmp_path / "blob.csv"
    blob.write_bytes(bytes(range(256)))
    for path, why in ((empty, "not a kind medcode reads"), (blob, "a binary file")):
        code, out, err = run_check(str(path))
        assert code == 2 and out == "", err
        assert f"{path}: skipped: {why}" in err and "nothing was checked" in err
    # Named beside a file that is checked, it is skipped and named, and the result stands.
    claims = tmp_path / "a.837"
    claims.write_bytes(P837.read_bytes())
    code, _, err = run_check(str(claims), str(blob))
    assert code == 1 and f"{blob}: skipped: a binary file" in err


@pytest.mark.parametrize("size", ["1e999", "inf", "nan", "1e400MB"])
def test_a_size_no_count_of_bytes_can_hold_is_a_usage_error(capsys, size):
    # float() reads these; int() of infinity raised OverflowError (an internal error).
    with pytest.raises(SystemExit) as exc:
        cli.main(["check", "--max-size", size, "x.837"])
    assert exc.value.code == 2 and "is not a size" in capsys.readouterr().err


def test_an_empty_path_is_an_error_not_the_current_folder(run_check, tmp_path, monkeypatch):
    # Path("") is ".": `medcode check "$UNSET"` checked every file under the working folder.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "claims.837").write_bytes(P837.read_bytes())
    code, out, err = run_check("")
    assert code == 2 and "an empty path names no file" in err and "claims.837" not in out
