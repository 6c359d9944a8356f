"""The checker's claim results held in sorted arrays (claim_cache.py)."""

import datetime as dt
import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from claims_837 import make_837  # noqa: E402

from medcode.server.analysis import DocumentChecker  # noqa: E402
from medcode.server.claim_cache import ClaimCache  # noqa: E402
from medcode.server.verdicts import Verdicts  # noqa: E402


def test_a_whole_walk_is_found_by_hash_and_length():
    hashes = array("q", [5, -3, 9, 5, 2**63 - 1, -(2**63)])
    lengths = array("q", [10, 4, 7, 11, 1, 2])
    results = ["a", "b", "c", "d", "e", "f"]
    cache = ClaimCache.of(hashes, lengths, results)
    assert len(cache) == 6
    for h, n, r in zip(hashes, lengths, results):
        assert cache.get(h, n) == r
    # Two claims of one hash are told apart by their length; a hash with another length,
    # or one never seen, is not found.
    assert cache.get(5, 12) is None
    assert cache.get(6, 10) is None
    assert cache.get(-4, 4) is None


def test_claims_put_after_the_walk_are_found_too_and_win():
    cache = ClaimCache.of(array("q", [1, 2]), array("q", [3, 4]), ["old1", "old2"])
    cache.put(7, 8, "new")
    cache.put(1, 3, "again")  # the same key checked once more (its result is the same)
    assert cache.get(7, 8) == "new"
    assert cache.get(1, 3) == "again"
    assert cache.get(2, 4) == "old2"
    assert len(cache) == 4


def test_an_empty_cache_finds_nothing():
    cache: ClaimCache[str] = ClaimCache()
    assert cache.get(0, 0) is None
    assert len(cache) == 0


def test_a_whole_walk_checks_only_the_claims_not_seen_before(default_store):
    """A text replaced whole (no edit log) is walked whole, but each claim already checked is
    served from the cache the last whole walk left: only the changed claim runs its rules, and
    the findings are those of a fresh check."""
    day = dt.date(2026, 1, 15)
    base = dict(kind="P", day=day, birth=dt.date(1970, 1, 1), sex="F", procedures=["0DTJ4ZZ"], admitting="R079")
    text = make_837([{**base, "principal": p, "other": ["Z9999"]} for p in ("E119", "E11", "I10", "S72001")] * 5)
    checker = DocumentChecker(Verdicts(default_store), day)
    first = checker.check(text)
    assert first.claims_checked == 20
    assert checker.check(text).claims_checked == 0
    at = text.index("HI*ABK:I10") + len("HI*ABK:I1")
    changed = text[:at] + "1" + text[at + 1 :]  # I10 -> I11 in one claim
    got = checker.check(changed)
    assert got.claims_checked == 1
    assert got.findings == DocumentChecker(Verdicts(default_store), day).check(changed).findings
