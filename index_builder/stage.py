"""What the running build step is doing now ("NDC: indexing 120,000 of 243,941 packages"), for
the progress lines a long step shows while it runs (build._heartbeat reads it).

One build runs per process at a time (the parallel build gives each set its own process), so
the stage is a plain module value: setting it costs a store, cheap enough for a hot loop that
sets it every few thousand records."""

from __future__ import annotations

_now = ""


def doing(what: str) -> None:
    global _now
    _now = what


def now() -> str:
    return _now


def counted(what: str, done: int, total: int) -> None:
    """`what` with how far it is: "indexing 120,000 of 243,941 records"."""
    doing(f"{what} {done:,} of {total:,}")
