"""A forked helper process that writes part of a release while the builder writes the rest.

The NDC step's write is the default build's longest stretch of work after its parse: the
records' documents and the word index are independent once the records exist, so a child
process writes the word index while the parent compresses the documents. The two workers of
the parallel build and this child then share the machine's cores, so the whole build takes
about its CPU seconds divided by the cores instead of the NDC step's own length. The child is
forked before the parse and handed the records' texts once they exist (start_waiting,
hand_over: one marshal message of about 41 MB, writer._Texts.message: 0.1 s to write and 0.2 s
to read), not forked after it: sharing the parsed records copy-on-write cost both processes more than that
(start_waiting).

Only where fork is safe and cheap (Linux) and only when the caller asks (the parallel build's
worker processes, which run nothing else meanwhile but the progress thread): the child
touches its own copy of the data and the files it writes, never the progress queue, and
leaves with os._exit (no interpreter teardown, no freeing of what it inherited).

The embedded NDC release's word index ships made (defaults/ndc_words.py): its child is forked
as before but, when that index is for the records the build writes, handed nothing and ended
unused; it computes the word index only when the shipped one does not fit.

A child is its caller's to stop (abandon, before the folder it writes into is deleted): it
ignores Ctrl-C, which reaches the whole process group of a terminal, and is killed when its
caller ends without stopping it (end_with_parent).
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any


class HelperFailed(Exception):
    pass


_GROUP_WAIT = 10.0  # seconds abandon waits at most for a stopped group to be gone


class Helper:
    def __init__(self) -> None:
        self._pid: int | None = None
        self._input: int | None = None  # the pipe to a waiting child (start_waiting)
        # A child started with `group`: it leads a process group of its own, which its own
        # children join, and this read end of a pipe whose write end only they hold reads
        # as closed once all of them are gone (_stop_group).
        self._lifeline: int | None = None

    @property
    def running(self) -> bool:
        """Whether a child was started and not yet joined or stopped."""
        return self._pid is not None

    @staticmethod
    def available() -> bool:
        return sys.platform.startswith("linux") and hasattr(os, "fork")

    def start(self, work: Callable[[], None], *, group: bool = False) -> bool:
        """Run work() in a forked child; False (nothing started) where that is not available,
        and the caller does the work itself.

        `group`: the child and every process it forks are stopped together (abandon), and
        are all gone when abandon or a failed join returns: a child that forks helpers of
        its own (the word index's, which forks the postings' helper) must not leave one
        writing into a folder the caller is deleting."""
        if self._pid is not None or not self.available():
            return False
        sys.stdout.flush()
        sys.stderr.flush()
        life_read, life_write = os.pipe() if group else (None, None)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            code = 1
            try:
                # Ctrl-C is the caller's to handle: it stops this child (abandon) once its own
                # work is cut short, and a child that ended on it mid-write printed a traceback.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the build worker's handler
                end_with_parent(parent)
                if group:
                    os.setpgid(0, 0)
                    os.close(life_read)  # the write end stays open until this process ends
                work()
                code = 0
            except BaseException:  # noqa: BLE001 - reported by the parent's join
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(code)
        self._pid = pid
        if group:
            try:
                # Here too, so the group exists before this returns, whichever runs first.
                os.setpgid(pid, pid)
            except OSError:  # the child has set it already and ended
                pass
            os.close(life_write)
            self._lifeline = life_read
        return True

    def start_waiting(self, work: Callable[[Any], None], first: Callable[[], Any] | None = None, *, group: bool = False) -> bool:
        """Fork a child now that waits for its input (hand_over) and then runs work(input).

        Forked while this process is still small, the child shares little with it: a child
        forked from a large process makes both pay for every shared page either then writes
        (copy-on-write; reference counts are writes): forked after the parse, the NDC step's
        helpers took 780,000 page faults where one process takes 390,000; forked early and
        handed the texts, 540,000, and about 0.7 s less system CPU. A child whose input never
        comes (join or abandon first) ends without working. False where fork is not available.
        `first` runs in the child before it waits (the word index's helper forks its own
        helper there, while it too is small)."""
        read_end, write_end = os.pipe()
        if not self.start(lambda: _wait_for_input(read_end, write_end, work, first), group=group):
            os.close(read_end)
            os.close(write_end)
            return False
        os.close(read_end)
        self._input = write_end
        return True

    def hand_over(self, payload: Any) -> bool:
        """Send the waiting child its input: plain data (str, int, list, tuple, None …), sent
        with marshal, the fastest way for the standard library to copy it whole. False
        (nothing sent) without a waiting child."""
        if self._input is None:
            return False
        fd, self._input = self._input, None
        try:
            with os.fdopen(fd, "wb") as fh:
                # Version 2: no back-references (later versions look every object up in a
                # table, which doubled the time for the NDC records' texts: 0.4 s, not 0.2).
                fh.write(marshal.dumps(payload, 2))
        except BrokenPipeError:  # the child is gone: join says how it ended
            self.join()
            raise HelperFailed("the helper process writing part of the release ended before its input came") from None
        return True

    def _close_input(self) -> None:
        if self._input is not None:
            fd, self._input = self._input, None
            os.close(fd)

    def join(self) -> None:
        """Wait for the child; raise HelperFailed when its work failed."""
        self._close_input()  # a child still waiting for its input ends
        if self._pid is None:
            return
        # Forgotten only once it has ended: a wait cut short (the build worker told to stop,
        # parallel.Stopped) leaves it to abandon, which then stops it before its folder goes.
        _, status = os.waitpid(self._pid, 0)
        pid, self._pid = self._pid, None
        code = os.waitstatus_to_exitcode(status)
        # A child that failed may have left its own children working: stopped too.
        self._stop_group(pid, kill=code != 0)
        if code != 0:
            raise HelperFailed(f"the helper process writing part of the release failed (exit status {code})")

    def abandon(self) -> None:
        """Stop the child (the release it writes into is being thrown away)."""
        self._close_input()
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        try:
            # The whole group: killing the child alone left its own helper writing on.
            (os.killpg if self._lifeline is not None else os.kill)(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by a join cut short just after its wait
            pass
        self._stop_group(pid, kill=False)

    def _stop_group(self, pid: int, kill: bool) -> None:
        """For a child started with `group`: (kill, and) wait until it and every process it
        forked are gone. Those are not this process's children, so they cannot be waited
        for: the lifeline reads as closed once the last of them has ended (its files closed,
        no write of theirs still to come)."""
        if self._lifeline is None:
            return
        fd, self._lifeline = self._lifeline, None
        try:
            if kill:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass  # the group is gone already
            deadline = time.monotonic() + _GROUP_WAIT
            # Bounded, so a stuck process can never hang the caller (SIGKILL ends a process
            # within milliseconds; a normal end has closed the pipe already).
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
                if ready and not os.read(fd, 4096):
                    return
        finally:
            os.close(fd)


def _wait_for_input(read_end: int, write_end: int, work: Callable[[Any], None], first: Callable[[], Any] | None) -> None:
    """The waiting child (Helper.start_waiting): its input, all of it, then its work; none
    when the pipe closes empty."""
    os.close(write_end)  # else the pipe never reads as closed
    if first is not None:
        first()
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    if data:
        try:
            payload = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            # Cut short: the sender gave up while writing it (interrupted) and is stopping
            # this process. Nothing to report: its own error says why.
            os._exit(1)
        # Freed before the work: glibc then serves the work's large temporary blocks from
        # the freed heap instead of fresh pages (its mmap threshold rises when a block up to
        # 32 MB is freed). Kept to the end, the postings' helper took 97,000 page faults and
        # 0.7 s of CPU for its 9 MB of ids, at the end of the build; freed, 22,000 and 0.4 s.
        del data
        work(payload)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """In a forked process: have the kernel send it `sig` when the process that forked it
    (`parent`) ends (Linux PR_SET_PDEATHSIG), and end now if that has happened already. A
    parent killed outright cannot stop its workers and helpers: left behind, they would write
    into folders nobody finishes or removes, or wait for ever to send what nobody reads."""
    import ctypes  # here: `medcode check` imports this module without forking anything

    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):  # not glibc: the check below still catches an early end
        pass
    if os.getppid() != parent:  # it ended before the request took effect
        os._exit(1)
