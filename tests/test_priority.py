"""Background checks give way to the loop's requests (server/priority.py): pause() waits while
a request is in flight, only in background work, and never while a request waits for a worker."""

from __future__ import annotations

import threading
import time

from medcode.server import priority


def _pause_in_thread(on: bool, seen: dict) -> threading.Thread:
    def run() -> None:
        with priority.background(on):
            priority.pause()
        seen["answered before the pause ended"] = seen.get("answered", False)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_background_work_waits_until_the_answer_is_sent(monkeypatch):
    monkeypatch.setattr(priority, "PAUSE_MAX", 60.0)
    seen: dict = {}
    priority.request_started("hover-1")
    try:
        thread = _pause_in_thread(True, seen)
        time.sleep(0.05)  # the worker reaches its pause (not a timing assert: a slow start only makes this pass trivially)
        seen["answered"] = True
    finally:
        priority.request_done("hover-1")
    thread.join(10)
    assert not thread.is_alive() and seen["answered before the pause ended"] is True


def test_other_work_and_requests_that_wait_for_a_worker_do_not_pause(monkeypatch):
    monkeypatch.setattr(priority, "PAUSE_MAX", 60.0)
    priority.request_started("hover-2")
    try:
        seen: dict = {}
        thread = _pause_in_thread(False, seen)  # not background: never waits
        thread.join(10)
        assert not thread.is_alive() and seen["answered before the pause ended"] is False
        with priority.waiting_for_worker():  # the request itself waits for a worker thread
            seen = {}
            thread = _pause_in_thread(True, seen)
            thread.join(10)
            assert not thread.is_alive() and seen["answered before the pause ended"] is False
    finally:
        priority.request_done("hover-2")


def test_a_request_never_answered_stops_holding_work_back(monkeypatch):
    monkeypatch.setattr(priority, "PAUSE_MAX", 60.0)
    monkeypatch.setattr(priority, "STALE", 0.0)
    priority.request_started("lost")
    try:
        seen: dict = {}
        thread = _pause_in_thread(True, seen)
        thread.join(10)
        assert not thread.is_alive() and seen["answered before the pause ended"] is False
    finally:
        priority.request_done("lost")


def test_answers_counts_the_requests_answered_and_when_the_last_was():
    # What a large publish goes by (lsp/publish_hold.py): an answer to a request the loop
    # answers counts; one the server never marked (a pull, an error to an unknown id) does not.
    count, at = priority.answers()
    priority.request_done("never started")
    assert priority.answers() == (count, at)
    before = time.perf_counter()
    priority.request_started("hover-3")
    priority.request_done("hover-3")
    count_now, at_now = priority.answers()
    assert count_now == count + 1 and at_now >= before
    priority.request_done("hover-3")  # answered once only
    assert priority.answers()[0] == count + 1


def test_on_answer_is_called_after_each_answer_until_stopped():
    calls: list[int] = []
    stop = priority.on_answer(lambda: calls.append(priority.answers()[0]))
    try:
        priority.request_started("hover-4")
        assert calls == []
        priority.request_done("hover-4")
        assert calls == [priority.answers()[0]]  # called after the answer was counted
        priority.request_done("never started")
        assert len(calls) == 1
    finally:
        stop()
    priority.request_started("hover-5")
    priority.request_done("hover-5")
    assert len(calls) == 1
    stop()  # twice: harmless
