"""What the claim edits need from one claim, whatever file it comes from: the patient's age and
sex, the diagnoses with their roles in order, the ICD-10-PCS procedures, and the dates.

Built from the X12 walk (x12/document.py gives the claim with its DMG / CL1 / CLM05 facts and
the code tuples of its HI segments), or from a documentation template's list of codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from medcode.index_builder.codesets import ICD10CM, ICD10CM_RE, ICD10PCS, ICD10PCS_RE, compact

PRINCIPAL = "principal"
ADMITTING = "admitting"
OTHER = "other"
REASON = "reason"  # patient's reason for visit (837I outpatient)
EXTERNAL = "external"  # external cause of injury
PROCEDURE_PRINCIPAL = "principal procedure"
PROCEDURE_OTHER = "other procedure"

# HI qualifiers of ICD-10 codes and the role each gives.
DX_ROLES = {"ABK": PRINCIPAL, "ABJ": ADMITTING, "ABF": OTHER, "APR": REASON, "ABN": EXTERNAL}
PX_ROLES = {"BBR": PROCEDURE_PRINCIPAL, "BBQ": PROCEDURE_OTHER}


class CodeAt(NamedTuple):
    """One code of the claim and where it is written (for findings and fixes). A named tuple
    rather than a frozen dataclass (as immutable, compared and hashed by value the same): the
    claim edits of a 40 MB file make one per diagnosis of 7,000 claims, and a frozen
    dataclass takes three times as long to make."""

    code: str  # index key: no dots
    start: int
    role: str
    element_start: int | None = None  # the HI element (qualifier included), for removal fixes
    length: int = 0  # as written, when it differs from the key ("E11.9" in a template)

    @property
    def end(self) -> int:
        return self.start + (self.length or len(self.code))


# CodeAt((code, start, role, element_start, length)), all five given: made by tuple.__new__
# itself, not NamedTuple's __new__ (a Python function that fills in the defaults), for the
# diagnoses of every claim of a large file that reaches the edits.
_code_at = partial(tuple.__new__, CodeAt)


@dataclass(slots=True)
class ClaimInput:
    kind: str  # "I", "P" or "" (a template)
    day: dt.date  # the date the tables are chosen by: discharge (statement end), else the claim's date
    diagnoses: list[CodeAt] = field(default_factory=list)  # in the claim's order
    procedures: list[CodeAt] = field(default_factory=list)
    birth: dt.date | None = None
    sex: str = ""  # "M", "F", else unknown
    discharge_status: str = ""
    bill_type: str = ""
    admission: dt.date | None = None  # 837I DTP*435; with a discharge (through) date, the stay
    discharge: dt.date | None = None  # 837I statement period end (DTP*434 RD8)

    @property
    def length_of_stay(self) -> int | None:
        """Days from admission to discharge (CMS counts the admission day, not the discharge
        day); None without both dates, when they are out of order, or on an interim bill (type
        of bill frequency 2 or 3: the patient is still in, its period end is no discharge)."""
        if self.admission is None or self.discharge is None or self.discharge < self.admission:
            return None
        if self.bill_type[2:3] in ("2", "3"):
            return None
        return (self.discharge - self.admission).days

    @property
    def age(self) -> int | None:
        """Age in whole years on the day; None without a usable birth date."""
        b = self.birth
        if b is None or b > self.day:
            return None
        return self.day.year - b.year - ((self.day.month, self.day.day) < (b.month, b.day))

    @property
    def principal(self) -> CodeAt | None:
        """837I: the ABK diagnosis; 837P and templates: the first-listed diagnosis."""
        if self.kind == "I":
            return next((d for d in self.diagnoses if d.role == PRINCIPAL), None)
        return next((d for d in self.diagnoses if d.role in (PRINCIPAL, OTHER)), None)

    @property
    def inpatient(self) -> bool:
        """837I with an inpatient type of bill (second digit 1 or 2), or none given: the MCE's
        principal-diagnosis and procedure edits are inpatient (IPPS) edits."""
        if self.kind != "I":
            return False
        return len(self.bill_type) < 2 or self.bill_type[1] in "12"


def template_groups(slots, day: dt.date) -> list[ClaimInput]:
    """The ICD-10-CM codes one documentation template lists for one encounter: the front
    matter's codes, and each prefixed list (`Dx: E11.9, I10`), as separate groups."""
    groups: dict[object, ClaimInput] = {}
    for s in slots:
        if s.expects != ICD10CM or s.hint:
            continue
        if s.place.startswith("front matter"):
            key: object = "front matter"
        elif s.place.endswith(": prefix"):
            key = s.qual_start
        else:
            continue
        code = compact(s.text)
        if ICD10CM_RE.match(code):
            groups.setdefault(key, ClaimInput("", day)).diagnoses.append(CodeAt(code, s.start, OTHER, length=len(s.text)))
    return [g for g in groups.values() if len(g.diagnoses) > 1]


