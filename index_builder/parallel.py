"""Building the embedded defaults' steps in worker processes, one step (set) per task.

The sets share nothing while they are built (each writes its own folders), so two cores build
the default index in about the time of its longest set. Progress lines from the workers travel
through one queue and reach the caller's reporter in the calling thread, in the order sent.

Interrupted (Ctrl-C), the caller alone handles it: the workers ignore SIGINT (a terminal sends
it to every process of its group, and an idle worker printed a traceback), and the caller
stops them with SIGTERM (_stop): a worker then ends its step as a failed one ends (its helper
processes stopped, its .building folders removed) and exits; an idle one exits at once. One
still there after _STOP_WAIT is killed, and the caller removes the .building folders it left
(they carry its process id). A worker whose caller is killed outright gets the same SIGTERM
from the kernel.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing.connection import wait as wait_for_ends
from pathlib import Path
from typing import Any

from .forked import end_with_parent
from .writer import remove_building

# More workers than this would hold several sets' records in memory at once for little gain:
# the default build has one long set (NDC) and three shorter ones.
MAX_WORKERS = 2
WORKERS_ENV = "MEDCODE_BUILD_WORKERS"  # "1" builds the sets one after another in this process

_queue: Any = None  # the worker's end of the progress queue (set by _init)
_STOP_WAIT = 30.0  # seconds _stop waits for the workers to clean up before killing them


def worker_count(requested: int | None, steps: int) -> int:
    if requested is None:
        try:
            requested = int(os.environ.get(WORKERS_ENV, "") or MAX_WORKERS)
        except ValueError:
            requested = MAX_WORKERS
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(requested, cores, steps))


def _context():
    """fork where it is safe (a single-threaded process on Linux: the CLI); otherwise a fresh
    interpreter, so a worker never inherits a lock another thread held (the language server
    builds from a thread)."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class Stopped(BaseException):
    """Raised in a worker's step when the worker is told to stop (SIGTERM): a BaseException, so
    no `except Exception` takes it for the step's own failure; the step's cleanup runs."""


_busy = False  # the worker is in a step (_run)
_stopping = False  # the worker was told to stop


def _init(queue, parent: int | None) -> None:
    global _queue
    _queue = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle (_stop)
    signal.signal(signal.SIGTERM, _on_stop)
    if hasattr(signal, "pthread_sigmask"):  # held by the caller while it forked (_sigint_held)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if parent is not None:  # forked by the caller itself (not a forkserver or spawn)
        end_with_parent(parent, signal.SIGTERM)


def _on_stop(signum, frame) -> None:
    global _stopping
    if _stopping:  # once: a second signal (the executor's own terminate) must not cut the cleanup short
        return
    _stopping = True
    if not _busy:
        os._exit(1)  # idle: nothing to clean up
    raise Stopped()


def _send(message: str) -> None:
    _queue.put(message)


_kept: list = []  # what the worker's steps made, kept until the worker exits (see _run)


def _run(root: Path, step: str, report: bool) -> tuple[list, float, float]:
    from .build import timed_step

    global _busy
    try:
        _busy = True  # in the try: from here a stop always ends in the finally
        built, seconds, cpu = timed_step(root, step, _send if report else None, fork=True)
    finally:
        _busy = False
        if _stopping:
            os._exit(1)  # the step's cleanup has run (or it had ended): the caller wants no more
    # The records stay in the worker: the caller needs where each release went and its counts.
    # The NDC step's (compact) records are not freed either: freeing its quarter of a million
    # records took 0.4 s of the build's wall clock, at its end, and a fork or forkserver worker
    # ends with os._exit (multiprocessing), which hands the memory back at once. Frozen, so no
    # later collection scans them. Other steps' records are freed: the worker may build more.
    kept = [b.result for b in built if b.result.compact]
    if kept:
        _kept.extend(kept)
        gc.freeze()
    for b in built:
        b.result = dataclasses.replace(b.result, records=[], aux={}, key_sets={}, finish=None)
    return built, seconds, cpu


