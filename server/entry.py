"""The `medcode` command's entry point: Ctrl-C is answered before anything heavy is imported.

Starting `medcode` imports the CLI, the index reader, marisa-trie and more (tens of
milliseconds, longer on a busy machine); a Ctrl-C in that time raised KeyboardInterrupt in
the middle of an import, outside the CLI's handling, and Python printed a traceback. This
module imports only what the interpreter has already loaded, so the handling is in place from
the first line of medcode's own code. Until the CLI's main() is inside its handling (started),
and again once it has returned (the interpreter's shutdown: atexit handlers join threads),
Ctrl-C ends the process at once with the CLI's line and status for an interrupt: nothing has
been written then that needs cleaning up, and nothing is half-printed but what was flushed.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 2  # cli.EXIT_USAGE: an interrupt is the user's, not a bug (3) nor findings (1)
MESSAGE = b"medcode: interrupted\n"


_ours = False  # whether main() below handles Ctrl-C for this process (not a test calling cli.main)


def _interrupted(signum: int | None = None, frame=None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while leaving changes nothing
    os.write(2, MESSAGE)
    os._exit(EXIT_INTERRUPTED)


def main() -> int:
    """The console script (and `python -m medcode.server`)."""
    global _ours
    # Started with Ctrl-C ignored (a background job of a script): it stays ignored, as Python leaves it.
    _ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if _ours:
        signal.signal(signal.SIGINT, _interrupted)
    try:
        from .cli import main as cli_main  # the heavy imports

        return cli_main()
    except KeyboardInterrupt:  # raised as cli.main left its handling, before ending() ran
        _interrupted()
        raise  # not reached


def started() -> None:
    """Called by cli.main once inside its own handling: from here Ctrl-C raises
    KeyboardInterrupt again, so that what is running cleans up (a build removes its .building
    folders) before `medcode: interrupted`."""
    if _ours and signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def ending() -> None:
    """Called by cli.main as it leaves its handling: Ctrl-C while the interpreter shuts down
    (atexit handlers join threads and processes) ends it with the same line. What was
    printed is flushed first, so an interrupt then cannot cut it short."""
    if not _ours:
        return
    signal.signal(signal.SIGINT, _interrupted)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
