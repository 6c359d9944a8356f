"""Claim edits: rules across the codes of one claim (or one template's encounter) and the
patient they describe, from the CMS Medicare Code Editor tables and the ICD-10-CM tabular.

`ClaimEdits.check` takes a ClaimInput (inputs.py) and returns findings with absolute offsets.
"""

from __future__ import annotations

import datetime as dt

from medcode.index_builder.codesets import ICD10CM, ICD10CM_RE
from medcode.index_builder.mce_index import open_mce

from ..findings import UNSPECIFIED_CODE, USE_ADDITIONAL_CODE, Finding
from .inputs import ADMITTING, DX_ROLES, PRINCIPAL, PX_ROLES, ClaimInput, from_x12, template_groups
from .mce import AGE_FLAGS, FIRST_LISTED_FLAGS, PRINCIPAL_FLAGS, MceEdits, day_int
from .tabular import TabularEdits

__all__ = ["ClaimEdits", "ClaimInput", "from_x12", "template_groups"]

_PLAIN = ()  # a code that carries nothing any claim edit reads
TABULAR, MCE = 1, 2  # the parts of the claim edits


class ClaimEdits:
    def __init__(self, verdicts, enabled: frozenset[str] = frozenset()):
        """enabled: the rules that are off by default (findings.OFF_BY_DEFAULT) to run anyway."""
        self.v = verdicts
        self.enabled = enabled
        self.tabular = TabularEdits()
        self._mce: MceEdits | None | bool = False  # False: not opened yet
        self._gates: dict[tuple[int, int], dict[str, tuple]] = {}

    @property
    def mce(self) -> MceEdits | None:
        if self._mce is False:
            release = open_mce(self.v.store.root)
            self._mce = MceEdits(release) if release is not None else None
        return self._mce

    def check(self, claim: ClaimInput, body: str | None = None, body_start: int = 0, parts: int = TABULAR | MCE) -> list[Finding]:
        """parts: which edits to run (a pre-filter may know that the others say nothing)."""
        if not claim.diagnoses and not claim.procedures:
            return []
        out: list[Finding] = []
        if claim.diagnoses and parts & TABULAR:
            choice = self.v.choice(ICD10CM, claim.day)
            if choice is not None and "tabular-edits" in choice[0].manifest.aux:
                out += self.tabular.check(claim, choice[0], self.enabled, body, body_start)
        mce = self.mce
        if mce is not None and claim.kind in ("I", "P") and parts & MCE:
            out += mce.check(claim, self.enabled)
        return out

    def for_template(self, slots, day: dt.date) -> list[Finding]:
        out: list[Finding] = []
        for group in template_groups(slots, day):
            out += self.check(group)
        return out

    def for_x12(self, claim, groups, today: dt.date, body: str | None = None) -> list[Finding]:
        kind = claim.transaction
        if kind != "I" and kind != "P":
            return []
        # This runs for every claim of a 40 MB file: one pass over the claim's codes with one
        # dict look-up each (what the code carries, as bits), and the full edits only for the
        # claims where one of them can say something. The gate of a code not in ICD-10-CM shape
        # is _NOT_DX: from_x12 leaves it out too (other rules report it).
        day = claim.through or claim.date or today
        gates, release = self._gates_on(day)
        dx: list = []
        dx_gates: list = []
        procedures = False
        for line, codes in groups:
            if line is None:
                for t in codes:
                    q = t[3]
                    if q in DX_ROLES:
                        g = gates.get(t[1])
                        if g is None:
                            g = gates[t[1]] = self._gate(release, t[1])
                        if g is not _NOT_DX:
                            dx.append(t)
                            dx_gates.append(g)
                    elif q in PX_ROLES:
                        procedures = True
        if not dx:
            return self.check(from_x12(claim, groups, today), body, claim.start, MCE) if procedures else []
        need = self._may_edit(dx, dx_gates, kind, claim.birth, claim.sex, day, MCE if procedures else 0)
        if not need:
            return []
        return self.check(from_x12(claim, groups, today), body, claim.start, need)

    def _gates_on(self, day: dt.date) -> tuple[dict[str, tuple], object]:
        """The per-code gates for the ICD-10-CM release with tabular notes in force on the day
        (None without one) and the MCE tables."""
        choice = self.v.choice(ICD10CM, day)
        release = choice[0] if choice is not None and "tabular-edits" in choice[0].manifest.aux else None
        key = (id(release), id(self.mce))
        gates = self._gates.get(key)
        if gates is None:
            gates = self._gates[key] = {}
        return gates, release

    def _may_edit(self, dx: list, dx_gates: list, kind: str, birth: dt.date | None, sex: str, day: dt.date, need: int = 0) -> int:
        """Which edits (TABULAR | MCE bits) may apply to these diagnoses; a bit is left out
        only when that part cannot give a finding (no false negatives). A code's gate bits are
        the union over every date of its MCE rows: a superset, so the full edits (exact per
        date) decide."""
        if kind == "I":
            principal = next((t[1] for t in dx if DX_ROLES[t[3]] == PRINCIPAL), None)
            if principal is not None and sum(1 for t in dx if t[1] == principal) > 1:
                need |= MCE  # a duplicate of the principal
            first_bits = _PRINCIPAL_BITS
        else:
            principal = dx[0][1]
            first_bits = _FIRST_LISTED_BITS
        mce = self.mce
        covered = mce is not None and mce.covers(day)
        # The MCE bits that fire wherever the code is, on this claim.
        anywhere = 0
        if covered:
            if sex == "F" or sex == "M":
                anywhere |= _SEX
            if kind == "I":
                anywhere |= _WRNGPROC
            if UNSPECIFIED_CODE in self.enabled:
                anywhere |= _UNSPECIFIED
        else:
            first_bits = 0
        ua = USE_ADDITIONAL_CODE in self.enabled
        age_known = covered and birth is not None and birth <= day
        categories = None
        several = len(dx) > 1
        # The tabular edits leave the admitting diagnosis out: "first" is the first other one.
        first = next((i for i, t in enumerate(dx) if DX_ROLES[t[3]] != ADMITTING), -1)
        for i, g in enumerate(dx_gates):
            if g is _PLAIN:
                continue
            bits, named, own_named = g
            code = dx[i][1]
            if not need & TABULAR and bits & _TABULAR_BITS:
                if (ua and bits & _UA) or (bits & _CF and i == first):
                    need |= TABULAR
                elif several and bits & _NAMES:
                    if categories is None:
                        categories = [t[1][:3] for t in dx]
                        category_set = set(categories)
                    if not named.isdisjoint(category_set) or (own_named and categories.count(code[:3]) > 1):
                        need |= TABULAR
            if bits & _MCE_BITS and not need & MCE:
                if bits & _DATED:  # flags that differ by date (sex flags end 2024-09-30): the day's
                    bits = _bits_of(mce.flags("dx", code, day_int(day)))
                if bits & anywhere or (bits & first_bits and code == principal):
                    need |= MCE
                elif bits & _AGE and age_known:
                    when = day_int(day)
                    f = mce.flags("dx", code, when)
                    if not f.isdisjoint(AGE_FLAGS):
                        age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
                        if mce.age_conflict(f, age, when) is not None:
                            need |= MCE
            if need == TABULAR | MCE:
                break
        return need

    def _gate(self, release, code: str):
        """What a code carries that a claim edit reads: (bits, the other categories its
        Excludes1 / code-first notes name, whether they name its own category)."""
        if not ICD10CM_RE.match(code):
            return _NOT_DX
        g = self.tabular.gate(release, code) if release is not None else None
        mce = self.mce
        flags = mce.constant_flags("dx", code) if mce is not None else frozenset()
        bits = _DATED if flags is None else _bits_of(flags)
        named, own_named = frozenset(), False
        if g is not None:
            named, own_named, cf, has_ua = g
            bits |= (_NAMES if named or own_named else 0) | (_CF if cf else 0) | (_UA if has_ua else 0)
        if not bits:
            return _PLAIN
        return (bits, named, own_named)


