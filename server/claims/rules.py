"""The rule interface over whole claims, and the layer that runs every claim rule."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from ..code_rules import Result
from ..verdicts import Verdicts
from ..x12.document import Claim as X12Claim
from ..x12.document import ClaimCodes
from .model import Claim, ServiceLine
from .x12 import claim_from_x12, form_of, line_summary


class ClaimRule(Protocol):
    """A rule over one whole claim. Findings carry document offsets (the claim's lines'
    spans); `Result.no_data` collects "no data installed" notes, one per file in the end."""

    def check(self, claim: Claim, out: Result) -> None: ...

    def notes(self, claim: Claim, line: ServiceLine) -> list[str]:
        """Markdown lines for a hover on the line's code: what this rule says about it here."""
        ...


class ClaimLayer:
    """Every claim rule, run in order on each claim."""

    def __init__(self, verdicts: Verdicts, today: dt.date | None = None, rules: list[ClaimRule] | None = None):
        if rules is None:
            from .ncci import NcciRules

            rules = [NcciRules(verdicts, today)]
        self.rules = rules

    def check(self, claim: Claim, out: Result) -> None:
        for rule in self.rules:
            rule.check(claim, out)

    def notes_only(self) -> bool:
        """True while no rule has data: each then only notes how many service lines it could
        not check (note_unchecked). The same for every claim of a check: asked once per walk."""
        if not self.rules:
            return False
        for rule in self.rules:
            if not hasattr(rule, "note_unchecked") or rule.has_data():
                return False
        return True

    def check_x12(self, claim: X12Claim, groups: ClaimCodes, text: str, out: Result) -> None:
        """`check` on a claim of an X12 walk. While no rule has data (each then only notes how
        many service lines it could not check), the lines are counted from the walk's codes
        rather than built as a model claim: that building was most of this layer's cost."""
        if self.notes_only():
            self.note_x12(claim, groups, text, out)
            return
        self.check(claim_from_x12(claim, groups, text), out)

    def note_x12(self, claim: X12Claim, groups: ClaimCodes, text: str, out: Result, base: int = 0) -> None:
        """check_x12 when notes_only() says so, its notes `base` characters before the
        document's offsets (the checker keeps a claim's results relative to its start)."""
        count, first = line_summary(groups)
        if count:
            form, facility = form_of(claim, text)  # all the notes read of the claim itself
            start = first[2] - base
            for rule in self.rules:
                rule.note_unchecked(form, facility, count, first[4] - base if first[4] >= 0 else first[4], start, start + len(first[1]), out)

    def notes(self, claim: Claim, line: ServiceLine) -> list[str]:
        out: list[str] = []
        for rule in self.rules:
            out += rule.notes(claim, line)
        return out
