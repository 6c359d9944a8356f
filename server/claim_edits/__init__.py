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
        # This runs for every claim of a 40 MB file: a cheap look at the codes first, and the
        # full edits only for the claims where one of them can say something.
        dx = []
        procedures = False
        for line, codes in groups:
            if line is None:
                for t in codes:
                    q = t[3]
                    if q in DX_ROLES:
                        if ICD10CM_RE.match(t[1]):  # as from_x12: other rules report the rest
                            dx.append(t)
                    elif q in PX_ROLES:
                        procedures = True
        if not dx and not procedures:
            return []
        day = claim.through or claim.date or today
        need = self._may_edit(dx, kind, claim.birth, claim.sex, day, MCE if procedures else 0) if dx else MCE
        if not need:
            return []
        return self.check(from_x12(claim, groups, today), body, claim.start, need)

    def _may_edit(self, dx: list, kind: str, birth: dt.date | None, sex: str, day: dt.date, need: int = 0) -> int:
        """Which edits (TABULAR | MCE bits) may apply to these diagnoses; a bit is left out
        only when that part cannot give a finding (no false negatives).

        One dict look-up per code gives what the code carries (pairing notes, MCE rows); most
        codes carry nothing that can fire on this claim."""
        choice = self.v.choice(ICD10CM, day)
        release = choice[0] if choice is not None and "tabular-edits" in choice[0].manifest.aux else None
        mce = self.mce
        covered = mce is not None and mce.covers(day)
        gates = self._gates.get((id(release), id(mce)))
        if gates is None:
            gates = self._gates[(id(release), id(mce))] = {}
        codes = [t[1] for t in dx]
        if kind == "I":
            principal = next((t[1] for t in dx if DX_ROLES[t[3]] == PRINCIPAL), None)
            if principal is not None and codes.count(principal) > 1:
                need |= MCE  # a duplicate of the principal
            first_flags = PRINCIPAL_FLAGS
        else:
            principal = codes[0]
            first_flags = FIRST_LISTED_FLAGS
        when = day_int(day)
        ua = USE_ADDITIONAL_CODE in self.enabled
        unspecified = UNSPECIFIED_CODE in self.enabled
        known_sex = sex == "F" or sex == "M"
        categories = None
        several = len(codes) > 1
        # The tabular edits leave the admitting diagnosis out: "first" is the first other one.
        first = next((i for i, t in enumerate(dx) if DX_ROLES[t[3]] != ADMITTING), -1)
        for i, code in enumerate(codes):
            g = gates.get(code)
            if g is None:
                g = gates[code] = self._gate(release, mce, code)
            if g is _PLAIN:
                continue
            named, own_named, cf, has_ua, rows = g
            if not need & TABULAR:
                if (ua and has_ua) or (cf and i == first):
                    need |= TABULAR
                elif several and (named or own_named):
                    if categories is None:
                        categories = [c[:3] for c in codes]
                        category_set = set(categories)
                    if not named.isdisjoint(category_set) or (own_named and categories.count(code[:3]) > 1):
                        need |= TABULAR
            if rows and covered and not need & MCE:
                f = mce.flags("dx", code, when)
                if not f:
                    continue
                if (
                    (code == principal and not f.isdisjoint(first_flags))
                    or (known_sex and ("male" in f or "female" in f))
                    or (kind == "I" and "wrngproc" in f)
                    or (unspecified and "unspecified" in f)
                ):
                    need |= MCE
                elif birth is not None and not f.isdisjoint(AGE_FLAGS) and birth <= day:
                    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
                    if mce.age_conflict(f, age, when) is not None:
                        need |= MCE
            if need == TABULAR | MCE:
                break
        return need

    def _gate(self, release, mce, code: str):
        g = self.tabular.gate(release, code) if release is not None else None
        rows = mce is not None and mce.has_rows("dx", code)
        if g is None and not rows:
            return _PLAIN
        return (*(g if g is not None else (frozenset(), False, False, False)), rows)
