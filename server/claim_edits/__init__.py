"""Claim edits: rules across the codes of one claim (or one template's encounter) and the
patient they describe, from the CMS Medicare Code Editor tables and the ICD-10-CM tabular.

`ClaimEdits.check` takes a ClaimInput (inputs.py) and returns findings with absolute offsets.
"""

from __future__ import annotations

import datetime as dt
import weakref
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import reduce
from operator import or_

from medcode.index_builder import layout
from medcode.index_builder.codesets import ICD10CM, ICD10CM_RE, ICD10PCS
from medcode.index_builder.mce_index import mce_path, open_mce
from medcode.index_builder.reader import AuxDamaged, DamagedRelease, IndexCorrupt
from medcode.index_builder.tabular_notes import AUX_NAME as TABULAR_AUX, stored_categories

from ..findings import INDEX_DAMAGED, UNSPECIFIED_CODE, USE_ADDITIONAL_CODE, Finding
from ..heap import newest
from .inputs import ADMITTING, DX_ROLES, OTHER, PRINCIPAL, PX_ROLES, ClaimInput, CodeAt, from_x12, template_groups
from .mce import FIRST_LISTED_FLAGS, PRINCIPAL_FLAGS, MceEdits, day_int
from .tabular import SHARED as SHARED_TABULAR

__all__ = ["ClaimEdits", "ClaimInput", "from_x12", "template_groups"]

TABULAR, MCE = 1, 2  # the parts of the claim edits


