"""Worker processes for `medcode check -j N`.

Each worker opens the index itself (IndexStore maps its files, so that is cheap) and keeps
one DocumentChecker for every file it checks, as `-j 1` does in this process. The walk stays
in the calling process: it names the files, and their outcomes are applied in that order, so
notes, findings, the summary and the exit status are the ones `-j 1` gives.

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


def _start(root: Path, options: Options, max_bytes: int) -> None:
    global _worker
    _worker = (DocumentChecker(Verdicts(IndexStore(root))), options, max_bytes)


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
        self._executor = ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_start, initargs=self._args)
        self._queued: dict[str, Future] = {}
        self._planned: Iterator[Path] = iter(())
        self._local: DocumentChecker | None = None

    def __enter__(self) -> CheckPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # After a failure nothing more is wanted from the workers: drop what is queued.
        self._executor.shutdown(wait=exc is None, cancel_futures=True)

    def plan(self, paths: Iterable[Path]) -> None:
        """The paths the walk is expected to name, in its order."""
        self._planned = iter(paths)
        self._top_up()

    def _top_up(self) -> None:
        while len(self._queued) < self.jobs * self.AHEAD:
            path = next(self._planned, None)
            if path is None:
                return
            key = str(path)
            if key not in self._queued:
                self._queued[key] = self._executor.submit(_check, key)

    def outcome(self, path: Path) -> Outcome:
        future = self._queued.pop(str(path), None)
        self._top_up()
        if future is None:  # a file that appeared after the planning walk: checked here
            root, options, max_bytes = self._args
            if self._local is None:
                self._local = DocumentChecker(Verdicts(IndexStore(root)))
            return check_file(path, self._local, options, max_bytes)
        return future.result()
