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

RULES: dict[str, tuple[Severity, str]] = {
    INVALID_CODE: (Severity.ERROR, "well-formed for its set but not in the loaded, applicable release"),
    NOT_BILLABLE: (Severity.WARNING, "a real code that is a header / category, not valid on a claim"),
    BAD_FORMAT: (Severity.ERROR, "not the shape its set and place require"),
    WRONG_CODE_SET: (Severity.ERROR, "a valid code of another set where the qualifier / column demands this one"),
    NOT_IN_INDEX: (Severity.WARNING, "cannot be verified: no or stale data for this set"),
    DELETED_CODE: (Severity.ERROR, "valid in an earlier release, not on the date of service"),
    WRONG_ICD_VERSION: (Severity.ERROR, "an ICD-9 qualifier on or after 2015-10-01, or ICD-10 before it"),
    INVALID_POINTER: (Severity.ERROR, "a diagnosis pointer that points to no diagnosis of the claim"),
    X12_STRUCTURE: (Severity.WARNING, "the interchange structure itself is wrong (envelope, delimiters, counts)"),
    MISSING_CODE_TYPE: (Severity.ERROR, "a price file code without its code type, or a code type without its code"),
    UNKNOWN_CODE_TYPE: (Severity.ERROR, "a code type value that the file's template version does not define"),
    HPT_STRUCTURE: (Severity.WARNING, "the price transparency file's own structure is wrong: headers, placeholders, tall/wide"),
    FHIR_STRUCTURE: (Severity.WARNING, "a FHIR claim file's own structure is wrong: malformed JSON (an error), repeated diagnosis sequences"),
    DISPLAY_MISMATCH: (Severity.WARNING, "a FHIR Coding's display disagrees with the code's official description (off by default)"),
    NCCI_PTP: (Severity.ERROR, "a column 2 code billed with its column 1 code on the same date (NCCI procedure-to-procedure edit)"),
    MUE: (Severity.ERROR, "more units of a code than its NCCI medically unlikely edit allows"),
    ADD_ON_WITHOUT_PRIMARY: (Severity.ERROR, "an add-on code without one of its primary codes on the same date"),
}

# Rules that say nothing unless the user switches them on (settings `severity`, `check --enable`):
# Blue Button and many payers send abbreviated or upper-case displays that are not wrong.
OFF_BY_DEFAULT = frozenset({DISPLAY_MISMATCH})


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
            [Fix(f.title, f.start + delta, f.end + delta, f.text, f.preferred) for f in self.fixes],
            self.more,
        )
