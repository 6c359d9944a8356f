"""What the forked processes of `medcode check -j N` tell each other: the facts each works out
about a code.

Every process keeps memos of what it learned about each code (the code rules' results, the
claim edits' gates). Those entries depend on the index and their key alone, and the files of
one folder share their codes: on 200 claim files drawing on 5,000 diagnosis codes, each of two
processes worked out nearly every code itself (about 0.9 s CPU each, one sixth of the run).
So after each file, and every few dozen codes within one, a process sends the entries it
added to the others and takes in theirs: a code is worked out about once per run, not once per
process (two processes worked out ~11,700 entries each instead of ~23,300; the exchange costs
each ~0.1 s CPU).

The output does not change: an entry taken in equals the one the process would have worked out
(same index, same key), and a process that has not received it yet works it out as before.
Keys that name something of this process (a window number, a release object) are sent in a
form every process reads the same way; the releases are opened before the workers fork, so
each holds the same Release objects at the same addresses.
"""

from __future__ import annotations

import os
import pickle
import struct
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from . import code_rules
from .analysis import DocumentChecker
from .heap import newest_items
from .pipes import widen

# The claim edits' per-process gates (private there: this module is their one other reader).
from .claim_edits import _GATES, _NO_RELEASE, _NOT_DX

# The shared results without findings (most entries): sent as lists of keys, taken in as
# the receiver's own objects, so its memo shares them as the sender's does.
_FINE, _FINE_ON_DAY = code_rules._FINE, code_rules._FINE_ON_DAY


@dataclass
class Counts:
    """Entries this process worked out and sent, and entries it took in from the others."""

    sent: int = 0
    taken: int = 0


