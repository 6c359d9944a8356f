"""Claim edits: rules across the codes of one claim (or one template's encounter) and the
patient they describe, from the CMS Medicare Code Editor tables and the ICD-10-CM tabular.

`ClaimEdits.check` takes a ClaimInput (inputs.py) and returns findings with absolute offsets.
"""

from __future__ import annotations

import datetime as dt

from medcode.index_builder.codesets import ICD10CM
from medcode.index_builder.mce_index import open_mce

from ..findings import Finding
from .inputs import ClaimInput, from_x12, template_groups
from .mce import MceEdits
from .tabular import TabularEdits

__all__ = ["ClaimEdits", "ClaimInput", "from_x12", "template_groups"]


class ClaimEdits:
    def __init__(self, verdicts, enabled: frozenset[str] = frozenset()):
        """enabled: the rules that are off by default (findings.OFF_BY_DEFAULT) to run anyway."""
        self.v = verdicts
        self.enabled = enabled
        self.tabular = TabularEdits()
        self._mce: MceEdits | None | bool = False  # False: not opened yet

    @property
    def mce(self) -> MceEdits | None:
        if self._mce is False:
            release = open_mce(self.v.store.root)
            self._mce = MceEdits(release) if release is not None else None
        return self._mce

    def check(self, claim: ClaimInput, body: str | None = None, body_start: int = 0) -> list[Finding]:
        if not claim.diagnoses and not claim.procedures:
            return []
        out: list[Finding] = []
        if claim.diagnoses:
            choice = self.v.choice(ICD10CM, claim.day)
            if choice is not None and "tabular-edits" in choice[0].manifest.aux:
                out += self.tabular.check(claim, choice[0], self.enabled, body, body_start)
        mce = self.mce
        if mce is not None and claim.kind in ("I", "P"):
            out += mce.check(claim, self.enabled)
        return out

    def for_template(self, slots, day: dt.date) -> list[Finding]:
        out: list[Finding] = []
        for group in template_groups(slots, day):
            out += self.check(group)
        return out

    def for_x12(self, claim, groups, today: dt.date, body: str | None = None) -> list[Finding]:
        if claim.transaction not in ("I", "P"):
            return []
        return self.check(from_x12(claim, groups, today), body, claim.start)
