"""The claim edits' searches over one claim's diagnoses (tabular._excludes1 with
named.EarlierCodes, the code-first / use-additional edits' named.NamedPlaces, the pre-filter's
_near and _paired) against the simple routines they replaced, kept here as the reference: the
same answers, in the same order, on random small claims with repeats, roles and orders. And a
claim of thousands of codes no note pairs asks no pair at all (the old routines compared each
code with every earlier one: O(n x distinct))."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_left

import pytest
from hypothesis import HealthCheck, given, settings, seed
from hypothesis import strategies as st

from medcode.index_builder.codesets import ICD10CM
from medcode.server.claim_edits import _NAMES, _OWN, _STRAY, _near, _paired
from medcode.server.claim_edits.inputs import ADMITTING, DX_ROLES, OTHER, PRINCIPAL, ClaimInput, CodeAt
from medcode.server.claim_edits.named import EarlierCodes, NamedPlaces
from medcode.server.claim_edits.tabular import TabularEdits, _excluding, _source, excludes1_finding
from medcode.server.findings import EXCLUDES1

NOV = dt.date(2026, 11, 15)
_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def release(default_store):
    return default_store.release_for(ICD10CM, NOV)[0]


@pytest.fixture(scope="module")
def tab() -> TabularEdits:
    return TabularEdits()  # one for the module: each code's notes read once


@pytest.fixture(scope="module")
def pool(release, tab) -> list[list[str]]:
    """Families of codes: a code with notes and codes those notes name (by prefix, in ranges,
    and outside a range's last code but in its category); and single codes. Claims drawn from
    a few families pair often."""
    rng = random.Random(32)
    keys = sorted(release.keys())
    noted = [k for k in rng.sample(keys, 4000) if tab.notes(release, k)][:200]

    def below(prefix: str) -> list[str]:
        i = bisect_left(keys, prefix)
        return [k for k in keys[i : i + 40] if k.startswith(prefix)]

    families = []
    for code in noted:
        family = [code]
        for n in tab.notes(release, code):
            for t in n.targets:
                lo, _, hi = t.partition(":")
                family += below(lo)[:2]
                if hi:
                    family += below(hi[:3])[-2:]
        families.append(list(dict.fromkeys(family))[:8])
    fixed = ["E119", "O24419", "E089", "E243", "G63", "E851", "F05", "I10", "Z794", "D72824", "I2582", "E11A"]
    return families + [[c] for c in rng.sample(keys, 60) + fixed] + [fixed]


def _claim(pool, data) -> list[CodeAt]:
    """A random claim of a few of pool's families: repeats, roles (the admitting one too) and
    any order."""
    codes = []
    for k in data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=4)):
        family = pool[k]
        codes += data.draw(st.lists(st.sampled_from(family), min_size=1, max_size=min(4, len(family)), unique=True))
    codes += data.draw(st.lists(st.sampled_from(codes), max_size=3))  # repeats
    codes = data.draw(st.permutations(codes))
    roles = data.draw(st.lists(st.sampled_from((PRINCIPAL, OTHER, OTHER, ADMITTING)), min_size=len(codes), max_size=len(codes)))
    return [CodeAt(c, 6 * k, r) for k, (c, r) in enumerate(zip(codes, roles))]


def _old_excludes1(dxs, notes, categories, source, out) -> None:
    """tabular._excludes1 before this change (session 31): each place with the first place of
    every earlier distinct code, filtered by NoteTargets.may_name."""
    distinct = list(dict.fromkeys(categories))
    named = {}
    firsts = []
    reported = set()
    for j, n in enumerate(notes):
        b = dxs[j]
        named_b = named.get(b.code)
        if named_b is None:
            named_b = named[b.code] = n.x1.may_name(distinct) if n.x1.notes else frozenset()
            firsts.append(j)
        for i in firsts:
            a = dxs[i]
            if i == j or a.code == b.code or (a.code, b.code) in reported:
                continue
            if categories[i] not in named_b and categories[j] not in named[a.code]:
                continue
            note = _excluding(notes[i].x1, a.code, b.code) or _excluding(notes[j].x1, b.code, a.code)
            if note is None:
                continue
            reported.add((a.code, b.code))
            out.append(excludes1_finding(b, a, note, source))


def _old_first_named(targets, dxs, categories, own) -> int:
    """tabular._first_named before this change: a walk over the claim per note."""
    named = targets.may_name(categories)
    if named:
        for k, c in enumerate(categories):
            if k != own and c in named and targets.naming(dxs[k].code) is not None:
                return k
    return len(dxs)


@_SETTINGS
@seed(32)
@given(data=st.data())
def test_excludes1_finds_what_the_walk_over_every_earlier_code_finds(release, tab, pool, data):
    dxs = [d for d in _claim(pool, data) if d.role != ADMITTING]
    notes = [tab.code_notes(release, d.code) for d in dxs]
    categories = [d.code[:3] for d in dxs]
    source = _source(release)
    new, old = [], []
    TabularEdits._excludes1(dxs, notes, categories, source, new)
    _old_excludes1(dxs, notes, categories, source, old)
    assert new == old


@_SETTINGS
@seed(32)
@given(data=st.data())
def test_the_first_code_a_note_names_is_the_walks(release, tab, pool, data):
    dxs = _claim(pool, data)
    codes = [d.code for d in dxs]
    categories = [c[:3] for c in codes]
    places = NamedPlaces(codes, categories)
    for own, code in enumerate(codes):
        cn = tab.code_notes(release, code)
        for targets in (cn.cf, cn.ua, cn.x1):
            assert places.first(targets, own) == _old_first_named(targets, dxs, categories, own), (code, codes)


def _old_near(dx, gs, bits) -> bool:
    """ClaimEdits._need's test before this change: categories.count per diagnosis."""
    categories = [t[1][:3] for t in dx if DX_ROLES[t[3]] is not ADMITTING]
    for t, g in zip(dx, gs):
        if DX_ROLES[t[3]] is ADMITTING:
            continue
        b = g[0]
        if b & _STRAY and bits & _NAMES or b & _OWN and categories.count(t[1][:3]) > 1:
            return True
    return False


def _old_paired(dx, gs) -> bool:
    cats = [g[1] for t, g in zip(dx, gs) if g[1] is not None and DX_ROLES[t[3]] is not ADMITTING]
    return any(g[2] is not None and not g[2].isdisjoint(cats) for g in gs)


_CATEGORIES = ["E11", "E08", "I10", "Z79", "Q99"]


@settings(max_examples=200, deadline=None, derandomize=True)
@seed(32)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_CATEGORIES), st.sampled_from(sorted(DX_ROLES)), st.sampled_from((0, _OWN, _STRAY, _NAMES, _OWN | _NAMES)),
            st.one_of(st.none(), st.frozensets(st.sampled_from(_CATEGORIES), min_size=1)), st.booleans(),
        ),
        min_size=1, max_size=8,
    )
)
def test_the_pre_filters_pair_tests_answer_as_before(rows):
    """_near and _paired on code tuples (0, code, start, qualifier, element) and gates (mark,
    category, named categories, ...), some of categories the release does not have (None)."""
    dx = [(0, f"{cat}{k}", 4 * k, qual, None) for k, (cat, qual, _, _, _) in enumerate(rows)]
    gs = [(b, None if stray else cat, named, 0, 1000, 0, 0) for (cat, _, b, named, stray) in rows]
    bits = 0
    for g in gs:
        bits |= g[0]
    assert _near(dx, gs, bits) == _old_near(dx, gs, bits)
    assert _paired(dx, gs) == _old_paired(dx, gs)


