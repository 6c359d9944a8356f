"""How long the event loop could not answer, measured inside the server (for bench/, off by default).

A hover's wall-clock time on a shared machine mixes what the server did with what the other
processes on it did. What the server controls is how long its loop cannot run a request:
a callback on the loop that runs long, or a worker thread that holds the GIL in one long C
call (a join of the whole text, a collection of the garbage collector). With MEDCODE_STALLS
set to a file name, the server records, and writes there as JSON when it exits:

* `loop`: the loop's lateness, from a task that asks to wake every 2 ms; each late
  wake-up with the CPU seconds the main thread and the whole process used meanwhile (a
  stall the process spent on the CPU is the server's own; one it did not is the machine's);
* `callbacks`: loop callbacks that ran long, with the main thread's CPU seconds and what ran
  (the coroutine or the JSON-RPC method: never document text);
* `gil` (only with MEDCODE_STALLS_GIL=1: a third thread asking for the GIL slows the others'
  hand-offs): a thread that asks for the GIL every millisecond; gaps it waited longer, with
  the process's CPU seconds meanwhile (a worker's long C call shows here and in `loop`);
* `gc`: collections that took long, with their generation and the thread they ran in;
* `requests`: every request from its message to its answer, with the main thread's CPU and
  the whole process's meanwhile (the process's beyond the main thread's: other threads ran
  while the request waited, e.g. a check holding the GIL; wall beyond both: the machine).

Times are `time.perf_counter()` (CLOCK_MONOTONIC, shared with the bench process), so the bench
can tell which of its phases a stall fell in.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import threading
import time
from functools import partial

import orjson

ENV = "MEDCODE_STALLS"
THRESHOLD = 0.005  # seconds: shorter stalls are not recorded
TICK = 0.002  # seconds between the probes' wake-ups: finer would cost the loop more than it tells

_watch: StallWatch | None = None


class StallWatch:
    def __init__(self, path: str) -> None:
        self.path = path
        self.loop: list[tuple[float, float, float, float]] = []  # (at, seconds late, main CPU, process CPU)
        self.callbacks: list[tuple[float, float, float, str]] = []  # (at, seconds, main CPU, what)
        self.gil: list[tuple[float, float, float]] = []  # (at, seconds waited, process CPU)
        self.gc: list[tuple[float, float, int, str, float]] = []  # (at, seconds, generation, thread, its CPU)
        self._gc_started: dict[int, tuple[float, float]] = {}
        self._stop = threading.Event()
        self.gil_probe_on = False
        self.methods: list[str] = []  # the JSON-RPC methods handled in the running callback
        self.requests: list[tuple[float, float, float, float, str]] = []  # (at, seconds, main CPU, process CPU, method)
        self._open: dict[object, tuple[float, float, float, str]] = {}

    # -- the loop ---------------------------------------------------------------------------
    async def probe(self) -> None:
        while not self._stop.is_set():
            t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
            await asyncio.sleep(TICK)
            late = time.perf_counter() - t0 - TICK
            if late > THRESHOLD:
                self.loop.append((t0, late, time.thread_time() - c0, time.process_time() - p0))

    def callback_timer(self, run):
        """Handle._run, timed: the callbacks that hold the loop long, and what they are."""
        watch = self

        def timed(handle) -> None:
            watch.methods = []
            t0, c0 = time.perf_counter(), time.thread_time()
            run(handle)
            wall = time.perf_counter() - t0
            if wall > THRESHOLD:
                what = _what(handle)
                if watch.methods:  # the read loop handles every message already read in one go
                    what += " [" + " ".join(watch.methods) + "]"
                watch.callbacks.append((t0, wall, time.thread_time() - c0, what))

        return timed

    # -- the GIL ----------------------------------------------------------------------------
    def gil_probe(self) -> None:
        while not self._stop.is_set():
            t0, p0 = time.perf_counter(), time.process_time()
            time.sleep(TICK)
            waited = time.perf_counter() - t0 - TICK
            if waited > THRESHOLD:
                self.gil.append((t0, waited, time.process_time() - p0))

    def on_gc(self, phase: str, info: dict) -> None:
        ident = threading.get_ident()
        if phase == "start":
            self._gc_started[ident] = (time.perf_counter(), time.thread_time())
            return
        started = self._gc_started.pop(ident, None)
        if started is not None and (took := time.perf_counter() - started[0]) > THRESHOLD:
            self.gc.append((started[0], took, info.get("generation", -1), threading.current_thread().name, time.thread_time() - started[1]))

    # -- requests (on the loop) ------------------------------------------------------------------
    def request_in(self, msg_id: object, method: str) -> None:
        self._open[msg_id] = (time.perf_counter(), time.thread_time(), time.process_time(), method)

    def request_out(self, msg_id: object) -> None:
        opened = self._open.pop(msg_id, None)
        if opened is not None:
            t0, c0, p0, method = opened
            self.requests.append((t0, time.perf_counter() - t0, time.thread_time() - c0, time.process_time() - p0, method))

    def dump(self) -> None:
        self._stop.set()
        data = {
            "threshold_s": THRESHOLD, "gil_probe": self.gil_probe_on, "loop": self.loop, "callbacks": self.callbacks, "gil": self.gil, "gc": self.gc,
            "requests": self.requests,
        }  # fmt: skip
        try:
            with open(self.path, "wb") as f:
                f.write(orjson.dumps(data))
        except OSError:
            pass


def _what(handle) -> str:
    cb = getattr(handle, "_callback", None)
    while isinstance(cb, partial):
        cb = cb.func
    task = getattr(cb, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        return getattr(coro, "__qualname__", type(coro).__name__)
    return getattr(cb, "__qualname__", type(cb).__name__)


def start() -> None:
    """Start watching when MEDCODE_STALLS names a file (call on the event loop, once)."""
    global _watch
    path = os.environ.get(ENV)
    if not path or _watch is not None:
        return
    _watch = watch = StallWatch(path)
    asyncio.events.Handle._run = watch.callback_timer(asyncio.events.Handle._run)
    from .protocol import MedcodeProtocol

    handle_message = MedcodeProtocol.handle_message

    send_response = MedcodeProtocol._send_response

    def noted(protocol, message) -> None:
        method = getattr(message, "method", None)
        watch.methods.append(str(method or "response"))
        if method is not None and getattr(message, "id", None) is not None:
            watch.request_in(message.id, method)
        handle_message(protocol, message)

    def answered(protocol, msg_id, *args, **kwargs) -> None:
        send_response(protocol, msg_id, *args, **kwargs)
        watch.request_out(msg_id)

    MedcodeProtocol.handle_message = noted
    MedcodeProtocol._send_response = answered
    gc.callbacks.append(watch.on_gc)
    if os.environ.get(ENV + "_GIL") == "1":
        watch.gil_probe_on = True
        threading.Thread(target=watch.gil_probe, name="medcode-stalls", daemon=True).start()
    asyncio.ensure_future(watch.probe())
    atexit.register(watch.dump)
