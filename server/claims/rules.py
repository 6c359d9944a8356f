"""The rule interface over whole claims, and the layer that runs every claim rule."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from ..code_rules import Result
from ..verdicts import Verdicts
from .model import Claim, ServiceLine


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

    def notes(self, claim: Claim, line: ServiceLine) -> list[str]:
        out: list[str] = []
        for rule in self.rules:
            out += rule.notes(claim, line)
        return out