def build_steps(
    root: Path,
    steps: list[str],
    progress: Callable[[str], None] | None,
    workers: int,
    longest_first: Callable[[str], float],
    timings: dict[str, tuple[float, float]] | None = None,
) -> list:
    from .build import step_name

    ctx = _context()
    queue = ctx.SimpleQueue()

    def drain() -> None:
        while not queue.empty():
            message = queue.get()
            if progress:
                progress(message)

    built: dict[str, list] = {}
    failed: dict[str, BaseException] = {}
    parent = os.getpid() if ctx.get_start_method() == "fork" else None
    before = {child.pid for child in multiprocessing.active_children()}
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(queue, parent))
    try:
        with _sigint_held():  # a fork context forks every worker at the first submit
            futures: dict[Future, str] = {
                pool.submit(_run, Path(root), step, progress is not None): step for step in sorted(steps, key=longest_first)
            }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for future in done:
                step = futures[future]
                exc = future.exception()
                if exc is None:
                    built[step], seconds, cpu = future.result()
                    if timings is not None:
                        timings[step] = (seconds, cpu)
                    continue
                failed[step] = exc
                if progress:
                    progress(f"{step_name(step)}: failed ({why(exc)})")
    except KeyboardInterrupt:
        _stop(pool, before, Path(root))
        raise
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    drain()
    if failed:
        step, exc = next((s, failed[s]) for s in steps if s in failed)
        raise naming(exc, step_name(step))
    return [b for step in steps for b in built.get(step, [])]


@contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT blocked in this thread while workers are forked: a forked worker inherits the
    block, and one arriving before its _init (which ignores it from then on) would otherwise
    end it with a traceback. One sent to this process meanwhile is delivered on leaving."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C while _stop waits must not leave the workers unwaited for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if old is not None:  # None: a handler not set from Python, which cannot be put back
            signal.signal(signal.SIGINT, old)


def _stop(pool: ProcessPoolExecutor, before: set[int], root: Path) -> None:
    """End an interrupted build's workers and return once they are gone: each told to stop
    (SIGTERM, _on_stop) cleans up its step first; one still there after _STOP_WAIT is killed,
    and the .building folders it left are removed here. The executor's shutdown would let
    every running step finish first.

    The executor has no public list of its processes: they are this process's children
    started since `before` (multiprocessing.active_children; the executor starts them in the
    thread that submits, so all have started by now)."""
    with _sigint_ignored():
        processes = [child for child in multiprocessing.active_children() if child.pid not in before]
        for process in processes:
            process.terminate()
        left = {process.sentinel: process for process in processes}
        deadline = time.monotonic() + _STOP_WAIT
        while left and (remaining := deadline - time.monotonic()) > 0:
            for sentinel in wait_for_ends(list(left), remaining):
                del left[sentinel]
        for process in left.values():
            process.kill()
        for process in left.values():
            process.join()
            remove_building(root, process.pid)
        pool.shutdown(wait=True, cancel_futures=True)


def why(exc: BaseException) -> str:
    from .sources import SourceError
    from .writer import IndexWriteError

    # Only our own errors carry a message meant for the user; a bug shows its type.
    if isinstance(exc, (SourceError, IndexWriteError, OSError)):
        return str(exc)
    return type(exc).__name__


def naming(exc: BaseException, name: str) -> BaseException:
    """The error again, its message prefixed with the set it came from (for the user's own
    error types; others are raised as they are, and the progress line named the set)."""
    from .sources import SourceError
    from .writer import IndexWriteError

    if type(exc) in (SourceError, IndexWriteError) and exc.args and isinstance(exc.args[0], str):
        if not exc.args[0].startswith(name):
            renamed = type(exc)(f"{name}: {exc.args[0]}", *exc.args[1:])
            renamed.__cause__ = exc.__cause__
            return renamed
    return exc

