"""Worker processes for `medcode check -j N`.

Each worker keeps one DocumentChecker for every file it checks, as `-j 1` does in this process.
Where workers are forked (Linux), this process builds that checker and checks the first file
with it before the workers start: they inherit it copy-on-write with what it has loaded and
worked out (open releases, the claim edits' per-release tables, the facts of the codes seen so
far), instead of each paying for them again. Elsewhere each worker builds its own. The walk
stays in the calling process: it names the files, and their outcomes are applied in that
order, so notes, findings, the summary and the exit status are the ones `-j 1` gives.

A worker that dies (killed, out of memory) breaks the pool: the pending result raises
BrokenProcessPool, which reaches the CLI as an internal error (exit 3) instead of a hang.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

from medcode.index_builder.reader import IndexStore

from .analysis import DocumentChecker
from .check import Outcome, check_file
from .kinds import Options
from .verdicts import Verdicts

# What a worker keeps between files: its checker (and so its memos), options, size limit.
_worker: tuple[DocumentChecker, Options, int] | None = None
# The checker this process warmed for the pool it is starting, with the index folder it reads:
# forked workers find it here.
_warmed: tuple[Path, DocumentChecker] | None = None


def _start(root: Path, options: Options, max_bytes: int) -> None:
    global _worker
    if _warmed is not None and _warmed[0] == root:
        checker = _warmed[1]  # forked: the parent's, warmed
    else:
        checker = DocumentChecker(Verdicts(IndexStore(root)))
    _worker = (checker, options, max_bytes)


def _check(path: str) -> Outcome:
    assert _worker is not None, "worker started without _start"
    checker, options, max_bytes = _worker
    return check_file(Path(path), checker, options, max_bytes)


def _context():
    # fork starts a worker in milliseconds with medcode already imported; elsewhere (macOS,
    # Windows) fork is unsafe or missing and the platform's default applies.
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


class CheckPool:
    """Files checked ahead by `jobs` processes; `outcome(path)` waits for one path's result."""

    # Files queued per worker: enough to keep each busy, few enough not to hold every result.
    AHEAD = 4

    def __init__(self, jobs: int, root: Path, options: Options, max_bytes: int):
        self.jobs = jobs
        self._args = (root, options, max_bytes)
        # No worker starts before the first submit (plan), so one forked then inherits _warmed.
        self._executor = ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_start, initargs=self._args)
        self._queued: dict[str, Future] = {}
        self._planned: Iterator[Path] = iter(())
        self._local: DocumentChecker | None = None
        self._done: dict[str, Outcome] = {}  # checked here before the workers started

    def __enter__(self) -> CheckPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        global _warmed
        _warmed = None  # the workers have it; a later pool warms its own
        # After a failure nothing more is wanted from the workers: drop what is queued.
        self._executor.shutdown(wait=exc is None, cancel_futures=True)

    def plan(self, paths: Iterable[Path]) -> None:
        """The paths the walk is expected to name, in its order."""
        global _warmed
        self._planned = iter(paths)
        if _context().get_start_method() == "fork":
            # The first file is checked here, so that the workers forked next start warm: what
            # it costs here each worker would otherwise pay, and the file is checked all the same.
            first = next(self._planned, None)
            if first is not None:
                root, options, max_bytes = self._args
                self._done[str(first)] = check_file(first, self._checker(), options, max_bytes)
                _warmed = (root, self._checker())
        self._top_up()

    def _checker(self) -> DocumentChecker:
        if self._local is None:
            self._local = DocumentChecker(Verdicts(IndexStore(self._args[0])))
        return self._local

    def _top_up(self) -> None:
        while len(self._queued) < self.jobs * self.AHEAD:
            path = next(self._planned, None)
            if path is None:
                return
            key = str(path)
            if key not in self._queued:
                self._queued[key] = self._executor.submit(_check, key)

    def outcome(self, path: Path) -> Outcome:
        done = self._done.pop(str(path), None)
        if done is not None:
            return done
        future = self._queued.pop(str(path), None)
        self._top_up()
        if future is None:  # a file that appeared after the planning walk: checked here
            _, options, max_bytes = self._args
            return check_file(path, self._checker(), options, max_bytes)
        return future.result()
