"""Giving freed heap memory back to the system after the check of a large document.

A check of a 40 MB claim file allocates and frees tens of megabytes of small and middle-sized
blocks in worker threads; glibc keeps what was freed inside its heaps (one per thread that
allocated) and gives memory back only from the top of each heap, so the server's resident size
stays near the check's peak long after the check. malloc_trim(0) returns every free page of
every heap. It is glibc's: elsewhere (musl, macOS, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
from typing import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def give_back() -> bool:
    """Return the heap's free pages to the system (the GIL is released meanwhile: ctypes);
    False where the C library cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
