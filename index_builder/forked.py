"""A forked helper process that writes part of a release while the builder writes the rest.

The NDC step's write is the default build's longest stretch of work after its parse: the
records' documents and the word index are independent once the records exist, so a child
process writes the word index while the parent compresses the documents. The two workers of
the parallel build and this child then share the machine's cores, so the whole build takes
about its CPU seconds divided by the cores instead of the NDC step's own length. The child is
forked before the parse and handed the records' texts once they exist (start_waiting,
hand_over: one marshal message of about 46 MB, 0.2 s to write and 0.2 s to read), not
forked after it: sharing the parsed records copy-on-write cost both processes more than that
(start_waiting).

Only where fork is safe and cheap (Linux) and only when the caller asks (the parallel build's
worker processes, which run nothing else meanwhile but the progress thread): the child
touches its own copy of the data and the files it writes, never the progress queue, and
leaves with os._exit (no interpreter teardown, no freeing of what it inherited).
"""

from __future__ import annotations

import marshal
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any


class HelperFailed(Exception):
    pass


class Helper:
    def __init__(self) -> None:
        self._pid: int | None = None
        self._input: int | None = None  # the pipe to a waiting child (start_waiting)

    @staticmethod
    def available() -> bool:
        return sys.platform.startswith("linux") and hasattr(os, "fork")

    def start(self, work: Callable[[], None]) -> bool:
        """Run work() in a forked child; False (nothing started) where that is not available,
        and the caller does the work itself."""
        if self._pid is not None or not self.available():
            return False
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            code = 1
            try:
                work()
                code = 0
            except BaseException:  # noqa: BLE001 - reported by the parent's join
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(code)
        self._pid = pid
        return True

    def start_waiting(self, work: Callable[[Any], None], first: Callable[[], Any] | None = None) -> bool:
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
        if not self.start(lambda: _wait_for_input(read_end, write_end, work, first)):
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
        pid, self._pid = self._pid, None
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise HelperFailed(f"the helper process writing part of the release failed (exit status {code})")

    def abandon(self) -> None:
        """Stop the child (the release it writes into is being thrown away)."""
        self._close_input()
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)


def _wait_for_input(read_end: int, write_end: int, work: Callable[[Any], None], first: Callable[[], Any] | None) -> None:
    """The waiting child (Helper.start_waiting): its input, all of it, then its work; none
    when the pipe closes empty."""
    os.close(write_end)  # else the pipe never reads as closed
    if first is not None:
        first()
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    if data:
        work(marshal.loads(data))
