"""The one pipeline behind the editor and the CLI: document text in, findings out.

Detects the file kind by content, reads it, runs the rules. For X12 the results of each claim
are cached by the claim's exact text, so an edit re-checks only the claims it touched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from medcode.index_builder.gcpause import paused_gc
from medcode.index_builder.reader import IndexStore

from .findings import X12_STRUCTURE, Finding, Fix
from .verdicts import Verdicts
from .x12.delimiters import looks_like_x12
from .x12.document import Claim, ClaimCodes, X12Document, walk
from .code_rules import Result, no_data_finding
from .x12.rules import ClaimRules

X12 = "x12"
NONE = "none"


@dataclass
class Analysis:
    kind: str
    findings: list[Finding] = field(default_factory=list)
    x12: X12Document | None = None
    claims_checked: int = 0  # claims whose rules ran (not served from the cache)


class DocumentChecker:
    """Checks successive versions of one document, reusing what did not change."""

    def __init__(self, verdicts: Verdicts, today: dt.date | None = None):
        self.verdicts = verdicts
        self.today = today
        self.rules = ClaimRules(verdicts, today)
        self._claims: dict[int, tuple[int, Result]] = {}

    def check(self, text: str) -> Analysis:
        if not looks_like_x12(text):
            self._claims = {}
            return Analysis(NONE)
        rules = self.rules
        previous, current = self._claims, {}
        total = Result()
        ran = 0

        def on_claim(claim: Claim, codes: ClaimCodes) -> None:
            nonlocal ran
            body = text[claim.start : claim.end]
            key = hash((body, claim.transaction, doc_context))
            hit = previous.get(key)
            if hit is not None and hit[0] == len(body):
                relative = hit[1]
            else:
                relative = rules.check(claim, codes).shifted(-claim.start)
                ran += 1
            current[key] = (len(body), relative)
            total.add(relative, claim.start)

        # Everything outside the claim's own text that changes its findings: the day, the
        # data, and the interchange header (delimiters).
        doc_context = (self.today, id(self.verdicts), text[:128])
        with paused_gc():
            doc = walk(text, on_claim)
        self._claims = current
        findings = total.findings
        for p in doc.problems:
            fixes = [Fix(f"Change to {p.fix!r}", p.start, p.end, p.fix, preferred=True)] if p.fix else []
            findings.append(Finding(X12_STRUCTURE, p.message, p.start, p.end, fixes=fixes))
        for set_id, (count, start, end) in total.no_data.items():
            findings.append(no_data_finding(set_id, count, start, end))
        findings.sort(key=lambda f: (f.start, f.end))
        return Analysis(X12, findings, doc, ran)


def analyse(text: str, store: IndexStore, today: dt.date | None = None) -> Analysis:
    """One-shot analysis (the CLI): no cache across versions."""
    return DocumentChecker(Verdicts(store), today).check(text)