class ClaimEdits:
    def __init__(self, verdicts, enabled: frozenset[str] = frozenset()):
        """enabled: the rules that are off by default (findings.OFF_BY_DEFAULT) to run anyway."""
        self.v = verdicts
        self.enabled = enabled
        self.tabular = SHARED_TABULAR  # the process's: what the notes say derives from the index alone
        self._mce: MceEdits | None | bool = False  # False: not opened yet
        # Per day of service: what the day decides (the ICD-10-CM release with tabular notes,
        # the MCE period, and the gates of that pair: _shared_gates).
        self._days: dict[dt.date, _Day] = {}
        self._met: set[tuple] = set()  # damage in the edits' data met (noted)

    @property
    def enabled(self) -> frozenset[str]:
        return self._enabled

    @enabled.setter
    def enabled(self, rules: frozenset[str]) -> None:
        self._enabled = rules
        # The gate bits that fire wherever the code is, whatever the patient (see _need).
        self._anywhere = (_UNSPECIFIED if UNSPECIFIED_CODE in rules else 0)
        self._ua = _UA if USE_ADDITIONAL_CODE in rules else 0

    def trim(self, keep: int) -> None:
        """Keep what was worked out for the last `keep` codes (heap.newest); the days, which
        hold the gates they read, are worked out again. The gates are the process's
        (_shared_gates): a checker of another document keeps the ones its days hold until it
        trims too."""
        self.tabular.trim(keep)
        # Copies of the tables' lists: a server thread checking another document may add a
        # release's or period's gates meanwhile.
        for held in list(_GATES.values()):
            for key, gates in list(held.items()):
                held[key] = newest(gates, keep)
        self._days = {}

    @property
    def mce(self) -> MceEdits | None:
        if self._mce is False:
            # Tables found damaged (at open, or while read) are not used: their days get
            # index-damaged findings instead (_mce_damaged).
            damaged = self.v.store.edits_damaged(layout.MCE_SET) is not None
            self._mce = None if damaged else _shared_mce(self.v.store.root)
        return self._mce

    def check(self, claim: ClaimInput, body: str | None = None, body_start: int = 0, parts: int = TABULAR | MCE) -> list[Finding]:
        """parts: which edits to run (a pre-filter may know that the others say nothing)."""
        if not claim.diagnoses and not claim.procedures:
            return []
        return self._retrying(lambda: self._check_input(claim, body, body_start, parts))

    def _check_input(self, claim: ClaimInput, body: str | None, body_start: int, parts: int) -> list[Finding]:
        release = self.tabular_release(claim.day) if claim.diagnoses and parts & TABULAR else None
        out = self._unchecked(claim.kind, claim.day, claim.diagnoses[:1], claim.procedures[:1])
        return out + self._check(claim, release, body, body_start, parts)

    def _retrying(self, run) -> list[Finding]:
        """run() again once the damage it met in the edits' own data (the tabular notes, the
        MCE tables: bytes changed in place are found only when read) is noted in the store:
        then those edits give index-damaged findings, and the claim's other findings stand.
        Damage elsewhere is the caller's (the code sets' own releases)."""
        while True:
            try:
                return run()
            except IndexCorrupt as exc:
                if not self.noted(exc):
                    raise

    def noted(self, exc: IndexCorrupt) -> bool:
        """Note damage found in the edits' own data (AuxDamaged: the tabular notes; the MCE
        tables' folder) in the store, and forget what was worked out from it: then try again.
        False for other damage, or damage these edits met before (so that retries end)."""
        folder = exc.folder
        if isinstance(exc, AuxDamaged):
            key = (folder, exc.name)
        elif folder is not None and folder == mce_path(self.v.store.root):
            key = (folder, layout.MCE_SET)
        else:
            return False
        if key in self._met:
            return False
        self._met.add(key)
        self.v.store.set_aside(exc)  # another checker of the store may have noted it already
        self._mce = False
        self._days = {}
        return True

    def _unchecked(self, kind: str, day: dt.date, dx: list[CodeAt], px: list[CodeAt]) -> list[Finding]:
        """One index-damaged finding per part of the edits whose data for the day is damaged,
        at the claim's first diagnosis (else procedure): nothing else says they were not run."""
        out: list[Finding] = []
        first = dx[0] if dx else px[0] if px else None
        if first is None:
            return out
        code_set = ICD10CM if dx else ICD10PCS
        for message in self.unchecked(day, tabular=bool(dx), mce=kind in ("I", "P")):
            out.append(Finding(INDEX_DAMAGED, message, first.start, first.end, first.code, code_set))
        return out

    def unchecked(self, day: dt.date, tabular: bool = True, mce: bool = True) -> list[str]:
        """Why parts of the edits cannot run on the day (their data is damaged), each with the
        command that rebuilds it; none on an intact index."""
        if not self.v.store.side_data_damaged():
            return []
        out = []
        damaged = self._tabular_damaged(day) if tabular else None
        if damaged is not None:
            out.append(_tabular_message(damaged, day))
        damaged = self._mce_damaged(day) if mce else None
        if damaged is not None:
            out.append(_mce_message(damaged, day))
        return out

    def _check(self, claim: ClaimInput, release, body: str | None, body_start: int, parts: int) -> list[Finding]:
        """release: the ICD-10-CM release with tabular notes of the claim's day (None: none)."""
        out: list[Finding] = []
        if release is not None and claim.diagnoses and parts & TABULAR:
            out += self.tabular.check(claim, release, self.enabled, body, body_start)
        if parts & MCE and claim.kind in ("I", "P") and (mce := self.mce) is not None:
            out += mce.check(claim, self.enabled)
        return out

    def for_template(self, slots, day: dt.date, body: str | None = None) -> list[Finding]:
        """body: the template's text (offsets are the slots'), for the fixes that move codes."""
        out: list[Finding] = []
        for group in template_groups(slots, day):
            out += self.check(group, body)
        return out

    def _damaged(self, day: dt.date) -> bool:
        """The ICD-10-CM release in force on the day is damaged: its codes say so (index-damaged)
        and no other release's notes stand in for its own."""
        return ICD10CM in self.v.damaged_sets and self.v.damaged(ICD10CM, day) is not None

    def tabular_release(self, day: dt.date):
        """The ICD-10-CM release whose tabular notes judge the day (None: no notes to judge by,
        or its release in force is damaged, or its notes are): the edits' and hover's."""
        release = self._notes_release(day)
        return release if release is not None and self.v.store.aux_damaged(release, TABULAR_AUX) is None else None

    def _tabular_damaged(self, day: dt.date) -> DamagedRelease | None:
        """The release whose tabular notes would judge the day, when they are damaged (a
        damaged release in force is said at each code instead: code_rules)."""
        release = self._notes_release(day)
        return None if release is None else self.v.store.aux_damaged(release, TABULAR_AUX)

    def _notes_release(self, day: dt.date):
        """The ICD-10-CM release in force on the day when it carries tabular notes and is not
        damaged itself (None otherwise), whether or not its notes can be read."""
        choice = self.v.choice(ICD10CM, day)
        if choice is None or TABULAR_AUX not in choice[0].manifest.aux or self._damaged(day):
            return None
        return choice[0]

    def _mce_damaged(self, day: dt.date) -> DamagedRelease | None:
        """The MCE tables when damaged and (as far as their manifest says) covering the day."""
        damaged = self.v.store.edits_damaged(layout.MCE_SET)
        if damaged is None or (damaged.dated and not damaged.covers(day)):
            return None
        return damaged

    def on_day(self, claim, dated: dt.date) -> _Day | None:
        """What the claim's day of service decides for its edits (None: no edits for this
        kind of claim); dated: the claim's date (claim.date), else today."""
        kind = claim.transaction
        if kind != "I" and kind != "P":
            return None
        day = claim.through or dated
        ctx = self._days.get(day)
        return ctx if ctx is not None else self._day(day)

    def for_x12(self, claim, groups, today: dt.date, body: str | None = None, ctx: _Day | None = None) -> list[Finding]:
        """ctx: on_day(claim, ...), when the caller has it."""
        if ctx is None:
            ctx = self.on_day(claim, claim.date or today)
            if ctx is None:
                return []
        try:
            if ctx.intact:  # (one call less per claim of a 40 MB file)
                return self._edits_x12(claim, groups, today, body, ctx)
            return self._for_x12(claim, groups, today, body, ctx)
        except IndexCorrupt as exc:
            if not self.noted(exc):
                raise
        # The day is worked out again without the damaged data.
        return self._retrying(lambda: self._for_x12(claim, groups, today, body, self._day(ctx.day)))

    def _for_x12(self, claim, groups, today: dt.date, body: str | None, ctx: _Day) -> list[Finding]:
        found = self._edits_x12(claim, groups, today, body, ctx)
        if ctx.intact:
            return found
        dx = px = None
        for line, codes in groups:
            if line is not None:
                continue
            for t in codes:
                if dx is None and t[3] in DX_ROLES and ICD10CM_RE.match(t[1]):
                    dx = CodeAt(t[1], t[2], DX_ROLES[t[3]], t[4])
                elif px is None and t[3] in PX_ROLES:
                    px = CodeAt(t[1], t[2], PX_ROLES[t[3]], t[4])
        return self._unchecked(claim.transaction, ctx.day, [dx] if dx else [], [px] if px else []) + found

    def _edits_x12(self, claim, groups, today: dt.date, body: str | None, ctx: _Day) -> list[Finding]:
        # This runs for every claim of a 40 MB file: one pass over the claim's codes with one
        # dict look-up per diagnosis (the code's gate: what it carries on this day, decided
        # once per code and MCE period) and one OR of its mark (g[0]: the gate bits and the
        # two category sketches in one int), and the full edits only for the claims where a
        # code can say something. The pass keeps the diagnoses' code tuples and their gates,
        # for the decisions that need more than the marks (a quarter of the claims).
        gates = ctx.gates
        dx: list = []  # the diagnoses' code tuples, in claim order
        gs: list = []  # their gates
        acc = 0
        procedures = False
        for line, codes in groups:
            if line is None:
                for t in codes:
                    if t[3] in DX_ROLES:
                        try:
                            g = gates[t[1]]
                        except KeyError:
                            g = self._gate_in(ctx, t[1])
                        acc |= g[0]
                        dx.append(t)
                        gs.append(g)
                    elif t[3] in PX_ROLES:
                        procedures = True
        if acc & _SKIP:
            # A code not in ICD-10-CM shape (its gate is _NOT_DX): from_x12 leaves it out too
            # (other rules report it).
            kept = [i for i, g in enumerate(gs) if g is not _NOT_DX]
            dx, gs = [dx[i] for i in kept], [gs[i] for i in kept]
            acc = reduce(or_, (g[0] for g in gs), 0)
        need = MCE if procedures and ctx.covered else 0
        if not dx:
            return self._full(claim, groups, today, body, ctx, dx, need)
        bits = acc & _BITS
        kind = claim.transaction
        usual = kind == "P" and DX_ROLES[dx[0][3]] in _LISTED and not bits & _STRAY
        if usual and bits & _OWN:
            # A note naming codes of its own category needs a second code of that category.
            usual = not _repeats(gs, acc)
        if usual:
            # The usual 837P, decided here: the first diagnosis is the first-listed one.
            first = gs[0][0]
            first_only = False
            if ctx.covered and bits & _MCE_BITS:
                if bits & (self._anywhere | _SEX_BITS.get(claim.sex, 0)):
                    need = MCE
                elif bits & _AGE and _age_conflict(gs, ctx.day, claim.birth):
                    need = MCE
                elif first & _FIRST_LISTED_BITS:
                    need = MCE
                    first_only = True
            # _sketched, inline: asked for nearly every claim.
            if bits & _TABULAR_BITS and (bits & self._ua or first & _CF or acc >> _CATS & acc >> _NAMED & _SKETCH_MASK and _paired(dx, gs)):
                need |= TABULAR
            elif first_only:
                # Only the first-listed diagnosis' own edits can fire (external cause,
                # manifestation): a tenth of the claims of a file, told without the full edits.
                t = dx[0]
                mce = self.mce
                return mce.first_listed(CodeAt(t[1], t[2], DX_ROLES[t[3]], t[4]), mce.flags("dx", t[1], ctx.day_int), "first-listed", mce.source(ctx.day))
        elif bits or kind == "I":
            need |= self._need(dx, gs, bits, ctx, claim, _sketched(acc))
        if not need:
            return []  # most claims (_full, inline)
        return self._full(claim, groups, today, body, ctx, dx, need)

    def _full(self, claim, groups, today: dt.date, body: str | None, ctx: _Day, dx: list, need: int) -> list[Finding]:
        """The full edits the pre-filter asked for (need: TABULAR | MCE bits) on the claim's
        diagnoses (dx: their code tuples)."""
        if not need:
            return []
        # (ctx.day: the claim's day, as from_x12 works it out; the tabular edits read the diagnoses alone)
        claim_input = from_x12(claim, groups, today, dx, diagnoses_only=not need & MCE, day=ctx.day)
        return self._check(claim_input, ctx.release, body, claim.start, need)

    def _gate_in(self, ctx: _Day, code: str) -> tuple:
        """The code's gate on ctx's days, worked out and kept (the pass found none)."""
        g = ctx.gates[code] = self._gate(ctx, code)
        return g

    def _day(self, day: dt.date) -> _Day:
        """What a day of service decides for the pre-filter: the ICD-10-CM release with tabular
        notes in force (None without one), whether the MCE tables cover it, and its period."""
        release = self.tabular_release(day)
        mce = self.mce
        covered = mce is not None and mce.covers(day)
        period = mce.period(day_int(day)) if covered else -1
        held, gates = self._shared_gates(release, period)
        if len(self._days) > _DAYS_MAX:
            self._days.clear()
        tabular_damaged, mce_damaged = self._tabular_damaged(day), self._mce_damaged(day)
        ctx = self._days[day] = _Day(
            gates, held, release, covered, day_int(day), day, self._categories(release), tabular_damaged, mce_damaged,
            tabular_damaged is None and mce_damaged is None,
        )
        return ctx

    def _shared_gates(self, release, period: int) -> tuple[dict, dict[str, tuple]]:
        """The gates of (release, MCE tables, period), kept with the open release like its
        categories: they derive from the index alone, so every checker of the process (each
        document, each cold check) shares them rather than working out 10,000 codes again.
        Returned with the release's tables of every (MCE tables, period)."""
        mce = self.mce
        tables = (str(mce.release.path), mce.release.manifest.built_at) if mce is not None and period >= 0 else None
        held = _GATES.get(release if release is not None else _NO_RELEASE)
        if held is None:
            held = _GATES[release if release is not None else _NO_RELEASE] = {}
        gates = held.get((tables, period))
        if gates is None:
            gates = held[(tables, period)] = {}
        return held, gates

    @staticmethod
    def _categories(release) -> _Categories:
        """The release's categories with their bits, kept with the (open) release: as its
        build wrote them (reading its 100,000 keys takes 40-80 ms, as much as the edits of
        5,000 claims)."""
        if release is None:
            return _NO_CATEGORIES
        found = _CATEGORIES.get(release)
        if found is None:
            names = stored_categories(release)
            if names is None:  # an index built before the build wrote them
                names = sorted({k[:3] for k in release.keys()})
            found = _CATEGORIES[release] = _Categories(names, frozenset(names), {}, {c: 1 << (i % _SKETCH_BITS) for i, c in enumerate(names)}, {}, {})
        return found

    def _need(self, dx: list, gs: list, bits: int, ctx: _Day, claim, sketched: bool) -> int:
        """Which edits (TABULAR | MCE bits) may apply to these diagnoses (code tuples in claim
        order, gs their gates); sketched: whether the sketches say a note of one may name the
        category of another. A bit is left out only when that part cannot give a finding
        (no false negatives): the full edits decide."""
        need = 0
        kind = claim.transaction
        if ctx.covered:
            anywhere = self._anywhere | _SEX_BITS.get(claim.sex, 0)
            if kind == "I":
                anywhere |= _WRNGPROC
                principal = next((i for i, t in enumerate(dx) if DX_ROLES[t[3]] is PRINCIPAL), None)
                first_bits = _PRINCIPAL_BITS
                if principal is not None and sum(1 for t in dx if t[1] == dx[principal][1]) > 1:
                    need = MCE  # a duplicate of the principal
            else:
                principal = next((i for i, t in enumerate(dx) if DX_ROLES[t[3]] in _LISTED), None)
                first_bits = _FIRST_LISTED_BITS
            if bits & anywhere or (principal is not None and gs[principal][0] & first_bits):
                need = MCE
            elif bits & _AGE and _age_conflict(gs, ctx.day, claim.birth):
                need = MCE
        if bits & _TABULAR_BITS:
            if bits & self._ua or sketched and _paired(dx, gs):
                return need | TABULAR
            # The tabular edits leave the admitting diagnosis out: "first" is the first other one.
            coded = [g for t, g in zip(dx, gs) if DX_ROLES[t[3]] is not ADMITTING]
            if not coded:
                return need
            if coded[0][0] & _CF:
                return need | TABULAR
            if bits & (_OWN | _STRAY) and len(coded) > 1 and _near(dx, gs, bits):
                return need | TABULAR
        return need

    def _gate(self, ctx: _Day, code: str) -> tuple:
        """What a code carries on the days of ctx's period that a claim edit reads: (bits, its
        category (None when the release has no such category), the other categories its
        Excludes1 / code-first notes name (None: none), the lowest and highest age its MCE
        age groups all allow (an age outside any group's range is outside these two), the
        sketch of its category and the sketch of the named ones (_Categories.bit)). The first,
        the mark, holds the bits and the two sketches in one int (_BITS, _CATS, _NAMED): the
        per-claim pass reads and ORs that one object per diagnosis."""
        if len(ctx.gates) > _GATES_MAX:  # a long session meets many codes: start over
            ctx.gates.clear()
        # A day of another MCE period of the release may have worked out the code: its gate
        # holds the same tabular part (it derives from the release alone), and most codes'
        # MCE flags are the same in every period (then the gate itself is).
        other = None
        for gates in list(ctx.held.values()):  # (a copy: another thread may add a table)
            if gates is not ctx.gates:
                other = gates.get(code)
                if other is not None:
                    break
        if other is _NOT_DX or other is None and not ICD10CM_RE.match(code):
            return _NOT_DX
        low, high = 0, _NO_AGE_LIMIT
        if other is not None:
            _, own, named, _, _, cat, sketch = other
            bits = other[0] & _BITS & ~_MCE_BITS
        else:
            own, named, cat, sketch, bits = self._tabular_gate(ctx, code)
        if ctx.covered:
            mce = self.mce
            flags = mce.flags("dx", code, ctx.day_int)  # the same on every day of the period
            if flags:
                for flag in flags:
                    bits |= _FLAG_BITS.get(flag, 0)
                ages = mce.age_limits(flags, ctx.day_int)
                if ages:
                    bits |= _AGE
                    low, high = max(lo for lo, _ in ages), min(hi for _, hi in ages)
        if other is not None and other[0] & _BITS == bits and other[3] == low and other[4] == high:
            return other
        return (bits | cat << _CATS | sketch << _NAMED, own, named, low, high, cat, sketch)

    def _tabular_gate(self, ctx: _Day, code: str) -> tuple:
        """The part of a code's gate (_gate) that ctx's release decides: (its category, the
        categories its notes name, their two sketches, the tabular bits)."""
        known = ctx.categories
        g = self.tabular.gate(ctx.release, code) if ctx.release is not None else None
        if g is None:
            own = code[:3]
            if own not in known.known:  # not a category of the release: no note names it as one
                return None, None, 0, 0, _STRAY
            return own, None, known.bit[own], 0, 0
        # Codes below the same prefixes with notes share one g (tabular.gate), and their
        # category: worked out once for them all.
        hit = known.gates.get(id(g))
        if hit is not None and hit[0] is g:
            return hit[1]
        if len(known.gates) > _GATES_MAX:
            known.gates.clear()
        found = known.gates[id(g)] = (g, self._resolved(known, code[:3], g))
        return found[1]

    @staticmethod
    def _resolved(known: _Categories, own: str, g: tuple) -> tuple:
        """_tabular_gate of the codes of category `own` whose notes give g (tabular.gate)."""
        bits = 0
        named: frozenset[str] | None = None
        sketch = 0
        category = own
        if own not in known.known:  # not a category of the release: no note names it as one
            own = None
            bits |= _STRAY
        names, own_named, cf, has_ua, ranges = g
        found = {c for c in names if c in known.known}
        for lo, hi in ranges:
            found.update(known.names[bisect_left(known.names, lo) : bisect_right(known.names, hi)])
        found.discard(category)
        if found:  # one object per distinct set: codes below one category share theirs
            named = frozenset(found)
            named = known.shared.setdefault(named, named)
            sketch = known.sketches.get(named)
            if sketch is None:
                sketch = known.sketches[named] = reduce(or_, map(known.bit.__getitem__, named))
        bits |= (_NAMES if names or ranges or own_named else 0) | (_OWN if own_named else 0) | (_CF if cf else 0) | (_UA if has_ua else 0)
        return own, named, known.bit[own] if own is not None else 0, sketch, bits