def test_a_claim_of_thousands_of_codes_no_note_pairs_asks_no_pair(release, tab, monkeypatch):
    """3,000 distinct codes with Excludes1 notes (20 at most of a category), no note naming a
    category on the claim: the old walk compared each with every earlier code (4.5 million
    pairs, each through the category filter); now each code meets no earlier code at all,
    and the findings are the old walk's (none)."""
    keys = sorted(release.keys())[::4]  # (a quarter of the codes' notes read: enough of them)
    by_category = {}
    for k in keys:
        if len(k) > 3 and tab.code_notes(release, k).x1.notes:
            by_category.setdefault(k[:3], []).append(k)
    named = set()
    chosen = []
    for category, codes in by_category.items():
        names = set()
        for c in codes:
            names |= set(tab.code_notes(release, c).x1.may_name(list(by_category)))
        if category in named or category in names or names & {c[:3] for c in chosen}:
            continue
        named |= names
        chosen += codes[:20]
        if len(chosen) >= 3000:
            break
    assert len(chosen) >= 1000
    claim = ClaimInput("P", NOV, [CodeAt(c, 8 * k, OTHER) for k, c in enumerate(chosen)])
    met = []
    pairs = EarlierCodes.pairs
    monkeypatch.setattr(EarlierCodes, "pairs", lambda self, category, targets: met.append(pairs(self, category, targets)) or met[-1])
    found = [f for f in tab.check(claim, release, frozenset()) if f.rule == EXCLUDES1]
    monkeypatch.undo()
    assert len(met) == len(chosen) and not any(met)
    dxs = claim.diagnoses
    old = []
    _old_excludes1(dxs, [tab.code_notes(release, d.code) for d in dxs], [d.code[:3] for d in dxs], _source(release), old)
    assert found == old == []
