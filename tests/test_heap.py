"""Freed heap memory goes back to the system after a large check (server/heap.py)."""

from __future__ import annotations

import platform

import pytest

from medcode.server import heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_glibc_heaps_are_trimmed():
    assert heap.give_back() is True


def test_without_malloc_trim_nothing_is_done(monkeypatch):
    monkeypatch.setattr(heap, "_TRIM", None)
    assert heap.give_back() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_threads_share_one_heap():
    assert heap.one_arena() is True