# Gate bits: what a code carries (on some date) that can make a claim edit fire.
_SEX, _WRNGPROC, _UNSPECIFIED, _AGE, _FIRST_LISTED, _PRINCIPAL_ONLY = 1, 2, 4, 8, 16, 32
_NAMES, _CF, _UA = 64, 128, 256
_DATED = 512  # MCE flags that differ by date: read the day's
_MCE_BITS = _SEX | _WRNGPROC | _UNSPECIFIED | _AGE | _FIRST_LISTED | _PRINCIPAL_ONLY | _DATED
_TABULAR_BITS = _NAMES | _CF | _UA
_FLAG_BITS = {"male": _SEX, "female": _SEX, "wrngproc": _WRNGPROC, "unspecified": _UNSPECIFIED}
for _flag in FIRST_LISTED_FLAGS:
    _FLAG_BITS[_flag] = _FIRST_LISTED
for _flag in PRINCIPAL_FLAGS - FIRST_LISTED_FLAGS - {"wrngproc"}:
    _FLAG_BITS[_flag] = _PRINCIPAL_ONLY
# wrngproc is a principal flag too: a principal (837I) with it fires on either bit.
_FIRST_LISTED_BITS = _FIRST_LISTED
_PRINCIPAL_BITS = _FIRST_LISTED | _PRINCIPAL_ONLY | _WRNGPROC
_NOT_DX = ("not ICD-10-CM",)


def _bits_of(flags: frozenset[str]) -> int:
    bits = _AGE if not flags.isdisjoint(AGE_FLAGS) else 0
    for flag in flags:
        bits |= _FLAG_BITS.get(flag, 0)
    return bits
