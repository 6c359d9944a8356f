"""The default build: the same index as before it was made faster, sets built in parallel
worker processes (a failing set is named and sets the exit code), progress inside long steps."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from medcode.index_builder import build, parallel, stage
from medcode.index_builder.codesets import NDC
from medcode.index_builder.importers import ndc
from medcode.index_builder.sources import SourceError

GOLDEN = Path(__file__).parent / "fixtures" / "ndc_default_golden.json"


def test_ndc_default_answers_as_the_build_before_it_was_made_faster(default_store):
    """Records, products, flags and searches of the NDC default, compared with what the build of
    commit b64a5ea wrote (tests/fixtures/ndc_default_golden.json, a sample across the key range
    and searches by product, strength, labeler, package word and NDC digits)."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    rel = default_store.release(NDC, golden["release"])
    assert rel is not None
    assert len(rel) == golden["records_count"]
    assert len(rel._words[0]) == golden["words"]
    for code, want in golden["records"].items():
        rec = rel.get(code)
        assert rec is not None, code
        assert rec.to_json() == want["record"], code
        assert ndc.product_of(rel, rec) == want["product"], code
        assert rel.flags(code) == want["flags"], code
    for query, hits in golden["searches"].items():
        assert [[h.score, h.record.code] for h in rel.search(query, limit=20)] == hits, query


# -- parallel build ----------------------------------------------------------------------------


@pytest.fixture(params=[2, 1], ids=["2 workers", "1 process"])
def fake_steps(request, monkeypatch, tmp_path):
    """build_step replaced by a quick fake that marks the steps it ran, in forked workers (they
    inherit the patch) or in this process; `failing` maps a step to the exception it raises."""
    workers = request.param
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method to hand the fake to the workers")
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setenv(parallel.WORKERS_ENV, str(workers))
    failing: dict[str, BaseException] = {}

    def fake(root, step, progress=None, *, fork=False):
        if progress:
            progress(f"{step}: working in process {multiprocessing.current_process().name}")
        if step in failing:
            raise failing[step]
        (Path(root) / f"{step}.done").write_text(f"fork={fork}")
        return []

    monkeypatch.setattr(build, "build_step", fake)
    if parallel.worker_count(None, 5) != workers:
        pytest.skip("one core: the build runs its sets one after another")
    return failing


def test_sets_are_built_in_worker_processes_and_report_through_the_caller(fake_steps, tmp_path):
    if os.environ[parallel.WORKERS_ENV] == "1":
        pytest.skip("about worker processes")
    lines: list[tuple[str, str]] = []
    timings: dict = {}
    out = build.build_defaults(tmp_path, progress=lambda m: lines.append((threading.current_thread().name, m)), timings=timings)
    assert out == []
    assert sorted(p.name for p in tmp_path.glob("*.done")) == sorted(f"{s}.done" for s in (*build.EMBEDDED_SETS, build.MCE_STEP))
    assert set(timings) == {*build.EMBEDDED_SETS, build.MCE_STEP}
    # The workers let a step fork a helper (writer.write_release: the NDC word index).
    assert {p.read_text() for p in tmp_path.glob("*.done")} == {"fork=True"}
    # Every step's line arrived, sent from a worker process, and reached the reporter in the
    # thread that called build_defaults (the CLI prints there; the LSP hands it to its loop).
    assert {m.split(":")[0] for _, m in lines} == {*build.EMBEDDED_SETS, build.MCE_STEP}
    assert all("MainProcess" not in m for _, m in lines)
    assert {t for t, _ in lines} == {threading.current_thread().name}


def test_a_failing_set_is_named_the_others_are_built_and_the_exit_code_is_2(fake_steps, tmp_path, run):
    fake_steps[NDC] = SourceError("product.txt is empty")
    code, _, err = run("index", "build", "--index-dir", str(tmp_path))
    assert code == 2
    assert "NDC: failed (product.txt is empty)" in err
    assert "medcode: NDC: product.txt is empty" in err
    assert sorted(p.name for p in tmp_path.glob("*.done")) == sorted(
        f"{s}.done" for s in (*build.EMBEDDED_SETS, build.MCE_STEP) if s != NDC
    )


def test_a_bug_in_one_worker_exits_3_and_names_the_set_without_its_message(fake_steps, tmp_path, run):
    fake_steps["hcpcs"] = RuntimeError("text that must not be shown")
    code, _, err = run("index", "build", "--index-dir", str(tmp_path))
    assert code == 3
    assert "HCPCS Level II: failed (RuntimeError)" in err
    assert "internal error (RuntimeError" in err
    assert "must not be shown" not in err
    assert (tmp_path / f"{NDC}.done").exists()


def test_worker_count_follows_the_request_the_cores_and_the_steps(monkeypatch):
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    assert parallel.worker_count(1, 5) == 1
    assert parallel.worker_count(8, 1) == 1
    assert 1 <= parallel.worker_count(None, 5) <= parallel.MAX_WORKERS
    monkeypatch.setenv(parallel.WORKERS_ENV, "1")
    assert parallel.worker_count(None, 5) == 1
    monkeypatch.setenv(parallel.WORKERS_ENV, "two")
    assert parallel.worker_count(None, 5) >= 1


# -- progress inside a long step -----------------------------------------------------------------


def test_a_long_step_says_what_it_is_doing_as_it_changes(monkeypatch):
    lines: list[str] = []
    with build._heartbeat(lines.append, "NDC", every=60, poll=0.01):
        for what in ("reading product.txt", "indexing records: 16,384 of 243,941", "writing the word index"):
            stage.doing(what)
            deadline = time.monotonic() + 5
            while not any(what in line for line in lines) and time.monotonic() < deadline:
                time.sleep(0.01)
    assert [line.split(" … ")[0] for line in lines] == [
        "NDC: reading product.txt",
        "NDC: indexing records: 16,384 of 243,941",
        "NDC: writing the word index",
    ]
    assert stage.now() == ""


def test_the_ndc_reader_and_the_writer_report_their_stages(monkeypatch, tmp_path, build_release):
    from ndc_files import write_folder

    seen: list[str] = []
    monkeypatch.setattr(stage, "doing", seen.append)
    build_release(ndc.from_path(write_folder(tmp_path / "ndctext")))
    assert "reading product.txt" in seen and "reading package.txt" in seen
    assert any(s.startswith("indexing records: 0 of ") for s in seen)
    assert any(s.startswith("writing the word index") for s in seen)
    assert any(s.startswith("writing the products side store") for s in seen)
