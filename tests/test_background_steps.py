"""A background re-check gives way between its steps (server/priority.py): the steps that go
over every claim past an edit (their offsets and counts moved) or over every diagnostic (the
JSON written) end at pauses, so a request on the loop shares the GIL with at most one step of
the worker, not with the rest of the check. Done in blocks, the work must give what it gave
in one go."""

from __future__ import annotations

import sys
import threading
import time
from array import array
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402
from test_lsp_diagnostics_cache import BASE, findings_of  # noqa: E402
from test_x12_incremental import DAY, assert_same, claims, fresh  # noqa: E402

from medcode.server import analysis, priority  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.lsp import diagnostics  # noqa: E402
from medcode.server.lsp.diagnostics import STEP, DiagnosticsCache, diagnostics_json  # noqa: E402
from medcode.server.lsp.settings import Settings  # noqa: E402
from medcode.server.positions import LineIndex  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402
from medcode.server.x12 import document, incremental  # noqa: E402
from medcode.server.x12.document import shifted  # noqa: E402
from medcode.server.x12.edits import EditLog  # noqa: E402


def spy_pauses(monkeypatch, *modules) -> list[str]:
    """The functions that call pause(), in order of the calls."""
    calls: list[str] = []

    def pause() -> None:
        calls.append(sys._getframe(1).f_code.co_name)

    for module in modules:
        monkeypatch.setattr(module, "pause", pause)
    return calls


def test_shifted_moves_every_value_a_block_at_a_time(monkeypatch):
    monkeypatch.setattr(document, "SHIFT_BLOCK", 4)
    calls = spy_pauses(monkeypatch, document)
    values = array("q", [0, 5, 9, 12, 40, 41, 77, 100, 101, 250])
    assert list(shifted(values, 7)) == [v + 7 for v in values]
    assert calls == ["shifted"] * 3  # 10 values in blocks of 4
    assert list(shifted(values, -5)) == [v - 5 for v in values]
    calls.clear()
    assert shifted(values, 0) is values and calls == []  # nothing moves: no copy
    assert list(shifted(array("q"), 3)) == []


def test_a_background_shift_waits_for_the_answer_in_flight(monkeypatch):
    monkeypatch.setattr(priority, "PAUSE_MAX", 60.0)
    monkeypatch.setattr(document, "SHIFT_BLOCK", 2)
    seen: dict = {}

    def work() -> None:
        with priority.background():
            seen["result"] = list(shifted(array("q", range(6)), 1))
        seen["answered before the shift ended"] = seen.get("answered", False)

    priority.request_started("hover-shift")
    try:
        thread = threading.Thread(target=work)
        thread.start()
        time.sleep(0.05)  # the worker reaches its first pause (a slow start only makes this pass trivially)
        seen["answered"] = True
    finally:
        priority.request_done("hover-shift")
    thread.join(10)
    assert not thread.is_alive() and seen["answered before the shift ended"] is True
    assert seen["result"] == [1, 2, 3, 4, 5, 6]


def test_a_rewalk_moved_in_small_blocks_equals_a_fresh_check(default_store, monkeypatch):
    """A line added near the start moves every later claim's offsets and counts: in blocks of
    3 (many pauses), the re-check still equals a fresh one."""
    monkeypatch.setattr(document, "SHIFT_BLOCK", 3)
    monkeypatch.setattr(analysis, "MOVE_STEP", 3)
    calls = spy_pauses(monkeypatch, document, incremental, analysis)
    text = make_837(claims("P") * 10)
    checker = DocumentChecker(Verdicts(default_store), DAY)
    log = EditLog(text)
    checker.check(text, edits=log)
    at = text.index("HI*ABK:E11*")
    line = "NTE*ADD*A LINE~\n"
    for start, end, new in ((at, at, line), (at, at + len(line), "")):  # added, then removed
        before = len(calls)
        edited = text[:start] + new + text[end:]
        log = log.then(start, end, len(new)).bound(edited)
        got = checker.check(edited, edits=log)
        assert_same(got, fresh(default_store, edited), edited)
        assert got.claims_checked <= 2
        # The spans of the 39 claims past the edit moved (two arrays), 3 values at a time; and
        # their findings, moved in place 3 at a time.
        assert calls[before:].count("shifted") >= 2 * (39 // 3)
        moved = sum(1 for f in checker._totals.findings if f.start > at + len(new))
        assert moved > 6 and calls[before:].count("after") >= moved // 3
        text = edited
    assert {"rewalk", "_check_x12", "_findings"} <= set(calls)


def test_the_diagnostics_json_is_written_between_pauses(monkeypatch):
    """A conversion of many findings pauses while it places them and while it writes their
    JSON, and writes what a conversion in one go writes."""
    text = BASE * (4 * STEP // len(findings_of(BASE)) + 1)
    findings = findings_of(text)
    index = LineIndex(text, "utf-16")
    want = diagnostics_json(findings, index, Settings())
    calls = spy_pauses(monkeypatch, diagnostics)
    got = DiagnosticsCache().convert(findings, index, Settings(), None)
    assert got.body == want.body and got.count == len(orjson.loads(got.body)) == len(findings)
    assert calls.count("_array") >= len(findings) // STEP
    assert calls.count("convert") >= 2 * (len(findings) // STEP)
