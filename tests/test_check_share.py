"""`medcode check -j N`: the forked processes send each other the code facts they work out
(check_share.py), so a code is worked out about once per run; what a process takes in is what it
would have worked out itself, so the output stays the output of `-j 1`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from medcode.server import check_pool, check_share
from medcode.server.analysis import DocumentChecker
from medcode.server.verdicts import Verdicts

X12 = Path(__file__).parent / "fixtures" / "x12"
CLAIMS = (X12 / "claims_837p.x12").read_text()
FIRST_HI = "HI*ABK:E119*ABF:I10*ABF:S72001A~"


def with_codes(codes: str) -> str:
    """The 837P fixture with other diagnoses on its first claim."""
    assert FIRST_HI in CLAIMS
    return CLAIMS.replace(FIRST_HI, f"HI*{codes}~")


def findings(checker: DocumentChecker, text: str) -> list[tuple]:
    return [(f.rule, f.message, f.start, f.end, [x.text for x in f.fixes]) for f in checker.check(text).findings]


def test_pipes_deliver_whole_messages_in_order_and_never_block():
    pipes = check_share.Pipes(2)
    try:
        big = os.urandom(3 << 20)  # more than a pipe holds: the rest waits in the sender
        pipes.send(1, b"first")
        pipes.send(1, big)  # returns at once with the pipe full
        pipes.send(1, b"")
        got: list[bytes] = []
        for _ in range(1000):
            got += pipes.receive(1)
            if len(got) == 3:
                break
            pipes.send(1, None)  # what waited goes on
        assert got == [b"first", big, b""]
        assert pipes.receive(0) == [] and pipes.receive(1) == []
    finally:
        pipes.close()


def test_a_code_worked_out_by_one_process_is_taken_in_not_worked_out_again(default_store, monkeypatch):
    """Two checkers stand for two processes: what the first works out reaches the second's
    memo (window numbers translated), which then checks the same claims without working out a
    single code, and finds exactly what the first found."""
    text = with_codes("ABK:J449*ABF:N390*ABF:K219")
    one, two, alone = (DocumentChecker(Verdicts(default_store)) for _ in range(3))
    sender = check_share.Sharing(one, 2, me=0)
    receiver = check_share.Sharing(two, 2, me=1, pipes=sender.pipes)
    try:
        two.rules._window_ids[("a window only this process has",)] = 0  # numbers differ by process
        worked_out: list = []
        real = type(two.rules)._check_slot

        def counted(self, *args):
            worked_out.append(self)
            return real(self, *args)

        monkeypatch.setattr(type(two.rules), "_check_slot", counted)
        expected = findings(one, text)
        assert worked_out.count(one.rules) > 0
        sender.exchange()
        # Sent: the code rules' results, and the claim edits' gates (those are the process's:
        # here both checkers hold them already, so only the results are new to the receiver).
        assert sender.counts.sent > len(one.rules._memo) > 0
        receiver.exchange()
        assert receiver.counts.taken == len(one.rules._memo) == len(two.rules._memo)
        assert findings(two, text) == expected
        assert two.rules not in worked_out
        # Without the exchange the same check works the codes out (the assertion above is not
        # met by chance), and finds the same.
        assert findings(alone, text) == expected and alone.rules in worked_out
        # What was taken in is not sent back (its first exchange sent only the gates the sender
        # added to this process's tables).
        sent = receiver.counts.sent
        assert receiver.exchange() == 0 and receiver.counts.sent == sent
    finally:
        sender.pipes.close()


def test_forked_processes_take_in_each_others_codes_and_print_what_one_process_prints(run_check, tmp_path, monkeypatch):
    if not check_pool._forking():
        pytest.skip("workers are forked only on Linux, from a process without threads")
    (tmp_path / "a-first.837").write_text(CLAIMS * 3)  # the biggest: taken first
    (tmp_path / "b.837").write_text(with_codes("ABK:J449*ABF:N390*ABF:K219"))
    (tmp_path / "c.837").write_text(with_codes("ABK:M545*ABF:R079*ABF:F329"))
    one = run_check("-j", "1", str(tmp_path))
    parent = os.getpid()
    sent = tmp_path / "the worker has sent"
    taken: list[int] = []
    real = check_share.Sharing.exchange

    def ordered(self):
        # This process exchanges only once the worker has sent what its file brought: it then
        # takes in codes of a file it never checked, whichever of b and c each process took.
        if os.getpid() != parent:
            got = real(self)
            sent.touch()
            return got
        for _ in range(600):
            if sent.exists():
                break
            time.sleep(0.1)
        got = real(self)
        taken.append(self.counts.taken)
        return got

    monkeypatch.setattr(check_share.Sharing, "exchange", ordered)  # the worker inherits it
    two = run_check("-j", "2", str(tmp_path))
    assert two == one
    assert one[0] == 1 and "checked 3 file(s)" in one[2]
    assert sent.exists() and taken and taken[-1] > 0


def test_an_entry_that_cannot_travel_stops_the_sharing_not_the_check(default_store):
    one = DocumentChecker(Verdicts(default_store))
    sharing = check_share.Sharing(one, 2, me=0)
    sharing.attach()
    try:
        findings(one, with_codes("ABK:J449*ABF:N390*ABF:K219"))
        key, value = next(iter(one.rules._memo.items()))
        one.rules._memo[(*key[:3], lambda: None, key[4])] = value  # a key that does not pickle
        assert sharing.exchange() == 0 and sharing.stopped
        text = with_codes("ABK:M545*ABF:R079*ABF:F329")
        assert findings(one, text) == findings(DocumentChecker(Verdicts(default_store)), text)
    finally:
        sharing.pipes.close()


def test_each_process_reports_its_work_and_sharing_can_be_switched_off(run_check, tmp_path, monkeypatch):
    """MEDCODE_CHECK_STATS: one line per process for the bench; MEDCODE_CHECK_SHARE=0: no
    process takes anything in, and the output is the same."""
    if not check_pool._forking():
        pytest.skip("workers are forked only on Linux, from a process without threads")
    for i, codes in enumerate(["ABK:J449*ABF:N390", "ABK:M545*ABF:R079", "ABK:K219*ABF:F329", "ABK:I10"]):
        (tmp_path / f"{i}.837").write_text(with_codes(codes))
    one = run_check("-j", "1", str(tmp_path))
    stats = tmp_path / "stats.jsonl"
    monkeypatch.setenv("MEDCODE_CHECK_STATS", str(stats))
    monkeypatch.setenv("MEDCODE_CHECK_SHARE", "0")
    assert run_check("-j", "2", str(tmp_path)) == one
    lines = [json.loads(line) for line in stats.read_text().splitlines()]
    assert sorted(line["role"] for line in lines) == ["parent", "worker"]
    assert sum(line["files"] for line in lines) == 4  # every file after the fork, none before
    assert all(line["taken"] == 0 and line["sent"] == 0 and line["cpu_s"] > 0 for line in lines)
    assert sum(line["worked_out"] for line in lines) > 0
    assert next(line for line in lines if line["role"] == "parent")["cpu_at_fork_s"] > 0
    # The timeline: wall seconds after the fork; a process ends after its last file.
    assert all(0 < line["last_file_end_s"] <= line["ended_s"] and line["waited_s"] >= 0 for line in lines)



def test_entries_taken_in_are_renumbered_counted_once_and_share_the_receivers_fine_results(default_store):
    """What the exchange carries: results without findings as keys (taken in as the
    receiver's own shared objects, so its memo holds no copies), results with findings as
    they are, keys whose window number differs in the receiver renumbered, and an entry the
    receiver holds already left uncounted."""
    from medcode.server import code_rules

    one, two = DocumentChecker(Verdicts(default_store)), DocumentChecker(Verdicts(default_store))
    sender = check_share.Sharing(one, 2, me=0)
    receiver = check_share.Sharing(two, 2, me=1, pipes=sender.pipes)
    try:
        two.rules._window_ids[("a window only this process has",)] = 0  # numbers differ by process
        findings(one, with_codes("ABK:J449*ABF:N390*ABF:K219*ABF:Q999*ABF:E11"))
        memo = dict(one.rules._memo)
        fine = (code_rules._FINE, code_rules._FINE_ON_DAY)
        assert any(v in fine for v in memo.values()) and any(v not in fine for v in memo.values())
        windows = {n: w for w, n in one.rules._window_ids.items()}
        ids = two.rules._window_ids

        def renumbered(key):
            return (*key[:-1], ids.setdefault(windows[key[-1]], len(ids))) if type(key[-1]) is int else key

        held = next(k for k in memo if type(k[-1]) is int)  # one the receiver worked out itself
        two.rules._memo[renumbered(held)] = memo[held]
        receiver._mark_all()
        assert renumbered(held) != held  # the renumbering is exercised
        sender.exchange()
        assert receiver.exchange() == receiver.counts.taken == len(memo) - 1
        for key, value in memo.items():
            got = two.rules._memo[renumbered(key)]
            assert got is value if any(value is f for f in fine) else got == value
        assert len(two.rules._memo) == len(memo)
    finally:
        sender.pipes.close()


def test_gates_taken_in_fill_the_receivers_table_of_the_same_release(default_store):
    from medcode.server.claim_edits import _GATES

    one = DocumentChecker(Verdicts(default_store))
    findings(one, with_codes("ABK:J449*ABF:N390*ABF:K219"))
    release, which, table = next((r, w, t) for r, held in list(_GATES.items()) for w, t in held.items() if len(t) > 2)
    full = dict(table)
    receiver = check_share.Sharing(one, 2, me=1)
    try:
        path = None if release is check_share._NO_RELEASE else str(release.path)
        entries = [(c, g) for c, g in full.items() if g is not check_share._NOT_DX]
        kept = dict(entries[:1])
        _GATES[release][which] = dict(kept)  # as if this process had worked out one of them
        receiver._take({"memo": [], "gates": [(path, which, entries), ("/no/such/release", which, entries)]})
        assert _GATES[release][which] == dict(entries)
        assert receiver.counts.taken == len(entries) - len(kept)  # the unknown release is passed over
    finally:
        _GATES[release][which] = full
        receiver.pipes.close()
