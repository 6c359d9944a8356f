"""The per-code memos a check fills are kept to the codes met last after a large check
(DocumentChecker.trim, heap.newest): a trimmed checker still gives exactly what a fresh one gives,
on the same text and after edits."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402
from test_x12_incremental import DAY, DOCS, EDIT, apply, assert_same, claims, fresh, stores  # noqa: E402,F401

from medcode.server import claim_edits  # noqa: E402
from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.heap import newest  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402
from medcode.server.x12.edits import EditLog  # noqa: E402


def test_newest_keeps_the_last_entries_put_in_their_order():
    memo = {k: k * 2 for k in "abcdef"}
    assert list(newest(memo, 3).items()) == [("d", "dd"), ("e", "ee"), ("f", "ff")]
    assert newest(memo, 0) == {}
    assert newest(memo, 10) is memo  # nothing to leave out: not copied


def memo_sizes(checker: DocumentChecker) -> list[int]:
    edits = checker.rules.claim_edits
    tabular = edits.tabular
    return [
        len(checker.verdicts._listings),
        len(checker.rules._memo),
        *(len(codes) for memo in (tabular._notes, tabular._gates, tabular._own, tabular._manifestations) for codes in memo.values()),
        *(len(gates) for held in claim_edits._GATES.values() for gates in held.values()),
    ]


@pytest.mark.parametrize("keep", [0, 1, 5])
def test_a_trimmed_checker_answers_as_a_fresh_one(stores, keep):
    rng = random.Random(keep)
    for which, store in enumerate(stores):
        for doc in DOCS:
            text = doc
            log = EditLog(text)
            checker = DocumentChecker(Verdicts(store), DAY)
            checker.check(text, edits=log)
            for _ in range(6):
                checker.trim(keep)
                assert max(memo_sizes(checker)) <= keep
                assert_same(checker.check(text, edits=log), fresh(store, text), text)  # the same text again
                edit = (rng.choice(["type", "delete", "replace", "paste"]), rng.randrange(10_001), rng.randrange(401), rng.randrange(25))
                start, end, new = apply(text, edit)
                text = text[:start] + new + text[end:]
                log = log.then(start, end, len(new)).bound(text)
                assert_same(checker.check(text, edits=log), fresh(store, text), text)


def test_a_large_file_fills_the_memos_that_trim_empties(default_store):
    """The memos do hold what trim takes away (else the test above would prove nothing)."""
    checker = DocumentChecker(Verdicts(default_store), DAY)
    checker.check(make_837(claims("P") * 5))
    assert min(len(checker.verdicts._listings), len(checker.rules._memo)) > 3
    checker.trim(3)
    assert len(checker.verdicts._listings) == len(checker.rules._memo) == 3


def test_a_checker_with_keep_trims_after_a_walk_of_more_claims(stores):
    """keep (set by the server for large files): the memos are trimmed once a walk checked
    more claims than that, before the findings are put together; the findings and later
    checks after edits are those of a fresh checker."""
    for store in stores:
        text = make_837(claims("P") * 5)
        checker = DocumentChecker(Verdicts(store), DAY)
        checker.keep = 3
        got = checker.check(text, edits=EditLog(text))
        assert got.claims_checked > 3
        assert len(checker.verdicts._listings) <= 3 and len(checker.rules._memo) <= 3
        assert_same(got, fresh(store, text), text)
        small = DocumentChecker(Verdicts(store), DAY)
        small.keep = 1000  # a walk of fewer claims than keep: nothing trimmed
        small.check(text)
        assert len(small.rules._memo) > 3