class Pipes:
    """One pipe into each process, written and read without blocking and without a thread: a
    process sends between its own files, and one that is busy or has ended must never hold the
    sender up. Messages are length-prefixed; what a full pipe does not take yet waits in the
    sender until its next exchange, and is dropped when the sender ends."""

    def __init__(self, n: int):
        self.ends = [os.pipe() for _ in range(n)]
        for r, w in self.ends:
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            widen(w)  # so writes rarely wait
        self._pending = [b""] * n  # per process, what its pipe did not take yet
        self._read = b""  # what came in past the last whole message

    def send(self, to: int, data: bytes | None) -> None:
        if data is not None:
            self._pending[to] += _LENGTH.pack(len(data)) + data
        pending = self._pending[to]
        if pending:
            try:
                written = os.write(self.ends[to][1], pending)
            except (BlockingIOError, BrokenPipeError):
                written = 0
            self._pending[to] = pending[written:]

    def receive(self, me: int) -> list[bytes]:
        chunks = [self._read]
        while True:
            try:
                chunk = os.read(self.ends[me][0], 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        buf = b"".join(chunks)
        out = []
        at = 0
        while len(buf) - at >= _LENGTH.size:
            (n,) = _LENGTH.unpack_from(buf, at)
            if len(buf) - at - _LENGTH.size < n:
                break
            at += _LENGTH.size
            out.append(buf[at : at + n])
            at += n
        self._read = buf[at:]
        return out

    def close(self) -> None:
        for r, w in self.ends:
            for fd in (r, w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.ends = []


_LENGTH = struct.Struct("<Q")


class Sharing:
    """One process's side of the exchange: what it adds goes into every other process's pipe;
    it reads its own. Made before the fork (marks at what all already hold), then `me` is set
    in each worker."""

    # Codes worked out between two exchanges within a file (on_miss).
    EVERY = 64

    def __init__(self, checker: DocumentChecker, processes: int, me: int = 0, pipes: Pipes | None = None):
        self.checker = checker
        self.pipes = pipes if pipes is not None else Pipes(processes)
        self.processes = processes
        self.me = me
        self.counts = Counts()
        self.files = 0  # checked by this process since the fork
        self.cpu_at_fork = 0.0  # this process's CPU seconds when the workers forked (bench)
        self._misses = 0  # codes worked out here since the last exchange
        self.stopped = False  # set when an exchange failed: this process then works alone
        self._marks: dict[Any, int] = {}
        self._by_path: dict[str, Any] | None = None  # _releases
        self._mark_all()
        self._held_at_start = self._held()

    def worked_out(self) -> int:
        """Entries this process added to its memos itself since it started sharing (bench)."""
        return self._held() - self._held_at_start - self.counts.taken

    def _held(self) -> int:
        return sum(len(rules._memo) for rules in self._rules()) + sum(len(gates) for _, _, gates in self._gates())

    # -- what is shared --------------------------------------------------------------------
    def _rules(self) -> list[code_rules.CodeRules]:
        c = self.checker
        return [c.rules, c.document_rules, *([c._fhir_rules] if c._fhir_rules is not None else [])]

    def _gates(self) -> list[tuple[Any, Any, dict]]:
        """(release key, (tables, period), gates) of every gates table of this process."""
        return [(release, which, gates) for release, held in list(_GATES.items()) for which, gates in held.items()]

    def attach(self) -> None:
        """Exchange also within a file, every EVERY codes worked out: the first files bring
        most new codes, and processes that only exchanged between files would work out the
        same ones side by side."""
        for rules in self._rules():
            rules.on_miss = self.on_miss

    def on_miss(self) -> bool:
        self._misses += 1
        if self._misses < self.EVERY:
            return False
        return self.exchange() > 0

    def _mark_all(self) -> None:
        for i, rules in enumerate(self._rules()):
            self._marks[("memo", i)] = len(rules._memo)
        for release, which, gates in self._gates():
            self._marks[("gates", id(release), which)] = len(gates)

    def _added(self, key: Any, table: dict) -> list[tuple]:
        """The entries of table added since its mark (none when it was emptied meanwhile)."""
        mark = self._marks.get(key, 0)
        n = len(table)
        self._marks[key] = n
        return newest_items(table, n - mark) if n > mark else []

    # -- the exchange ----------------------------------------------------------------------
    def exchange(self) -> int:
        """Send what this process added, take in what the others sent; how many entries were
        taken in."""
        self._misses = 0
        if self.stopped:
            return 0
        before = self.counts.taken
        try:
            payload = self._outgoing()
            data = None if payload is None else pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)
            for i in range(self.processes):
                if i != self.me:
                    self.pipes.send(i, data)
            for data in self.pipes.receive(self.me):
                self._take(pickle.loads(data))
        except (pickle.PickleError, AttributeError, TypeError, ValueError, KeyError, EOFError, OSError):
            # Sharing only saves work: should an entry not travel (a key that does not
            # pickle, a message cut short), this process goes on working codes out itself.
            self.stopped = True
            return 0
        self._mark_all()  # what was taken in is not sent back
        return self.counts.taken - before

    def _outgoing(self) -> dict | None:
        memos = []
        for i, rules in enumerate(self._rules()):
            added = self._added(("memo", i), rules._memo)
            if added:
                # A key ends in a window number of this process, or a day: the numbers go with
                # the releases they stand for, and the receiver puts its own in their place.
                windows = {n: answering for answering, n in rules._window_ids.items()}
                fine = [k for k, v in added if v is _FINE]
                fine_on_day = [k for k, v in added if v is _FINE_ON_DAY]
                found = [(k, v) for k, v in added if v is not _FINE and v is not _FINE_ON_DAY] if len(fine) + len(fine_on_day) < len(added) else []
                memos.append((i, windows, fine, fine_on_day, found))
        gates = []
        for release, which, table in self._gates():
            added = self._added(("gates", id(release), which), table)
            # _NOT_DX is told apart by identity, and costs one regex match to work out again.
            added = [(code, g) for code, g in added if g is not _NOT_DX]
            if added:
                gates.append((None if release is _NO_RELEASE else str(release.path), which, added))
        sent = sum(len(a) + len(b) + len(c) for _, _, a, b, c in memos) + sum(len(e) for _, _, e in gates)
        if not sent:
            return None
        self.counts.sent += sent
        return {"memo": memos, "gates": gates}

    def _take(self, payload: dict) -> None:
        # Entries go in with dict.update, in C: one the receiver holds already is replaced by
        # an equal one (same index, same key), in its place, and only new keys are counted.
        rules_list = self._rules()
        for i, windows, fine, fine_on_day, found in payload["memo"]:
            if i >= len(rules_list):
                continue
            rules = rules_list[i]
            memo, ids = rules._memo, rules._window_ids
            local = {n: ids.setdefault(answering, len(ids)) for n, answering in windows.items()}
            if any(n != m for n, m in local.items()):  # mostly not: the same order
                fine, fine_on_day = _renumbered(fine, local), _renumbered(fine_on_day, local)
                found = list(zip(_renumbered([k for k, _ in found], local), [v for _, v in found]))
            held = len(memo)
            memo.update(zip(fine, repeat(_FINE)))
            memo.update(zip(fine_on_day, repeat(_FINE_ON_DAY)))
            memo.update(found)
            self.counts.taken += len(memo) - held
        if payload["gates"]:
            releases = self._releases()
            for path, which, entries in payload["gates"]:
                release = _NO_RELEASE if path is None else releases.get(path)
                if release is None:
                    continue
                held = _GATES.get(release)
                if held is None:
                    held = _GATES[release] = {}
                table = held.get(which)
                if table is None:
                    table = held[which] = {}
                n = len(table)
                table.update(entries)
                self.counts.taken += len(table) - n

    def _releases(self) -> dict[str, Any]:
        """The open releases by path, as gates name them (the same after the fork)."""
        if self._by_path is None:
            self._by_path = {str(r.path): r for r in self.checker.verdicts.store.releases()}
        return self._by_path


def _renumbered(keys: list[tuple], local: dict[int, int]) -> list[tuple]:
    """Keys whose last part is a window number of the sender, with the receiver's number."""
    return [(*k[:-1], local[k[-1]]) if type(k[-1]) is int else k for k in keys]
