"""The server's use of the C heap: one heap for all threads, and freed memory given back.

A check of a 40 MB claim file allocates and frees tens of megabytes of small and middle-sized
blocks in worker threads. glibc gives each thread that allocates a heap of its own (an arena),
and what one thread freed serves only its own heap; it also gives memory back only from the top
of each heap. So the server's resident size stayed near the checks' peaks: with one arena and
malloc_trim(0) after a large check (every free page of every heap returned), the 50,000-claim
bench held 17 MB less at its end and peaked 18 MB lower. The threads allocate little while
they do not hold the GIL, so one arena costs no waiting. Both are glibc's: elsewhere (musl,
macOS, Windows) these do nothing.
"""

from __future__ import annotations

import ctypes
from itertools import islice
from typing import Callable, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()
_M_ARENA_MAX = -8  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
# Blocks from this size on are mapped apart and unmapped when freed: a 40 MB text, a joined
# snapshot, megabytes of diagnostics JSON. glibc's own threshold rises to the size of the
# largest block freed (up to 32 MB), after which such blocks came from the heap, and a text
# freed below a newer block stayed resident: 40 MB more after the first re-check of the
# 50,000-claim bench, until the next trim.
MMAP_FROM = 1 << 20


def one_arena() -> bool:
    """Let every thread allocate from the main heap, and large blocks be mapped apart (see
    MMAP_FROM); call before the worker threads start. False where the C library cannot."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(_M_ARENA_MAX, 1) == 1 and mallopt(_M_MMAP_THRESHOLD, MMAP_FROM) == 1


def give_back() -> bool:
    """Return the heap's free pages to the system (the GIL is released meanwhile: ctypes);
    False where the C library cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def newest(memo: dict[K, V], keep: int) -> dict[K, V]:
    """The last `keep` entries put in a memo, as a fresh dict (the memo itself when it holds no
    more). A fresh one, as a dict never gives back the table its deleted entries took."""
    if len(memo) <= keep:
        return memo
    return dict(newest_items(memo, keep))


def newest_items(memo: dict[K, V], n: int) -> list[tuple[K, V]]:
    """The last `n` entries put in a memo, oldest first."""
    return list(islice(reversed(memo.items()), n))[::-1]
