"""The pipe to the client gets a 1 MB buffer where Linux allows it (pipes.widen, as the server's stdout pipe gets it): a publish
of thousands of diagnostics then reaches the client in a few hand-overs, not fifty."""

from __future__ import annotations

import os

import pytest

from medcode.server import pipes

fcntl = pytest.importorskip("fcntl")


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_the_pipe_to_the_client_is_widened():
    r, w = os.pipe()
    try:
        before = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
        pipes.widen(w)
        assert before < pipes.PIPE_SIZE
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == pipes.PIPE_SIZE
    finally:
        os.close(r)
        os.close(w)


def test_widening_something_that_is_not_a_pipe_is_harmless(tmp_path):
    with open(tmp_path / "f", "wb") as f:
        pipes.widen(f.fileno())  # EBADF / EINVAL: ignored, the default buffer does
