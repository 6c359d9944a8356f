"""A forked helper process that writes part of a release while the builder writes the rest.

The NDC step's write is the default build's longest stretch of work after its parse: the
records' documents and the word index are independent once the records exist, so a child
forked at that point (it shares the parsed records without copying or pickling them) writes
the word index while the parent compresses the documents. The two workers of the parallel
build and this child then share the machine's cores, so the whole build takes about its
CPU seconds divided by the cores instead of the NDC step's own length.

Only where fork is safe and cheap (Linux) and only when the caller asks (the parallel build's
worker processes, which run nothing else meanwhile but the progress thread): the child
touches its own copy of the data and the files it writes, never the progress queue, and
leaves with os._exit (no interpreter teardown, no freeing of what it inherited).
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable


class HelperFailed(Exception):
    pass


class Helper:
    def __init__(self) -> None:
        self._pid: int | None = None

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

    def join(self) -> None:
        """Wait for the child; raise HelperFailed when its work failed."""
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise HelperFailed(f"the helper process writing part of the release failed (exit status {code})")

    def abandon(self) -> None:
        """Stop the child (the release it writes into is being thrown away)."""
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