def from_x12(claim, groups, today: dt.date, diagnoses: list | None = None, diagnoses_only: bool = False, day: dt.date | None = None) -> ClaimInput:
    """The claim's ICD-10 codes (well-formed ones only: other rules report the rest).
    diagnoses: the claim's well-formed diagnoses (code tuples), when already picked;
    diagnoses_only: with them, nothing else (no patient, no procedures: what the tabular
    edits read); day: the claim's day (discharge, else its date, else today), when the caller
    has it (claim.date looks at every line)."""
    day = day or claim.through or claim.date or today
    if diagnoses is not None:
        diagnoses = [_code_at((t[1], t[2], DX_ROLES[t[3]], t[4], 0)) for t in diagnoses]
        if diagnoses_only:
            return ClaimInput(claim.transaction, day, diagnoses)
    out = ClaimInput(
        claim.transaction,
        day,
        birth=claim.birth,
        sex=claim.sex,
        discharge_status=claim.discharge_status,
        bill_type=claim.bill_type,
        admission=claim.admission,
        discharge=claim.through,
    )
    if diagnoses is not None:
        out.diagnoses = diagnoses
    for line, codes in groups:
        if line is not None:
            continue
        for t in codes:
            qual = t[3]
            role = DX_ROLES.get(qual)
            if role is not None:
                if diagnoses is None and ICD10CM_RE.match(t[1]):
                    out.diagnoses.append(CodeAt(t[1], t[2], role, t[4]))
            else:
                role = PX_ROLES.get(qual)
                if role is not None and ICD10PCS_RE.match(t[1]):
                    out.procedures.append(CodeAt(t[1], t[2], role, t[4]))
    return out


def from_fhir(res, today: dt.date) -> ClaimInput:
    """A FHIR Claim / ExplanationOfBenefit (fhir.reader.ClaimResource): each diagnosis[] by
    its ICD-10-CM coding, the principal first (type `principal`, else sequence 1), then the
    others in sequence order; the ICD-10-PCS procedures; the patient when one is resolved."""
    kind = res.x12_kind
    day = res.until or res.date or next((i.date for i in res.items if i.date), None) or today
    patient = res.patient
    out = ClaimInput(kind, day, birth=patient.birth if patient else None, sex=patient.sex if patient else "", bill_type=res.bill_type)
    entries = [e for e in res.entries if _icd10cm(e.codes) is not None]
    typed = any(e.role == PRINCIPAL for e in res.entries)
    ordered = sorted(entries, key=lambda e: (e.sequence is None, e.sequence or 0))
    coded = []
    for e in ordered:
        role = e.role or OTHER
        if not typed and e.sequence == 1 and e.role is None:
            role = PRINCIPAL
        slot = _icd10cm(e.codes)
        coded.append((0 if role == PRINCIPAL else 1, CodeAt(compact(slot.text), slot.start, role, length=len(slot.text))))
    out.diagnoses = [c for _, c in sorted(coded, key=lambda t: t[0])]
    for p in sorted(res.procedure_entries, key=lambda p: (p.sequence is None, p.sequence or 0)):
        slot = next((sl for sl in p.codes if sl.expects == ICD10PCS and ICD10PCS_RE.match(compact(sl.text))), None)
        if slot is not None:
            role = PROCEDURE_PRINCIPAL if not out.procedures else PROCEDURE_OTHER
            out.procedures.append(CodeAt(compact(slot.text), slot.start, role, length=len(slot.text)))
    return out


def _icd10cm(slots):
    """The diagnosis' well-formed ICD-10-CM coding (other rules report the rest)."""
    return next((sl for sl in slots if sl.expects == ICD10CM and ICD10CM_RE.match(compact(sl.text))), None)
