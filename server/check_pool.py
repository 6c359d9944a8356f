"""Worker processes for `medcode check -j N`.

Every process keeps one DocumentChecker for all the files it checks, as `-j 1` does, so its
memos (the facts of each code, the claim edits' tables) fill once per process.

On Linux, while this process runs no other thread, the workers are forked and this process is
one of the N: it builds the checker and opens the index releases, then forks N - 1 workers,
which inherit them copy-on-write (and the same Release objects, which the code facts they send
each other name). All N then take the next file, biggest first, from one shared counter until
none is left, so no process waits while another has a queue; between files (and every few
dozen new codes within one) they send each other the facts of the codes they worked out
(check_share.py), so each works out about 1/N of them rather than all. Nothing is checked
before the fork: what a first file costs here (the facts of its codes) the processes would
otherwise share, and everything done here alone lengthens the run by all of its time.
Between its own files this process takes in the outcomes the workers sent, so at the end
only the last ones are left to wait for. Elsewhere (macOS, Windows, or a process
with threads, where fork is unsafe) N spawned workers each build their own checker and this
process only waits for them.

The walk stays in this process: it names the files, and their outcomes are applied in that
order, so notes, findings, the summary and the exit status are the ones `-j 1` gives.

A worker that dies (killed, out of memory) ends the run with BrokenProcessPool, which reaches
the CLI as an internal error (exit 3) instead of a hang.
"""

from __future__ import annotations

import gc
import json
import mmap
import multiprocessing
import os
import queue
import signal
import struct
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from medcode.index_builder.forked import end_with_parent
from medcode.index_builder.reader import IndexStore

from .analysis import DocumentChecker
from .check import Outcome, check_file
from .kinds import Options
from .verdicts import Verdicts

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from .check_share import Sharing

# What the forked processes count in shared memory: the files taken so far. An anonymous
# shared mapping rather than multiprocessing's RawValue: imports before the fork are paid
# while the run has one process (concurrent.futures, ~6 ms, is imported only by the spawning
# path and when a worker died).
_COUNT = struct.Struct("q")

# What a spawned worker keeps between files: its checker (and so its memos), options, size
# limit, output format.
_worker: tuple[DocumentChecker, Options, int, str] | None = None


def _start(root: Path, options: Options, max_bytes: int, fmt: str) -> None:
    global _worker
    _worker = (DocumentChecker(Verdicts(IndexStore(root))), options, max_bytes, fmt)


def _check(path: str) -> Outcome:
    assert _worker is not None, "worker started without _start"
    checker, options, max_bytes, fmt = _worker
    return check_file(Path(path), checker, options, max_bytes).print_as(fmt)


