"""Run `medcode serve` (the real CLI entry) with the server's stderr going to a file.

Used by tests/test_lsp_x12.py to read back every byte the server wrote to stderr:

    python tests/lsp_stderr_server.py STDERR_PATH [LOG_LEVEL]

fd 2 itself is redirected, so Python's own stderr, the logging handler and anything a C
extension prints all land in the file. LOG_LEVEL (e.g. DEBUG) replaces the level `medcode
serve` configures (WARNING), so that pygls' debug logging of every message is exercised too.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> int:
    path = sys.argv[1]
    level = sys.argv[2] if len(sys.argv) > 2 else None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)

    from medcode.server import cli
    from medcode.server.lsp import logs

    if level is not None:
        configure = logs.configure
        logs.configure = lambda *_args, **_kwargs: configure(getattr(logging, level.upper()))
    return cli.main(["serve"])


if __name__ == "__main__":
    sys.exit(main())
