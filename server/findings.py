"""Findings: what a check says about a place in a document, with the rule that says it.

Rule ids are stable (the CLI's JSON and the tests use them) and documented in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    # Same numbers as LSP DiagnosticSeverity.
    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


INVALID_CODE = "invalid-code"
NOT_BILLABLE = "not-billable"
BAD_FORMAT = "bad-format"
WRONG_CODE_SET = "wrong-code-set"
NOT_IN_INDEX = "not-in-index"
DELETED_CODE = "deleted-code"
INDEX_DAMAGED = "index-damaged"
WRONG_ICD_VERSION = "wrong-icd-version"
INVALID_POINTER = "invalid-pointer"
X12_STRUCTURE = "x12-structure"
MISSING_CODE_TYPE = "missing-code-type"
UNKNOWN_CODE_TYPE = "unknown-code-type"
HPT_STRUCTURE = "hpt-structure"
FHIR_STRUCTURE = "fhir-structure"
DISPLAY_MISMATCH = "display-mismatch"
NCCI_PTP = "ncci-ptp"
MUE = "mue"
ADD_ON_WITHOUT_PRIMARY = "add-on-without-primary"
# Claim edits across the codes of one claim (server/claim_edits/).
AGE_CONFLICT = "age-conflict"
SEX_CONFLICT = "sex-conflict"
MANIFESTATION_AS_PRINCIPAL = "manifestation-as-principal"
UNACCEPTABLE_PRINCIPAL = "unacceptable-principal"
EXTERNAL_CAUSE_AS_PRINCIPAL = "external-cause-as-principal"
REQUIRES_SECONDARY = "requires-secondary-diagnosis"
QUESTIONABLE_ADMISSION = "questionable-admission"
DUPLICATE_OF_PRINCIPAL = "duplicate-of-principal"
WRONG_PROCEDURE_PERFORMED = "wrong-procedure-performed"
NON_COVERED_PROCEDURE = "non-covered-procedure"
LIMITED_COVERAGE_PROCEDURE = "limited-coverage-procedure"
QUESTIONABLE_OBSTETRIC_ADMISSION = "questionable-obstetric-admission"
LOS_CONFLICT = "los-conflict"
UNSPECIFIED_CODE = "unspecified-code"
EXCLUDES1 = "excludes1"
CODE_FIRST = "code-first"
USE_ADDITIONAL_CODE = "use-additional-code"

RULES: dict[str, tuple[Severity, str]] = {
    INVALID_CODE: (Severity.ERROR, "well-formed for its set but not in the loaded, applicable release"),
    NOT_BILLABLE: (Severity.WARNING, "a real code that is a header / category, not valid on a claim"),
    BAD_FORMAT: (Severity.ERROR, "not the shape its set and place require"),
    WRONG_CODE_SET: (Severity.ERROR, "a valid code of another set where the qualifier / column demands this one"),
    NOT_IN_INDEX: (Severity.WARNING, "cannot be verified: no or stale data for this set"),
    DELETED_CODE: (Severity.ERROR, "valid in an earlier release, not on the date of service"),
    INDEX_DAMAGED: (Severity.WARNING, "cannot be verified: the installed release in force on the date is damaged and must be rebuilt"),
    WRONG_ICD_VERSION: (Severity.ERROR, "an ICD-9 qualifier on or after 2015-10-01, or ICD-10 before it"),
    INVALID_POINTER: (Severity.ERROR, "a diagnosis pointer that points to no diagnosis of the claim"),
    X12_STRUCTURE: (Severity.WARNING, "the interchange structure itself is wrong (envelope, delimiters, counts)"),
    MISSING_CODE_TYPE: (Severity.ERROR, "a price file code without its code type, or a code type without its code"),
    UNKNOWN_CODE_TYPE: (Severity.ERROR, "a code type value that the file's template version does not define"),
    HPT_STRUCTURE: (Severity.WARNING, "the price transparency file's own structure is wrong: headers, placeholders, tall/wide, a JSON key written twice"),
    FHIR_STRUCTURE: (Severity.WARNING, "a FHIR claim file's own structure is wrong: malformed JSON (an error), repeated diagnosis sequences, codes written with JSON escapes, a JSON key written twice"),
    DISPLAY_MISMATCH: (Severity.WARNING, "a FHIR Coding's display disagrees with the code's official description (off by default)"),
    NCCI_PTP: (Severity.ERROR, "a column 2 code billed with its column 1 code on the same date (NCCI procedure-to-procedure edit)"),
    MUE: (Severity.ERROR, "more units of a code than its NCCI medically unlikely edit allows"),
    ADD_ON_WITHOUT_PRIMARY: (Severity.ERROR, "an add-on code without one of its primary codes on the same date"),
    AGE_CONFLICT: (Severity.ERROR, "MCE: a newborn, pediatric, maternity or adult diagnosis outside its age range"),
    SEX_CONFLICT: (Severity.ERROR, "MCE: a diagnosis or procedure for the other sex (tables carry sex flags until 2024-09-30)"),
    MANIFESTATION_AS_PRINCIPAL: (Severity.ERROR, "MCE: a manifestation code as principal / first-listed diagnosis"),
    UNACCEPTABLE_PRINCIPAL: (Severity.ERROR, "MCE: a code not acceptable as principal diagnosis (837I inpatient)"),
    EXTERNAL_CAUSE_AS_PRINCIPAL: (Severity.ERROR, "MCE: an external cause code as principal / first-listed diagnosis"),
    REQUIRES_SECONDARY: (Severity.ERROR, "MCE: a principal diagnosis acceptable only with a secondary diagnosis"),
    QUESTIONABLE_ADMISSION: (Severity.WARNING, "MCE: a principal diagnosis that is a questionable reason for admission (837I)"),
    DUPLICATE_OF_PRINCIPAL: (Severity.WARNING, "MCE: a secondary diagnosis that repeats the principal diagnosis (837I)"),
    WRONG_PROCEDURE_PERFORMED: (Severity.WARNING, "MCE: a diagnosis saying the wrong procedure was performed (837I)"),
    NON_COVERED_PROCEDURE: (Severity.WARNING, "MCE: a procedure Medicare does not cover, in the claim's circumstances (837I)"),
    LIMITED_COVERAGE_PROCEDURE: (Severity.WARNING, "MCE: a procedure Medicare covers only in limited circumstances (837I)"),
    QUESTIONABLE_OBSTETRIC_ADMISSION: (Severity.WARNING, "MCE: a delivery procedure without an outcome-of-delivery diagnosis (837I)"),
    LOS_CONFLICT: (Severity.WARNING, "MCE: a procedure inconsistent with the length of stay, e.g. ventilation over 96 hours in a stay under 4 days (837I)"),
    UNSPECIFIED_CODE: (Severity.INFORMATION, "MCE: an unspecified diagnosis code (off by default)"),
    EXCLUDES1: (Severity.WARNING, "tabular: two codes of one claim where an Excludes1 note of one names the other"),
    CODE_FIRST: (Severity.WARNING, "tabular: a code whose note says code first the etiology, without it before"),
    USE_ADDITIONAL_CODE: (Severity.INFORMATION, "tabular: a use-additional-code note none of the claim's codes answers (off by default)"),
}

# Rules that say nothing unless the user switches them on (a severity in the `severity` setting,
# `check --enable`): they would flag most claims, or (display-mismatch) Blue Button and many
# payers send abbreviated or upper-case displays that are not wrong.
OFF_BY_DEFAULT = frozenset({DISPLAY_MISMATCH, UNSPECIFIED_CODE, USE_ADDITIONAL_CODE})


@dataclass(frozen=True, slots=True)
class Fix:
    """A text edit that resolves a finding: replace [start, end) with text."""

    title: str
    start: int
    end: int
    text: str
    preferred: bool = False


@dataclass(slots=True)
class Finding:
    rule: str
    message: str
    start: int
    end: int
    code: str = ""
    code_set: str = ""
    severity: Severity | None = None  # None: the rule's default
    fixes: list[Fix] = field(default_factory=list)
    # Where more choices than the fixes come from: (set id, header key, release label).
    more: tuple[str, str, str] | None = None

    @property
    def effective_severity(self) -> Severity:
        return self.severity if self.severity is not None else RULES[self.rule][0]

    def shifted(self, delta: int) -> Finding:
        """The same finding for text that moved by delta characters (cached claims)."""
        if not delta:
            return self
        return Finding(
            self.rule,
            self.message,
            self.start + delta,
            self.end + delta,
            self.code,
            self.code_set,
            self.severity,
            # No fixes (most findings): the same empty list, not one more per copy (a finding's
            # fixes are never changed in place).
            [Fix(f.title, f.start + delta, f.end + delta, f.text, f.preferred) for f in self.fixes] if self.fixes else self.fixes,
            self.more,
        )

    def move(self, delta: int) -> None:
        """Move this finding with its text by delta characters, in place. Only for findings
        their owner made for itself (analysis.py's claim totals): a re-check then hands the
        editor's diagnostics cache the same objects, which it recognises without a key."""
        self.start += delta
        self.end += delta
        if self.fixes:
            self.fixes = [Fix(f.title, f.start + delta, f.end + delta, f.text, f.preferred) for f in self.fixes]