def _tabular_message(damaged: DamagedRelease, day: dt.date) -> str:
    return (
        f"Tabular edits (excludes1, code-first, use-additional-code) not checked on {day}: the tabular notes of "
        f"ICD-10-CM {damaged.label}, which answer for that date, are damaged ({damaged.problem}); {damaged.command}"
    )


def _mce_message(damaged: DamagedRelease, day: dt.date) -> str:
    dates = "" if damaged.dated else " (their dates are unknown, so they may be the ones for that date)"
    return (
        f"MCE edits not checked on {day}: the Medicare Code Editor tables {damaged.label} are damaged{dates} "
        f"({damaged.problem}); {damaged.command}"
    )


def _shared_mce(root) -> MceEdits | None:
    """The MCE edits over the index's tables, one per process and tables: the flags they read
    per code derive from the tables alone, so every checker (each document, each cold check)
    shares them rather than reading the same codes' rows again. Tables rebuilt in place (another
    manifest file) are opened anew."""
    try:
        st = (mce_path(root) / layout.MANIFEST).stat()
        key: tuple = (str(root), st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        return None  # no tables (open_mce would find none either)
    found = _MCE_EDITS.get(key, False)
    if found is False:
        release = open_mce(root)
        found = MceEdits(release) if release is not None else None
        if len(_MCE_EDITS) >= _MCE_EDITS_MAX:
            _MCE_EDITS.clear()
        _MCE_EDITS[key] = found
    return found


def _repeats(gs: list, acc: int) -> bool:
    """Whether two diagnoses (their gates, all of categories the release has; acc the OR of
    their marks) share a category. Each category sets one bit of the sketch: as many bits as
    diagnoses, no two share a category (the usual claim, told without a set)."""
    return (acc >> _CATS & _SKETCH_MASK).bit_count() < len(gs) and len({g[1] for g in gs}) < len(gs)


def _near(dx: list, gs: list, bits: int) -> bool:
    """Whether a note may pair codes the sketches cannot tell apart (bits: the OR of the gates'
    bits; the admitting diagnosis left out): a note naming codes of its own category, with a
    second code of that category; a code of a category the release does not have, which may
    fall in a range a note names. Each category counted once (not once per code: a claim may
    list thousands of diagnoses)."""
    counts: dict[str, int] = {}
    for t in dx:
        if DX_ROLES[t[3]] is not ADMITTING:
            counts[t[1][:3]] = counts.get(t[1][:3], 0) + 1
    for t, g in zip(dx, gs):
        if DX_ROLES[t[3]] is ADMITTING:
            continue
        b = g[0]
        if b & _STRAY and bits & _NAMES or b & _OWN and counts[t[1][:3]] > 1:
            return True
    return False


def _sketched(acc: int) -> bool:
    """Whether the sketch of the diagnoses' categories and the sketch of the categories their
    notes name (in acc, the OR of their marks) share a bit: only then can a note pair them."""
    return bool(acc >> _CATS & acc >> _NAMED & _SKETCH_MASK)


@dataclass(frozen=True, slots=True)
class _Categories:
    """The ICD-10-CM categories of a release: a claim's categories are compared with the ones
    its codes' notes name, as small sets of these (bit sets over all categories were 250-byte
    ints, two per code: their memory, not their operations, was most of the claim edits' cost)."""

    names: list[str]  # sorted
    known: frozenset[str]
    shared: dict[frozenset[str], frozenset[str]]  # each distinct set of named categories, once
    # A category's bit in a sketch: its place among the categories modulo _SKETCH_BITS. A
    # note's categories and a claim's categories can pair only where their sketches (the ORs
    # of their bits) share a bit: most claims are told apart from their pairs with two ints.
    bit: dict[str, int]
    sketches: dict[frozenset[str], int]  # each distinct set of named categories' sketch
    # id(g) -> (g, what it gives codes in the release: _tabular_gate), g a tabular.gate answer
    gates: dict[int, tuple]


def _paired(dx: list, gs: list) -> bool:
    """Whether a note of one diagnosis (code tuples, gs their gates) names the category of
    another that is not the admitting one (the codes' own categories are left out of their
    sets: _gate). Asked only where the sketches share a bit."""
    # A set: isdisjoint walks a list for each note (thousands of diagnoses, thousands of notes).
    cats = {g[1] for t, g in zip(dx, gs) if g[1] is not None and DX_ROLES[t[3]] is not ADMITTING}
    for g in gs:
        if g[2] is not None and not g[2].isdisjoint(cats):
            return True
    return False


def _age_conflict(gs: list, day: dt.date, birth: dt.date | None) -> bool:
    """Whether the age on the day falls outside the MCE age range of one of the diagnoses
    (gates); no birth date, no age edit."""
    if birth is None or birth > day:
        return False
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    for g in gs:
        if age < g[3] or age > g[4]:
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Day:
    gates: dict[str, tuple]
    held: dict  # the gates of the release's other (MCE tables, period) too (_GATES)
    release: object  # the ICD-10-CM release with tabular notes, or None
    covered: bool  # by the MCE tables
    day_int: int
    day: dt.date
    categories: _Categories
    tabular_damaged: DamagedRelease | None  # the release whose tabular notes would judge the day, damaged
    mce_damaged: DamagedRelease | None  # the MCE tables, damaged, that may cover the day
    intact: bool  # neither of the two: the edits' data of the day is whole


_MCE_EDITS: dict[tuple, MceEdits | None] = {}  # (index root, its MCE manifest's identity) -> the edits
_MCE_EDITS_MAX = 8
_DAYS_MAX = 10_000
_GATES_MAX = 200_000  # per (release, MCE period): more than ICD-10-CM has codes
_CATEGORIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Release -> _Categories
_NO_CATEGORIES = _Categories([], frozenset(), {}, {}, {}, {})
_SKETCH_BITS = 128  # a few ints' digits; 64 let through twice as many claims without a pair
_GATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Release -> {(MCE tables, period): gates}


class _NoRelease:
    """The key of the gates of days without an ICD-10-CM release with tabular notes."""


_NO_RELEASE = _NoRelease()
# Gate bits: what a code carries (on the days of one MCE period) that can make a claim edit fire.
_MALE, _FEMALE, _WRNGPROC, _UNSPECIFIED, _AGE, _FIRST_LISTED, _PRINCIPAL_ONLY = 1, 2, 4, 8, 16, 32, 64
_NAMES, _OWN, _CF, _UA, _STRAY = 128, 256, 512, 1024, 2048
_SKIP = 4096  # the mark of _NOT_DX alone: a code not in ICD-10-CM shape
_TABULAR_BITS = _NAMES | _CF | _UA
# A gate's mark (g[0]): these bits, then the sketch of its category, then the sketch of the
# categories its notes name (_SKETCH_BITS each).
_BITS = (1 << 12) - 1  # (not _SKIP)
_CATS = 13
_NAMED = _CATS + _SKETCH_BITS
_SKETCH_MASK = (1 << _SKETCH_BITS) - 1
_MCE_BITS = _MALE | _FEMALE | _WRNGPROC | _UNSPECIFIED | _AGE | _FIRST_LISTED | _PRINCIPAL_ONLY
_SEX_BITS = {"F": _MALE, "M": _FEMALE}  # the patient's sex -> the codes that conflict with it
_FLAG_BITS = {"male": _MALE, "female": _FEMALE, "wrngproc": _WRNGPROC, "unspecified": _UNSPECIFIED}
for _flag in FIRST_LISTED_FLAGS:
    _FLAG_BITS[_flag] = _FIRST_LISTED
for _flag in PRINCIPAL_FLAGS - FIRST_LISTED_FLAGS - {"wrngproc"}:
    _FLAG_BITS[_flag] = _PRINCIPAL_ONLY
# wrngproc is a principal flag too: a principal (837I) with it fires on either bit.
_FIRST_LISTED_BITS = _FIRST_LISTED
_PRINCIPAL_BITS = _FIRST_LISTED | _PRINCIPAL_ONLY | _WRNGPROC
_NO_AGE_LIMIT = 1_000
_NOT_DX = (_SKIP, None, None, 0, _NO_AGE_LIMIT, 0, 0)  # not in ICD-10-CM shape (told apart by identity)
_LISTED = frozenset({PRINCIPAL, OTHER})  # the roles of a first-listed diagnosis (837P)
