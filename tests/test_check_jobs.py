"""`medcode check -j N`: worker processes give exactly the output, notes, summary and exit
status of `-j 1`, in the same order; a dying worker ends the run with exit 3, never a hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from medcode.server import check, check_pool

FIXTURES = Path(__file__).parent / "fixtures"
X12 = FIXTURES / "x12"
FHIR = FIXTURES / "fhir"
CHARGEMASTER = "CPT Code,Description,Price\r\n99213,Office visit,120.00\r\n99999,Made up,1.00\r\nJ9999,Drug,3.00\r\n"
PRICE_JSON = """{
  "hospital_name": "Old Mercy", "last_updated_on": "2024-07-01", "version": "2.0.0",
  "hospital_location": ["Old Mercy"], "hospital_address": ["1 Road"],
  "license_information": {"state": "CA"},
  "affirmation": {"affirmation": "To the best of its knowledge", "confirm_affirmation": true},
  "standard_charge_information": [
    {"description": "d", "code_information": [{"code": "H0017", "type": "hcpcs"}, {"code": "Q9999", "type": "HCPCS"}],
     "standard_charges": []}
  ]
}"""


def mixed_folder(root: Path) -> Path:
    """Claims, price and chargemaster files, FHIR, and files that are not checked: binary,
    of no kind, a FIFO, a broken link, one over the size limit, a folder with nothing to read."""
    folder = root / "mixed"
    (folder / "sub" / "deeper").mkdir(parents=True)
    for i, name in enumerate(["claims_837p.x12", "claims_837i.x12", "claims_837d.x12"]):
        (folder / f"{i}-{name}").write_bytes((X12 / name).read_bytes())
        (folder / "sub" / f"copy-{name}").write_bytes((X12 / name).read_bytes())
    (folder / "sub" / "deeper" / "eob.json").write_bytes((FHIR / "eob-seeded-errors.json").read_bytes())
    (folder / "sub" / "broken.json").write_bytes((FHIR / "eob-malformed.json").read_bytes())
    (folder / "chargemaster.csv").write_text(CHARGEMASTER)
    (folder / "prices_standardcharges.json").write_text(PRICE_JSON)
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (folder / "script.py").write_text("print('hello')\n")
    (folder / "big.837").write_bytes((X12 / "claims_837p.x12").read_bytes() * 40)  # over --max-size 20K
    os.mkfifo(folder / "pipe.837")
    (folder / "gone.837").symlink_to(folder / "nowhere")
    return folder


def run_jobs(run_check, jobs: str, *args: str) -> tuple[int, str, str]:
    return run_check("-j", jobs, "--max-size", "20K", *args)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_two_workers_print_what_one_process_prints(run_check, tmp_path, fmt):
    folder = mixed_folder(tmp_path)
    lone = tmp_path / "lone.837"
    lone.write_bytes((X12 / "claims_837p.x12").read_bytes())
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "notes.py").write_text("x = 1\n")
    args = ("--format", fmt, str(folder), str(tmp_path / "missing.837"), str(nothing), str(lone))
    one = run_jobs(run_check, "1", *args)
    two = run_jobs(run_check, "2", *args)
    assert one == two
    code, out, err = one
    assert code == 1 and out
    assert "checked 11 file(s)" in err and "1 FIFO" in err and "1 too large" in err and "1 broken link" in err
    assert f"{nothing}: no file of a kind medcode reads" in err
    assert err.index("missing.837 does not exist") < err.index("pipe.837: skipped")


def test_exit_statuses_match_for_clean_and_unreadable_runs(run_check, tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    for i in range(3):
        (clean / f"{i}.py").write_text("x = 1\n")
        (clean / f"{i}.csv").write_text("CPT Code,Description\r\n99213,Office visit\r\n")
    results = [run_jobs(run_check, j, str(clean)) for j in ("1", "2", "3")]
    assert results[0] == results[1] == results[2]
    assert results[0][0] == 0
    unread = [run_jobs(run_check, j, str(clean), str(tmp_path / "nope")) for j in ("1", "2")]
    assert unread[0] == unread[1] and unread[0][0] == 2


def test_one_file_never_starts_a_pool(run_check, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a pool for one file")

    monkeypatch.setattr(check_pool, "CheckPool", refuse)
    (tmp_path / "a.837").write_bytes((X12 / "claims_837p.x12").read_bytes())
    os.mkfifo(tmp_path / "pipe.837")  # refused by the walk: one file is left to read
    code, _, err = run_check("-j", "4", str(tmp_path))
    assert code == 1 and "checked 1 file(s)" in err


def test_workers_share_the_work(run_check, tmp_path, monkeypatch):
    seen = []
    real = check_pool.CheckPool.__init__

    def spy(self, jobs, *args):
        seen.append(jobs)
        real(self, jobs, *args)

    monkeypatch.setattr(check_pool.CheckPool, "__init__", spy)
    for i in range(3):
        (tmp_path / f"{i}.837").write_bytes((X12 / "claims_837p.x12").read_bytes())
    assert run_check("-j", "8", str(tmp_path))[0] == 1
    assert seen == [3]  # never more workers than files


def test_a_worker_that_dies_ends_the_run_with_an_internal_error(run_check, tmp_path, monkeypatch):
    real = check_pool.check_file
    parent = os.getpid()

    def die_in_a_worker(path, *args):
        if os.getpid() != parent:  # this process checks files too: only a worker dies
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, *args)

    monkeypatch.setattr(check_pool, "check_file", die_in_a_worker)  # forked workers inherit it
    # Big enough that this process cannot check them all before the worker takes one.
    for i in range(8):
        (tmp_path / f"{i}.837").write_bytes((X12 / "claims_837p.x12").read_bytes() * 20)
    code, out, err = run_check("-j", "2", str(tmp_path))
    assert code == 3
    lines = err.strip().splitlines()
    assert lines[-1].startswith("medcode: internal error (BrokenProcessPool")
    if check_pool._forking():
        assert lines[-2] == "medcode: a worker process stopped (killed by SIGKILL); the check is incomplete"


def _held_here(monkeypatch, tmp_path, worker=None) -> Path:
    """check_file that, in this process, waits until the worker has checked a file (and a
    moment more, for its outcome to be sent), so the worker's outcomes come in while this
    process still has files of its own; worker(path) runs in the worker first. Returns the
    log of the files this process checked."""
    real = check_pool.check_file
    parent = os.getpid()
    marker = tmp_path / "the worker checked a file"
    log = tmp_path / "checked here"

    def held(path, *args):
        if os.getpid() != parent:
            try:
                if worker is not None:
                    worker(path)
                return real(path, *args)
            finally:
                marker.touch()
        for _ in range(600):
            if marker.exists():
                break
            time.sleep(0.1)
        time.sleep(0.3)
        with open(log, "a") as fh:
            fh.write(f"{path.name}\n")
        return real(path, *args)

    monkeypatch.setattr(check_pool, "check_file", held)  # forked workers inherit it
    return log


def test_outcomes_are_taken_in_between_this_processes_files(tmp_path, default_store, monkeypatch):
    """This process takes in the worker's outcomes after each of its own files, not all after
    its last one; applied in walk order, they are what one process gives."""
    if not check_pool._forking():
        pytest.skip("workers are forked only on Linux, from a process without threads")
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(6):
        (folder / f"{i}.837").write_bytes((X12 / ("claims_837p.x12", "claims_837i.x12")[i % 2]).read_bytes() * (i + 1))
    paths = sorted(folder.glob("*.837"))
    walk = check.Walk()
    alone = check.DocumentChecker(check.Verdicts(default_store))
    expected = [check.check_file(p, alone, check.Options(), walk.max_bytes).print_as("text").printed for p in paths]
    log = _held_here(monkeypatch, tmp_path)
    taken_in: list[int] = []
    real_take_in = check_pool.CheckPool._take_in

    def take_in(self):
        before = len(self._results)
        real_take_in(self)
        taken_in.append(len(self._results) - before)

    monkeypatch.setattr(check_pool.CheckPool, "_take_in", take_in)
    with check_pool.CheckPool(2, default_store.root, check.Options(), walk.max_bytes) as pool:
        pool.plan(paths)
        got = [pool.outcome(p).printed for p in paths]
    assert got == expected and any(p.text for p in got)
    assert log.read_text()  # this process checked files too
    assert sum(taken_in) >= 1  # and took in the worker's between them


def test_a_bug_in_a_worker_taken_in_between_files_ends_the_run(run_check, tmp_path, monkeypatch):
    """A worker's failure taken in after one of this process's own files ends the run with an
    internal error then, before this process checks every other file itself."""
    if not check_pool._forking():
        pytest.skip("workers are forked only on Linux, from a process without threads")

    def fail(path):
        raise ValueError("a bug")

    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i}.837").write_bytes((X12 / "claims_837p.x12").read_bytes())
    log = _held_here(monkeypatch, tmp_path, worker=fail)
    code, out, err = run_check("-j", "2", str(folder))
    assert code == 3 and out == ""
    assert err.strip().splitlines()[-1].startswith("medcode: internal error (ValueError")
    # The worker failed on its first file: this process stopped after its first one, far
    # from checking the 11 others itself.
    assert len(log.read_text().splitlines()) == 1


def test_a_file_added_after_planning_is_still_checked(tmp_path, default_store):
    (tmp_path / "a.837").write_bytes((X12 / "claims_837p.x12").read_bytes())
    (tmp_path / "b.837").write_bytes((X12 / "claims_837d.x12").read_bytes())
    late = tmp_path / "late.837"
    late.write_bytes((X12 / "claims_837i.x12").read_bytes())
    walk = check.Walk()
    with check_pool.CheckPool(2, default_store.root, check.Options(), walk.max_bytes) as pool:
        pool.plan([tmp_path / "a.837", tmp_path / "b.837"])  # late.837 not in the plan
        outcomes = {p.name: pool.outcome(p) for p in (tmp_path / "a.837", late, tmp_path / "b.837")}
    assert all(o.checked for o in outcomes.values())
    alone = check.check_file(late, check.DocumentChecker(check.Verdicts(default_store)), check.Options(), walk.max_bytes)
    assert alone.located and outcomes["late.837"].printed == check.Printed.of(alone.located, "text")


@pytest.mark.parametrize("value", ["0", "x", "-1"])
def test_jobs_must_be_a_whole_number_of_one_or_more(default_index, value):
    done = subprocess.run(
        [sys.executable, "-m", "medcode.server", "check", "-j", value, str(X12 / "claims_837p.x12")],
        capture_output=True, text=True, env={**os.environ, "MEDCODE_INDEX_DIR": str(default_index)}, timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert errors == [f"medcode check: error: argument -j/--jobs: {value!r} is not a whole number of 1 or more"]


def test_default_jobs_is_the_usable_cores():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert check.default_jobs() == (getattr(os, "process_cpu_count", lambda: expected)() or 1)


CLEAN_CSV = b"CPT Code,Description\r\n99213,Office visit\r\n"


@pytest.mark.parametrize(
    ("suffix", "content", "status"),
    [(".837", (X12 / "claims_837p.x12").read_bytes(), 1), (".csv", CLEAN_CSV, 2)],
    ids=["beside-findings-exit-1", "beside-clean-files-exit-2"],
)
def test_a_file_that_cannot_be_read_in_a_worker_is_named_as_in_one_process(run_check, tmp_path, monkeypatch, suffix, content, status):
    real = check.read_text

    def refuse_b(path, *args):
        if path.stem == "b":
            raise PermissionError(13, "Permission denied", str(path))  # root reads any file: simulated
        return real(path, *args)

    monkeypatch.setattr(check, "read_text", refuse_b)  # forked workers inherit it
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}{suffix}").write_bytes(content)
    one, two = run_check("-j", "1", str(tmp_path)), run_check("-j", "2", str(tmp_path))
    assert one == two
    assert one[0] == status and f"medcode: {tmp_path / ('b' + suffix)}: cannot be read (Permission denied)" in one[2]
    assert "checked 2 file(s), 1 unreadable" in one[2]


def test_workers_start_from_the_checker_and_releases_opened_here(tmp_path, default_store, monkeypatch):
    """Forked workers inherit the checker this process built and the index releases it opened
    (the same Release objects, which the code facts the processes send each other name),
    rather than each building and opening its own; no file is checked before they fork, and
    every process takes the files biggest first."""
    if not check_pool._forking():
        pytest.skip("workers are forked only on Linux, from a process without threads")
    sizes = {"a.837": 1, "b.837": 3, "c.837": 1, "d.837": 2, "e.837": 1}
    for name, times in sizes.items():
        (tmp_path / name).write_bytes((X12 / "claims_837p.x12").read_bytes() * times)
    real = check_pool.check_file
    parent = os.getpid()
    worked = tmp_path / "a worker checked a file"
    log = tmp_path / "where"

    def tagged(path, checker, *args):
        store = checker.verdicts.store
        opened = store._releases is not None  # before this file opened them
        if os.getpid() != parent:
            worked.touch()
        else:
            # This process holds its files until the worker has taken one, so both check.
            for _ in range(600):
                if worked.exists():
                    break
                time.sleep(0.1)
        # Where the file was checked, with which checker and releases (inherited: same ids).
        with open(log, "a") as fh:
            fh.write(f"{path.name} {os.getpid()} {id(checker)} {opened} {id(store.releases()[0])}\n")
        return real(path, checker, *args)

    monkeypatch.setattr(check_pool, "check_file", tagged)  # forked workers inherit it
    walk = check.Walk()
    paths = [tmp_path / n for n in sizes]
    with check_pool.CheckPool(2, default_store.root, check.Options(), walk.max_bytes) as pool:
        pool.plan(paths)
        assert all(pool.outcome(p).checked for p in paths)
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(name for name, *_ in lines) == sorted(sizes)
    pids = {pid for _, pid, *_ in lines}
    assert len(pids) == 2 and str(parent) in pids  # the worker and this process both checked files
    assert len({checker for _, _, checker, _, _ in lines}) == 1  # one checker, inherited
    assert {opened for *_, opened, _ in lines} == {"True"}  # the releases were open before any file
    assert len({release for *_, release in lines}) == 1  # the same Release objects in every process
    for pid in pids:
        taken = [sizes[name] for name, p, *_ in lines if p == pid]
        assert taken == sorted(taken, reverse=True)  # biggest first


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_without_fork_spawned_workers_print_what_forked_ones_print(run_check, tmp_path, fmt):
    """A process with a thread running does not fork (the copy could inherit a held lock): it
    spawns workers that build their own checkers, and prints the same bytes."""
    folder = mixed_folder(tmp_path)
    args = ("--format", fmt, str(folder))
    assert check_pool._forking()  # this test process runs one thread
    one, forked = run_jobs(run_check, "1", *args), run_jobs(run_check, "2", *args)
    hold = threading.Event()
    other = threading.Thread(target=hold.wait)
    other.start()
    try:
        assert not check_pool._forking()
        spawned = run_jobs(run_check, "2", *args)
    finally:
        hold.set()
        other.join()
    assert one == forked == spawned
    assert one[0] == 1 and "checked 10 file(s)" in one[2]


def test_a_bug_in_a_worker_ends_the_run_with_an_internal_error(run_check, tmp_path, monkeypatch):
    real = check_pool.check_file
    parent = os.getpid()

    def fail_in_a_worker(path, *args):
        if os.getpid() != parent:
            raise ValueError("a bug")
        return real(path, *args)

    monkeypatch.setattr(check_pool, "check_file", fail_in_a_worker)  # forked workers inherit it
    for i in range(8):
        (tmp_path / f"{i}.837").write_bytes((X12 / "claims_837p.x12").read_bytes() * 20)
    code, out, err = run_check("-j", "2", str(tmp_path))
    assert code == 3 and out == ""
    assert err.strip().splitlines()[-1].startswith("medcode: internal error (ValueError")


def test_findings_printed_file_by_file_are_the_bytes_of_the_whole_array(default_store):
    """Workers send each file's findings already printed; joined, they are exactly what one
    json.dumps of every finding (or one line each) gives."""
    checker = check.DocumentChecker(check.Verdicts(default_store))
    files = [check.check_file(X12 / name, checker, check.Options(), check.DEFAULT_MAX_BYTES) for name in ("claims_837p.x12", "claims_837i.x12")]
    odd = check.Finding("x12-structure", 'a "quoted" é\tmessage\nover lines', 0, 1, "x", None, check.Severity.WARNING, [])
    files.append(check.Outcome(located=[check.Located("dir/ü.837", 0, 0, 0, 1, odd)], checked=True))
    files.append(check.Outcome(checked=True))  # a clean file
    located = [x for o in files for x in o.located]
    assert len(located) > 3
    for fmt, whole in (
        ("json", json.dumps([x.to_json() for x in located], indent=2, ensure_ascii=False)),
        ("text", "\n".join(x.to_text() for x in located)),
    ):
        report = check.Report(fmt)
        for o in files:
            report.add(check.Printed.of(o.located, fmt))
        assert report.text() == whole
        assert report.findings == len(located)
        assert report.count(check.Severity.WARNING) == sum(x.finding.effective_severity == check.Severity.WARNING for x in located)
    assert check.Report("json").text() == json.dumps([]) and check.Report("text").text() == ""


def test_workers_end_when_the_run_is_killed(tmp_path, default_index):
    """A forked worker does not outlive a `medcode check` that was killed: nobody would read
    its outcomes and it would wait for ever to send them."""
    if not check_pool._forking():
        pytest.skip("workers are forked only on Linux, from a process without threads")
    for i in range(40):
        (tmp_path / f"{i}.837").write_bytes((X12 / "claims_837p.x12").read_bytes() * 20)
    run = subprocess.Popen(
        [sys.executable, "-m", "medcode.server", "check", "-j", "3", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "MEDCODE_INDEX_DIR": str(default_index)},
    )
    children = Path(f"/proc/{run.pid}/task/{run.pid}/children")
    workers: list[int] = []
    for _ in range(600):
        workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        if len(workers) == 2 or run.poll() is not None:
            break
        time.sleep(0.1)
    run.kill()
    run.wait()
    assert len(workers) == 2, "the run ended before its workers started"
    for _ in range(600):
        if not any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in workers)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
