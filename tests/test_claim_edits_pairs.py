"""The tabular edits compare only the pairs of a claim's codes whose categories a note may name
(NoteTargets.may_name): they must find exactly what a walk over every pair finds, in the same
order, with the same messages and fixes."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_left

from medcode.index_builder.codesets import ICD10CM, icd10cm_display
from medcode.index_builder.tabular_notes import matches
from medcode.server.claim_edits.inputs import ADMITTING, OTHER, PRINCIPAL, ClaimInput, CodeAt, from_x12
from medcode.server.claim_edits.tabular import TabularEdits, _if_applicable, _source, _swap
from medcode.server.findings import CODE_FIRST, EXCLUDES1, USE_ADDITIONAL_CODE

NOV = dt.date(2026, 11, 15)


def _release(store):
    return store.release_for(ICD10CM, NOV)[0]


def _pool(release, rng) -> list[str]:
    """Codes with pairing notes, codes their notes name (by prefix and inside ranges, some of
    categories the release does not have) and other codes: claims of these pair often."""
    keys = sorted(release.keys())
    tab = TabularEdits()
    noted = [k for k in rng.sample(keys, 6000) if tab.notes(release, k)]
    named = []

    def below(prefix: str, n: int) -> list[str]:
        i = bisect_left(keys, prefix)
        return [k for k in keys[i : i + n] if k.startswith(prefix)]

    for code in noted[:400]:
        for n in tab.notes(release, code):
            for t in n.targets:
                lo, _, hi = t.partition(":")
                named += below(lo, 3) + (below(hi, 2) if hi else [])
                if hi and len(lo) == 3:
                    named.append(lo[:2] + "X")  # no such category: inside the range or not
    return noted + named + rng.sample(keys, 300) + ["E119", "O24419", "E089", "E243", "G63", "E851", "F05", "I10", "Z794", "D72824", "I2582"]


def _walk_every_pair(tab: TabularEdits, claim: ClaimInput, release, enabled, body: str) -> list[tuple]:
    """The tabular edits as a walk over every pair of codes (what tabular.check did before it
    compared categories first): (rule, message, start, end, code, fixes)."""
    dxs = [d for d in claim.diagnoses if d.role != ADMITTING]
    notes = {d.code: tab.code_notes(release, d.code) for d in dxs}
    source = _source(release)
    out = []

    def excluding(targets, own, other):
        note = targets.naming(other) if targets.notes else None
        return None if note is None or note.names(own) else note

    reported = set()
    for j, b in enumerate(dxs):
        for a in dxs[:j]:
            if a.code == b.code or (a.code, b.code) in reported:
                continue
            note = excluding(notes[a.code].x1, a.code, b.code) or excluding(notes[b.code].x1, b.code, a.code)
            if note is not None:
                reported.add((a.code, b.code))
                message = (
                    f"{icd10cm_display(b.code)} and {icd10cm_display(a.code)} are not coded together: the Excludes1 note "
                    f"of {icd10cm_display(note.owner)} lists “{note.text}” ({source}). Keep both only if the conditions are unrelated."
                )
                out.append((EXCLUDES1, message, b.start, b.end, b.code, []))
    for j, d in enumerate(dxs):
        targets = notes[d.code].cf
        if not targets or any(targets.naming(e.code) for e in dxs[:j]):
            continue
        later = next((e for e in dxs[j + 1 :] if targets.naming(e.code)), None)
        cf = targets.notes
        if later is None and (j > 0 or all(_if_applicable(n.text) for n in cf) or not tab.manifestation(release, d.code)):
            continue
        if later is not None:
            cf = [n for n in cf if n.names(later.code)]
        named = "; ".join(f"“{n.text}”" for n in cf[:3]) + ("; …" if len(cf) > 3 else "")
        where = f"{icd10cm_display(later.code)} comes after it" if later is not None else "it is listed first"
        fixes = [_swap(d, later, body, 0)] if later is not None else []
        message = f"{icd10cm_display(d.code)}: code first {named} (note of {icd10cm_display(cf[0].owner)}, {source}); {where}"
        out.append((CODE_FIRST, message, d.start, d.end, d.code, fixes))
    if USE_ADDITIONAL_CODE in enabled:
        for d in dxs:
            targets = notes[d.code].ua
            if not targets or any(targets.naming(e.code) for e in dxs if e is not d):
                continue
            ua = targets.notes
            named = "; ".join(f"“{n.text}”" for n in ua[:3]) + ("; …" if len(ua) > 3 else "")
            message = f"{icd10cm_display(d.code)}: use additional code, if applicable: {named} (note of {icd10cm_display(ua[0].owner)}, {source})"
            out.append((USE_ADDITIONAL_CODE, message, d.start, d.end, d.code, []))
    return out


def test_may_name_keeps_every_category_a_note_names_and_names_is_matches(default_store):
    release = _release(default_store)
    rng = random.Random(30)
    pool = _pool(release, rng)
    tab = TabularEdits()
    checked = hits = own = 0
    for code in pool[:600] + ["D72824", "I2582"]:  # the two codes a note of their own names
        cn = tab.code_notes(release, code)
        for targets in (cn.x1, cn.cf, cn.ua):
            if not targets.notes:
                continue
            # A note naming the code it applies to needs may_name_own.
            if any(n.names(code) for n in targets.notes):
                own += 1
                assert targets.may_name_own, code
            others = rng.sample(pool, 60)
            named = targets.may_name([o[:3] for o in others])
            for o in others:
                checked += 1
                if targets.naming(o) is not None:
                    hits += 1
                    assert o[:3] in named, (code, o)
            for n in targets.notes:
                for o in others:
                    assert n.names(o) == any(matches(t, o) for t in n.targets), (n, o)
    assert checked > 10_000 and hits > 200 and own >= 2


def test_tabular_edits_find_what_a_walk_over_every_pair_finds(default_store):
    release = _release(default_store)
    rng = random.Random(31)
    pool = _pool(release, rng)
    tab = TabularEdits()
    fired = {EXCLUDES1: 0, CODE_FIRST: 0, USE_ADDITIONAL_CODE: 0}
    for n in range(3000):
        codes = rng.sample(pool, rng.randrange(1, 9))
        if rng.random() < 0.2:
            codes.insert(rng.randrange(len(codes) + 1), rng.choice(codes))  # a code twice
        roles = [rng.choice((PRINCIPAL, OTHER, OTHER, ADMITTING)) for _ in codes]
        body = " ".join(codes)
        claim = ClaimInput("P", NOV)
        start = 0
        for code, role in zip(codes, roles):
            claim.diagnoses.append(CodeAt(code, start, role))
            start += len(code) + 1
        enabled = frozenset({USE_ADDITIONAL_CODE}) if n % 2 else frozenset()
        found = [(f.rule, f.message, f.start, f.end, f.code, f.fixes) for f in tab.check(claim, release, enabled, body, 0)]
        assert found == _walk_every_pair(tab, claim, release, enabled, body), codes
        for f in found:
            fired[f[0]] += 1
    assert all(v > 50 for v in fired.values()), fired



def test_a_code_repeated_many_times_is_paired_once_per_code(default_store, monkeypatch):
    # A text repeating E11.9 50,000 times held every pair of its places (over a billion) and
    # ran out of memory: a place is paired with the first place of each other code, and the
    # Excludes1 edit asks NoteTargets.may_name once per code, whatever the repeats (the
    # code-first edit, which asks it too, is left out of the count); the findings stay those
    # of the walk over every pair.
    from medcode.index_builder.tabular_notes import NoteTargets

    release = _release(default_store)
    tab = TabularEdits()
    codes = ["E119", "E089", "I10", "E243"] * 300 + ["E851", "E119"]
    claim = ClaimInput("P", NOV)
    for k, code in enumerate(codes):
        claim.diagnoses.append(CodeAt(code, 5 * k, OTHER))
    body = " ".join(codes)
    for code in set(codes):
        tab.code_notes(release, code)  # built (asking may_name of each note) before the count
    asked = []
    may_name = NoteTargets.may_name
    monkeypatch.setattr(NoteTargets, "may_name", lambda self, categories: asked.append(1) or may_name(self, categories))
    monkeypatch.setattr(TabularEdits, "_code_first", lambda *args: None)
    found = [(f.rule, f.message, f.start, f.end, f.code, f.fixes) for f in tab.check(claim, release, frozenset(), body, 0)]
    assert len(asked) <= len(set(codes))
    monkeypatch.undo()
    assert found == [f for f in _walk_every_pair(tab, claim, release, frozenset(), body) if f[0] == EXCLUDES1] != []

class _Claim:
    transaction = "P"
    through = None
    date = NOV
    birth = None
    sex = "F"
    discharge_status = ""
    bill_type = ""
    admission = None


def test_from_x12_gives_the_diagnoses_alone_only_when_asked():
    groups = [
        (None, [(0, "E119", 10, "ABK", 6), (0, "I10", 20, "ABF", 16), (0, "0DTJ4ZZ", 30, "BBR", 26), (0, "E1", 40, "ABF", 36)]),
        (1, [(0, "99213", 50, "HC", 48)]),
    ]
    picked = [t for t in groups[0][1] if t[3] in ("ABK", "ABF") and len(t[1]) > 2]
    whole = from_x12(_Claim(), groups, NOV)
    assert [d.code for d in whole.diagnoses] == ["E119", "I10"] and [p.code for p in whole.procedures] == ["0DTJ4ZZ"]
    assert from_x12(_Claim(), groups, NOV, picked) == whole
    without = from_x12(_Claim(), groups, NOV, picked, diagnoses_only=True)
    assert without.diagnoses == whole.diagnoses and without.procedures == [] and without.sex == "" and without.kind == "P"
    assert whole.diagnoses[0] == CodeAt("E119", 10, PRINCIPAL, 6) and whole.diagnoses[0].end == 14
    # The claim's day: discharge, else its date, else today; or the one the caller worked out.
    assert whole.day == NOV and from_x12(_Claim(), groups, NOV, picked, day=dt.date(2026, 1, 2)).day == dt.date(2026, 1, 2)
