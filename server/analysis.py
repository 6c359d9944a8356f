"""The one pipeline behind the editor and the CLI: document text in, findings out.

Detects the file kind (kinds.py), reads it, runs the rules. For X12 the results of each claim
are cached by the claim's exact text, so an edit re-checks only the claims it touched; other
kinds are read whole and their codes judged through the same memo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from medcode.index_builder.gcpause import paused_gc
from medcode.index_builder.reader import IndexStore

from medcode.index_builder.codesets import OFFICIAL_SETS

from . import kinds
from .claims.rules import ClaimLayer
from .claims.x12 import claim_from_x12
from .claim_edits import ClaimEdits
from .code_rules import Result, no_data_finding
from .document_rules import DocumentRules
from .findings import DISPLAY_MISMATCH, X12_STRUCTURE, Finding, Fix
from .reading import FHIR, Reading
from .verdicts import Verdicts
from .x12.delimiters import looks_like_x12
from .x12.document import Claim, ClaimCodes, X12Document, walk
from .x12.rules import ClaimRules

if TYPE_CHECKING:
    from .fhir.rules import FhirRules

X12 = "x12"
NONE = "none"
_NOTHING = Result()


@dataclass
class Analysis:
    kind: str
    findings: list[Finding] = field(default_factory=list)
    x12: X12Document | None = None
    reading: Reading | None = None  # CSV, JSON and templates
    claims_checked: int = 0  # claims whose rules ran (not served from the cache)


class DocumentChecker:
    """Checks successive versions of one document, reusing what did not change."""

    def __init__(self, verdicts: Verdicts, today: dt.date | None = None):
        self.verdicts = verdicts
        self.today = today
        self._today = today  # as given; options.day replaces it per check
        self.rules = ClaimRules(verdicts, today)
        self.claim_layer = ClaimLayer(verdicts, today)
        self.document_rules = DocumentRules(verdicts, today)
        self.rules.claim_edits = self.document_rules.claim_edits = ClaimEdits(verdicts)
        self._fhir_rules: FhirRules | None = None  # made on the first FHIR document
        self._claims: dict[int, tuple[int, Result]] = {}

    def check(self, text: str, name: str = "", language: str = "", options: kinds.Options = kinds.Options()) -> Analysis:
        """Check a document; name (path or URI) and language (the editor's language id) help
        tell CSV and templates apart, as content alone cannot."""
        self._undated_day(options)
        if self.rules.claim_edits is not None:
            self.rules.claim_edits.enabled = options.rules_on
        if kinds.X12 in options.kinds and looks_like_x12(text):
            analysis = self._check_x12(text)
        else:
            self._claims = {}
            with paused_gc():
                reading = kinds.read(text, name, language, options)
            if reading is None:
                return Analysis(NONE)
            if reading.kind == FHIR:
                result = self.fhir_rules.check(reading, displays=DISPLAY_MISMATCH in options.rules_on)
            else:
                result = self.document_rules.check(reading, text)
            findings = list(reading.problems) + result.findings
            store = self.verdicts.store
            findings += [no_data_finding(s, n, a, b, store.problem(s)) for s, (n, a, b) in result.no_data.items()]
            findings.sort(key=lambda f: (f.start, f.end))
            analysis = Analysis(reading.kind, findings, reading=reading)
        if options.sets != frozenset(OFFICIAL_SETS):
            # Sets the user switched off say nothing (structure findings have no set).
            analysis.findings = [f for f in analysis.findings if f.code_set not in OFFICIAL_SETS or f.code_set in options.sets]
        return analysis

    @property
    def fhir_rules(self) -> FhirRules:
        if self._fhir_rules is None:
            from .fhir.rules import FhirRules

            self._fhir_rules = FhirRules(self.verdicts, self.today)
            self._fhir_rules.claim_edits = self.rules.claim_edits  # the same edits as X12's claims
            self._fhir_rules.claim_layer = self.claim_layer
        return self._fhir_rules

    def _undated_day(self, options: kinds.Options) -> None:
        """The day codes are judged on when the file gives none, and why, for messages."""
        day = options.day or self._today or dt.date.today()
        if options.day is not None:
            why = f"no date in the file: judged on the day {options.day_source or 'given'} sets"
        else:
            why = "no date in the file: judged on today"
        self.today = day
        for rules in (self.rules, self.document_rules, *([self._fhir_rules] if self._fhir_rules else [])):
            rules.today = day
            rules.undated_why = why
        for rule in self.claim_layer.rules:
            rule.today = day

    def _check_x12(self, text: str) -> Analysis:
        rules = self.rules
        claim_layer = self.claim_layer
        previous, current = self._claims, {}
        total = Result()
        ran = 0

        def on_claim(claim: Claim, codes: ClaimCodes) -> None:
            nonlocal ran
            body = text[claim.start : claim.end]
            key = hash((body, claim.transaction, claim.birth, claim.sex, doc_context))  # DMG sits before CLM
            hit = previous.get(key)
            if hit is not None and hit[0] == len(body):
                relative = hit[1]
            else:
                result = rules.check(claim, codes, body)
                if claim.lines:  # claim-level rules (NCCI): codes judged together
                    claim_layer.check(claim_from_x12(claim, codes, text), result)
                relative = result.shifted(-claim.start)
                if not relative.findings and not relative.no_data:
                    relative = _NOTHING  # most claims: one shared empty result, not one each
                ran += 1
            current[key] = (len(body), relative)
            total.add(relative, claim.start)

        # Everything outside the claim's own text that changes its findings: the day, the
        # data, and the interchange header (delimiters).
        edits = self.rules.claim_edits
        doc_context = (self.today, id(self.verdicts), text[:128], edits.enabled if edits is not None else None)
        with paused_gc():
            doc = walk(text, on_claim)
        self._claims = current
        findings = total.findings
        for p in doc.problems:
            fixes = [Fix(f"Change to {p.fix!r}", p.start, p.end, p.fix, preferred=True)] if p.fix else []
            findings.append(Finding(X12_STRUCTURE, p.message, p.start, p.end, fixes=fixes))
        for set_id, (count, start, end) in total.no_data.items():
            findings.append(no_data_finding(set_id, count, start, end, self.verdicts.store.problem(set_id)))
        findings.sort(key=lambda f: (f.start, f.end))
        return Analysis(X12, findings, x12=doc, claims_checked=ran)


def analyse(text: str, store: IndexStore, today: dt.date | None = None) -> Analysis:
    """One-shot analysis (the CLI): no cache across versions."""
    return DocumentChecker(Verdicts(store), today).check(text)
