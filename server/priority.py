"""Background work gives way while the event loop answers a request (hover, completion).

A re-check of a large document runs in a worker thread beside the event loop, and both need the
GIL. Left to the interpreter they share it in switch-interval slices: a hover that needs 5 ms of
CPU then takes 10-20 ms, more when the worker is inside a long C call. Here the loop says when
it starts and ends answering a request (lsp/protocol.py), and a worker that runs background
work (`background()`) calls `pause()` between its steps (claim by claim, chunk by chunk): while
a request is in flight it waits, without the GIL, until the answer is sent. The request then
runs on its own CPU time alone, and the check loses only that time.

Only work nothing on the loop waits for may be background: a request that waits for a check
(a pull of diagnostics, a small document's check) must not be counted, or each would wait on
the other (`pause` gives up after PAUSE_MAX anyway, and ignores a request older than STALE,
so a request whose answer was never seen cannot stall checks for good).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PAUSE_MAX = 0.25  # seconds one pause waits at most
STALE = 2.0  # seconds after which a request still in flight no longer holds background work

_idle = threading.Event()
_idle.set()
_in_flight: dict[object, float] = {}  # request id -> when it came (perf_counter); loop thread only
_local = threading.local()
_waiting = 0  # requests in flight that wait for a worker (a small document's check): no pause then
_answers = 0  # requests answered (request_done), and when the last one was: loop thread only
_answered_at = 0.0
_on_answer: list[Callable[[], None]] = []  # loop thread only


def request_started(key: object) -> None:
    """Call on the loop when a request that the loop answers comes in."""
    now = time.perf_counter()
    for old in [k for k, at in _in_flight.items() if now - at > STALE]:
        del _in_flight[old]  # never answered (see pause): forgotten
    _in_flight[key] = now
    _idle.clear()


def request_done(key: object) -> None:
    """Call on the loop when a request's answer (or error) is sent."""
    global _answers, _answered_at
    if _in_flight.pop(key, None) is not None:
        _answers += 1
        _answered_at = time.perf_counter()
        if not _in_flight:
            _idle.set()
        for call in _on_answer[:]:
            call()


def answers() -> tuple[int, float]:
    """How many of those requests were answered, and when the last was (perf_counter; 0.0:
    none yet). Call on the loop."""
    return _answers, _answered_at


def on_answer(call: Callable[[], None]) -> Callable[[], None]:
    """Call `call` right after each answer is sent (on the loop) until the function returned
    is called."""
    _on_answer.append(call)
    return lambda: _on_answer.remove(call) if call in _on_answer else None


def answering() -> bool:
    """A request the loop answers is in flight (call on the loop)."""
    if not _in_flight:
        return False
    return time.perf_counter() - max(_in_flight.values()) <= STALE


@contextmanager
def waiting_for_worker() -> Iterator[None]:
    """On the loop, around a request's wait for work in a worker thread: background work
    must not give way meanwhile (the pool's threads may all be in it)."""
    global _waiting
    _waiting += 1
    try:
        yield
    finally:
        _waiting -= 1


@contextmanager
def background(on: bool = True) -> Iterator[None]:
    """Mark the work inside as background for this thread (unless `on` is false): its
    `pause()` calls give way."""
    was = getattr(_local, "on", False)
    _local.on = on or was
    try:
        yield
    finally:
        _local.on = was


def pause() -> None:
    """In background work, between steps: wait while a request is in flight. Cheap otherwise."""
    if _idle.is_set() or _waiting or not getattr(_local, "on", False):
        return
    try:
        newest = max(_in_flight.values(), default=None)  # one C call: the loop cannot change the dict meanwhile
    except RuntimeError:
        return
    if newest is None or time.perf_counter() - newest > STALE:
        return
    _idle.wait(PAUSE_MAX)
