"""Whether a release's files still hold the bytes their manifest's SHA-256 names, found at
open for the price of a stat per file rather than a read of every byte.

Beside the files (layout.STAMPS) each release keeps, per file, its (inode, size, mtime,
ctime) when its hash was last found to match: at build, or when a file was hashed here. A
write into a file sets its ctime to the clock's time, which no user can set back (mtime
can be): a file whose stat equals its stamp has not been written since. A file whose stat
differs (written in place, a copied index: cp -r, rsync, a CI cache) is hashed once and its
stamp renewed; in a folder that cannot be written, the hash is remembered for the process.

What this does not see: bytes that change without a write (bit rot, a failing disk, a
device written under the file system), and a clock set back across a write. A write made
in the same clock tick as the stat that was stamped would keep ctime: stats not older than
the check by _SLACK_NS are not stamped (the racy-git rule), so their files are hashed again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import layout

Stat = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns

# File timestamps come from the kernel's coarse clock (one tick: 1-10 ms); twice the
# longest tick keeps a stamp from naming a ctime a later write in that tick could repeat.
_SLACK_NS = 20_000_000
_FORMAT = 1

# (device, *Stat) -> SHA-256 of the file's bytes, for stats old enough to trust: the files
# releases of one family share (hard links) are hashed once, and a read-only index once
# per process. (Threads that race here hash a file twice, no worse.)
_hashed: dict[tuple[int, int, int, int, int], str] = {}


def stat_of(st: os.stat_result) -> Stat:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _settled(st: os.stat_result, now: int) -> bool:
    """Whether a write after `now` would give the file another ctime."""
    return st.st_ctime_ns < now - _SLACK_NS


def read(folder: Path) -> dict[str, Stat]:
    """The stamps of a release's files (empty when it has none: built before them, or the
    file cannot be read; its files are then hashed once)."""
    try:
        doc = json.loads((folder / layout.STAMPS).read_bytes())
        if doc.get("format") != _FORMAT:
            return {}
        return {name: tuple(v) for name, v in doc["files"].items() if isinstance(v, list) and len(v) == 4 and all(type(x) is int for x in v)}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write(folder: Path, stamps: dict[str, Stat]) -> bool:
    """Replace the release's stamps in one step; False when the folder cannot be written
    (a read-only index: its hashes are remembered for the process only)."""
    tmp = folder / f"{layout.STAMPS}.{os.getpid()}.{os.urandom(4).hex()}"
    try:
        tmp.write_text(json.dumps({"format": _FORMAT, "files": {n: list(s) for n, s in sorted(stamps.items())}}, separators=(",", ":")))
        os.replace(tmp, folder / layout.STAMPS)
        return True
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False


def _digest(path: Path) -> tuple[str, os.stat_result | None]:
    """The file's SHA-256, and its stat when nothing wrote it while it was read (None: the
    hash may not be the bytes that stat names)."""
    with open(path, "rb") as fh:
        before = os.fstat(fh.fileno())
        key = (before.st_dev, *stat_of(before))
        known = _hashed.get(key)
        if known is not None:
            return known, before
        now = time.time_ns()
        sha = _sha256(fh)
        after = os.fstat(fh.fileno())
    if stat_of(after) != stat_of(before) or not _settled(before, now):
        return sha, None
    _hashed[key] = sha
    return sha, before


def _sha256(fh) -> str:
    import hashlib  # only when a file is hashed: an open that hashes nothing does not load OpenSSL

    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def check(folder: Path, files: dict[str, dict], stats: dict[str, os.stat_result]) -> dict[str, str]:
    """The files (of `stats`, stat just taken; `files`: the manifest's entries) whose bytes are
    not those the manifest records: name -> what is wrong. Those whose stat differs from
    their stamp are hashed; the stamps of those that match are renewed."""
    stamps = read(folder)
    bad: dict[str, str] = {}
    renewed = dict(stamps)
    for name, st in stats.items():
        if stamps.get(name) == stat_of(st):
            continue
        path = folder / name
        try:
            sha, hashed = _digest(path)
        except OSError as exc:
            bad[name] = f"{path} cannot be read ({exc})"
            renewed.pop(name, None)
            continue
        if sha != files[name].get("sha256"):
            bad[name] = f"{path} is damaged (it does not match its checksum: its bytes changed after the build)"
            renewed.pop(name, None)
        elif hashed is not None:
            renewed[name] = stat_of(hashed)
    if renewed != stamps:
        write(folder, renewed)
    return bad


def record(folder: Path, names) -> None:
    """Stamp files just written and hashed by the build (their manifest's hashes). Waits out
    the clock's slack first, when a file was written within it: else the first open would
    hash them again."""
    for _ in range(2):
        now = time.time_ns()
        stamps = {}
        for name in names:
            try:
                st = os.stat(folder / name)
            except OSError:
                continue
            if _settled(st, now):
                stamps[name] = stat_of(st)
        if len(stamps) == len(names):
            break
        time.sleep(2 * _SLACK_NS / 1e9)
    write(folder, stamps)
