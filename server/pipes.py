"""OS pipes between medcode's processes and to its client: a wider kernel buffer where Linux
allows it, so that a large message passes in a few hand-overs (64 KB each by default)."""

from __future__ import annotations

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

PIPE_SIZE = 1 << 20  # Linux's limit for an unprivileged process (/proc/sys/fs/pipe-max-size)


def widen(fd: int, size: int = PIPE_SIZE) -> None:
    """Ask for a `size`-byte buffer on the pipe `fd` (Linux F_SETPIPE_SZ); elsewhere, on what is
    not a pipe, or above a smaller limit set by the administrator, the default buffer does."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is None:
        return
    try:
        fcntl.fcntl(fd, setter, size)
    except OSError:
        pass
