"""Building the embedded defaults' steps in worker processes, one step (set) per task.

The sets share nothing while they are built (each writes its own folders), so two cores build
the default index in about the time of its longest set. Progress lines from the workers travel
through one queue and reach the caller's reporter in the calling thread, in the order sent.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

# More workers than this would hold several sets' records in memory at once for little gain:
# the default build has one long set (NDC) and three shorter ones.
MAX_WORKERS = 2
WORKERS_ENV = "MEDCODE_BUILD_WORKERS"  # "1" builds the sets one after another in this process

_queue: Any = None  # the worker's end of the progress queue (set by _init)


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


def _init(queue) -> None:
    global _queue
    _queue = queue


def _send(message: str) -> None:
    _queue.put(message)


_kept: list = []  # what the worker's steps made, kept until the worker exits (see _run)


def _run(root: Path, step: str, report: bool) -> tuple[list, float, float]:
    from .build import timed_step

    built, seconds, cpu = timed_step(root, step, _send if report else None, fork=True)
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
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(queue,))
    try:
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
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    drain()
    if failed:
        step, exc = next((s, failed[s]) for s in steps if s in failed)
        raise naming(exc, step_name(step))
    return [b for step in steps for b in built.get(step, [])]


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