def _forking() -> bool:
    """Whether workers are forked from this process: on Linux, and only while it runs no other
    thread (fork copies just the calling thread: a lock another thread held at that moment
    would stay locked in the worker for ever). macOS and Windows do not fork safely."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class _Failed:
    """An exception a forked worker raised while checking a file, sent in place of its outcome."""

    def __init__(self, exc: BaseException):
        self.exc = exc


class CheckPool:
    """Files checked by `jobs` processes; `outcome(path)` gives one path's result."""

    # Files queued per spawned worker: enough to keep each busy, few enough not to hold every result.
    AHEAD = 4
    # How often a wait for a forked worker's result looks whether the workers still live (s).
    POLL = 0.25
    # How long a forked worker with no file left is given to end by itself (s).
    ENDING = 0.5

    def __init__(self, jobs: int, root: Path, options: Options, max_bytes: int, fmt: str = "text"):
        self.jobs = jobs
        self._args = (root, options, max_bytes, fmt)
        self._forked = _forking()
        self._local: DocumentChecker | None = None
        self._results: dict[str, Outcome] = {}  # outcomes not yet asked for
        # Forked workers: the files in the order they are taken, the shared count of those
        # taken, the queue their outcomes come back by, the processes.
        self._order: list[str] = []
        self._waiting: set[str] = set()  # planned and not yet asked for
        self._taken = None
        self._queue = None
        self._processes: list = []
        self._sharing: Sharing | None = None  # what the forked processes tell each other
        # For the bench (_report): when the workers forked, when this process's last file
        # ended, and how long it waited for the workers' outcomes (perf_counter seconds).
        self._forked_at = self._last_end = 0.0
        self._waited = 0.0
        # Spawned workers: the executor, what is queued, what is still to queue.
        self._executor: ProcessPoolExecutor | None = None
        self._queued: dict[str, Future] = {}
        self._planned: Iterator[Path] = iter(())

    def __enter__(self) -> CheckPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Once the walk is done nothing more is wanted from the workers: they end by themselves
        # once no file is left (a moment is allowed for that); after a failure they are ended.
        for process in self._processes:
            if exc is None:
                process.join(self.ENDING)
            if process.exitcode is None:
                process.terminate()
        for process in self._processes:
            process.join()
        if self._queue is not None:
            self._queue.close()
        if self._taken is not None:
            self._taken.close()
        if self._sharing is not None:
            _report(self._sharing, "parent", self._timeline())
            self._sharing.pipes.close()
        if self._executor is not None:
            self._executor.shutdown(wait=exc is None, cancel_futures=True)

    def plan(self, paths: Iterable[Path]) -> None:
        """The paths the walk is expected to name, in its order."""
        if self._forked:
            self._fork(list(paths))
        else:
            # Spawned: each worker starts a fresh interpreter, whose start-up and first files cost
            # what this process already paid; no worker starts before the first submit.
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_start, initargs=self._args)
            self._planned = iter(paths)
            self._top_up()

    def outcome(self, path: Path) -> Outcome:
        key = str(path)
        if self._forked:
            while key in self._waiting and key not in self._results:
                self._work_or_wait()
            self._waiting.discard(key)
        else:
            future = self._queued.pop(key, None)
            self._top_up()
            if future is not None:
                return future.result()
        done = self._results.pop(key, None)
        if done is not None:
            return done
        # A file that appeared after the planning walk: checked here.
        _, options, max_bytes, fmt = self._args
        return check_file(path, self._checker(), options, max_bytes).print_as(fmt)

    def _checker(self) -> DocumentChecker:
        if self._local is None:
            self._local = DocumentChecker(Verdicts(IndexStore(self._args[0])))
        return self._local

    def _check_here(self, key: str) -> None:
        _, options, max_bytes, fmt = self._args
        self._results[key] = check_file(Path(key), self._checker(), options, max_bytes).print_as(fmt)
        self._last_end = time.perf_counter()
        if self._sharing is not None:
            self._sharing.files += 1
            self._sharing.exchange()

    # -- forked workers, this process among them ------------------------------------------------
    def _fork(self, paths: list[Path]) -> None:
        # Biggest first: the last files taken are the small ones, so the processes end together.
        order = sorted(dict.fromkeys(str(p) for p in paths), key=_size, reverse=True)
        self._waiting = set(order)
        if not order:
            return
        self._order = order
        # Opened here, once: the workers inherit the open releases rather than each opening
        # them, and the code facts they send each other name releases by their identity.
        self._checker().verdicts.store.releases()
        context = multiprocessing.get_context("fork")
        self._parent = os.getpid()
        self._taken = mmap.mmap(-1, _COUNT.size)  # shared (MAP_SHARED), zeroed
        self._lock = context.Lock()
        self._queue = context.Queue()
        from .check_share import Sharing  # Unix only, as forking is

        self._sharing = Sharing(self._checker(), self.jobs)
        # MEDCODE_CHECK_SHARE=0: every process works out every code itself, as before the
        # sharing (for bench/bench_check_parallel.py's comparison, or to rule the sharing out).
        self._sharing.stopped = os.environ.get("MEDCODE_CHECK_SHARE") == "0"
        self._sharing.attach()
        self._sharing.cpu_at_fork = time.process_time()
        self._forked_at = self._last_end = time.perf_counter()
        # Objects that exist now are left out of the workers' garbage collections: those would
        # only walk (and so copy, page by page) the memory they share with this process.
        gc.freeze()
        try:
            for me in range(1, self.jobs):
                process = context.Process(target=self._serve, args=(me,), daemon=True)
                process.start()
                self._processes.append(process)
        finally:
            gc.unfreeze()

    def _take(self) -> str | None:
        """The next file nobody has taken, or None."""
        with self._lock:
            (i,) = _COUNT.unpack_from(self._taken)
            if i >= len(self._order):
                return None
            _COUNT.pack_into(self._taken, 0, i + 1)
        return self._order[i]

    def _serve(self, me: int) -> None:
        """A forked worker: check files until none is left, each outcome sent back."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is this process's to handle
        end_with_parent(self._parent)
        _, options, max_bytes, fmt = self._args
        checker = self._checker()
        sharing = self._sharing
        sharing.me = me
        sharing.attach()
        while (key := self._take()) is not None:
            try:
                self._queue.put((key, check_file(Path(key), checker, options, max_bytes).print_as(fmt)))
                self._last_end = time.perf_counter()
                sharing.files += 1
                sharing.exchange()
            except BaseException as exc:  # noqa: BLE001 - the run's process raises it
                self._queue.put((key, _Failed(exc)))
                break
        _report(sharing, "worker", self._timeline())
        self._queue.close()
        self._queue.join_thread()

    def _work_or_wait(self) -> None:
        """Check the next file here, or when every file is taken, take in one worker's outcome."""
        key = self._take()
        if key is not None:
            self._check_here(key)
            self._take_in()
            return
        ended = False
        waiting = time.perf_counter()
        while True:
            try:
                key, got = self._queue.get(timeout=self.POLL)
                self._waited += time.perf_counter() - waiting
                break
            except queue.Empty:
                dead = [p.exitcode for p in self._processes if p.exitcode not in (None, 0)]
                if dead or ended:
                    why = ", ".join(_death(code) for code in dead) or "ended with files unchecked"
                    print(f"medcode: a worker process stopped ({why}); the check is incomplete", file=sys.stderr)
                    from concurrent.futures.process import BrokenProcessPool

                    raise BrokenProcessPool(why)
                # A worker sends its last outcomes before it ends: once all have ended, one
                # more look, then nothing else is coming.
                ended = all(p.exitcode is not None for p in self._processes)
        self._got(key, got)

    def _take_in(self) -> None:
        """The outcomes the workers sent meanwhile, taken in without waiting: read now, beside
        the workers' checking, rather than all after this process's last file (where the
        run waits for them), and a worker's outcomes do not pile up behind a full pipe."""
        while True:
            try:
                key, got = self._queue.get_nowait()
            except queue.Empty:
                return
            self._got(key, got)

    def _got(self, key: str, got: Outcome | _Failed) -> None:
        if isinstance(got, _Failed):
            raise got.exc
        self._results[key] = got

    def _timeline(self) -> dict[str, float]:
        """Wall seconds from the fork: to the end of this process's last file, and to now (it
        ends); and the seconds it waited for the workers' outcomes once no file was left to
        take (the parent's tail: a worker still checking, or outcomes slow to come)."""
        now = time.perf_counter()
        return {
            "last_file_end_s": round(self._last_end - self._forked_at, 3),
            "ended_s": round(now - self._forked_at, 3),
            "waited_s": round(self._waited, 3),
        }

    # -- spawned workers ------------------------------------------------------------------------
    def _top_up(self) -> None:
        while len(self._queued) < self.jobs * self.AHEAD:
            path = next(self._planned, None)
            if path is None:
                return
            key = str(path)
            if key not in self._queued:
                self._queued[key] = self._executor.submit(_check, key)


def _report(sharing: Sharing, role: str, timeline: dict[str, float]) -> None:
    """For bench/bench_check_parallel.py: when MEDCODE_CHECK_STATS names a file, each forked
    process appends one JSON line to it as it ends: its CPU seconds (user + sys: the run's
    process since it started, with its CPU when it forked; a worker since its fork), the files
    it checked after the fork, the memo entries it worked out itself, sent, and took in, and
    its timeline (CheckPool._timeline)."""
    target = os.environ.get("MEDCODE_CHECK_STATS")
    if not target:
        return
    line = {
        "role": role,
        "pid": os.getpid(),
        "cpu_s": round(time.process_time(), 3),
        "files": sharing.files,
        "worked_out": sharing.worked_out(),
        "sent": sharing.counts.sent,
        "taken": sharing.counts.taken,
        **timeline,
    }
    if role == "parent":
        line["cpu_at_fork_s"] = round(sharing.cpu_at_fork, 3)
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
    except OSError:
        pass


def _size(key: str) -> int:
    try:
        return os.stat(key).st_size
    except OSError:
        return 0


def _death(exitcode: int) -> str:
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"
