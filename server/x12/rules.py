"""Rules for the codes of one claim: each slot against what its place demands and the data.

Messages name the code, the set and the release that answered; a finding never claims more
than the loaded data proves (DESIGN.md, honesty principle).
"""

from __future__ import annotations

import datetime as dt
import re
from itertools import islice
from dataclasses import dataclass, field

from medcode.index_builder import layout
from medcode.index_builder.codesets import (
    CPT,
    CPT_MODIFIER_RE,
    CPT_RE,
    HCPCS,
    HCPCS_MODIFIER_RE,
    HCPCS_RE,
    ICD10CM,
    ICD10CM_RE,
    ICD10PCS,
    ICD10PCS_RE,
    NDC,
    NDC11_RE,
    display,
    ndc_candidates,
    ndc_to_11,
    set_name,
)
from medcode.index_builder.lookup import Answer, Status
from medcode.index_builder.model import CODE, HEADER
from medcode.index_builder.model import MODIFIER as MODIFIER_KIND

from ..findings import (
    BAD_FORMAT,
    DELETED_CODE,
    INVALID_CODE,
    INVALID_POINTER,
    NOT_BILLABLE,
    NOT_IN_INDEX,
    WRONG_CODE_SET,
    WRONG_ICD_VERSION,
    Finding,
    Fix,
    Severity,
)
from ..verdicts import SUGGESTIONS, Verdicts, billable_below
from .document import Claim, ClaimCodes
from .slots import POINTER, Slot, make_slot
from .vocabulary import AMBULANCE_LOCATIONS, CDT, DRG, ICD9_DX, ICD9_PROC, ICD9_TO_ICD10, ICD10_TO_ICD9, MODIFIER, PROCEDURE, REVENUE

ICD10_START = dt.date(2015, 10, 1)
SEVENTH_MAX = 40  # 7th-character definitions have at most 17 values; a bound all the same
ICD9_DX_RE = re.compile(r"^(?:\d{3,5}|V\d{2,4}|E\d{3,4})$")
ICD9_PROC_RE = re.compile(r"^\d{2,4}$")
CDT_RE = re.compile(r"^D\d{4}$")
MAX_POINTERS = 12


@dataclass
class ClaimResult:
    """Findings of one claim, plus the sets it used that have no data installed at all."""

    findings: list[Finding] = field(default_factory=list)
    no_data: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # set -> (count, start, end)

    def shifted(self, delta: int) -> ClaimResult:
        return ClaimResult(
            [f.shifted(delta) for f in self.findings],
            {k: (n, s + delta, e + delta) for k, (n, s, e) in self.no_data.items()},
        )

    def add(self, other: ClaimResult, delta: int = 0) -> None:
        """Take in another result whose offsets are delta characters off (first place kept)."""
        if other.findings:
            self.findings.extend(f.shifted(delta) for f in other.findings)
        mine = self.no_data
        for set_id, (n, s, e) in other.no_data.items():
            seen = mine.get(set_id)
            mine[set_id] = (n, s + delta, e + delta) if seen is None else (seen[0] + n, seen[1], seen[2])


class ClaimRules:
    def __init__(self, verdicts: Verdicts, today: dt.date | None = None):
        self.v = verdicts
        self.today = today or dt.date.today()
        # What one code in one place says on one day, relative to the code's offset: files
        # repeat the same few thousand codes, so most slots are a dictionary hit.
        self._memo: dict[tuple, ClaimResult] = {}
        self._windows_by_day: dict[dt.date, dict[str | None, int]] = {}
        self._window_ids: dict[tuple, int] = {}
        self._day_sensitive = False

    def check(self, claim: Claim, groups: ClaimCodes) -> ClaimResult:
        out = ClaimResult()
        claim_day = claim.date or self.today
        memo = self._memo
        for line, codes in groups:
            day = line.date if line is not None and line.date is not None else claim_day
            windows = self._windows_on(day)
            for t in codes:
                expects, text, start, qual = t[0], t[1], t[2], t[3]
                window = windows.get(expects)
                if window is None:
                    window = windows[expects] = self._window(expects, day)
                diag = claim.diagnoses if expects == POINTER else 0
                # Most results hold for every day the same releases answer; only those that
                # mention the day or hinge on a record's own dates are kept per day.
                result = memo.get((expects, text, qual, diag, window))
                if result is None:
                    result = memo.get((expects, text, qual, diag, day))
                    if result is None:
                        result = self._check_slot(make_slot(t, line), day, claim)
                        if len(memo) > 200_000:
                            memo.clear()
                        memo[(expects, text, qual, diag, day if self._day_sensitive else window)] = result
                if result.findings or result.no_data:
                    out.add(result, start)
        return out

    def _windows_on(self, day: dt.date) -> dict:
        windows = self._windows_by_day.get(day)
        if windows is None:
            windows = self._windows_by_day[day] = {}
        return windows

    def _window(self, expects: str | None, day: dt.date) -> int:
        """A small number naming which releases answer for this place on this day (and which
        side of the ICD-10 transition it falls): results are shared within a window."""
        answering = [day < ICD10_START]
        for set_id in _WINDOW_SETS.get(expects, ()):
            choice = self.v.choice(set_id, day)
            answering.append((id(choice[0]), choice[1]) if choice else None)
        return self._window_ids.setdefault(tuple(answering), len(self._window_ids))

    def check_slot(self, slot: Slot, day: dt.date, claim: Claim) -> ClaimResult:
        """The findings of one slot, at its own offsets (hover and code actions use this)."""
        return self._check_slot(slot, day, claim).shifted(slot.start)

    def _check_slot(self, slot: Slot, day: dt.date, claim: Claim) -> ClaimResult:
        """Findings relative to the slot's start."""
        self._day_sensitive = False
        result = ClaimResult()
        check = _CHECKS.get(slot.expects)
        if check is not None:
            check(self, slot, day, claim, result)
        return result.shifted(-slot.start)

    def _day(self, day: dt.date) -> str:
        """The day, for a message: such a result holds for this day only."""
        self._day_sensitive = True
        return day.isoformat()

    # -- shared pieces ---------------------------------------------------------------------
    def _emit(self, out: ClaimResult, slot: Slot, rule: str, message: str, code_set: str, fixes=(), severity=None) -> None:
        out.findings.append(Finding(rule, message, slot.start, slot.end, slot.text, code_set, severity, list(fixes)))

    def _no_data(self, out: ClaimResult, set_id: str, slot: Slot) -> None:
        count, start, end = out.no_data.get(set_id, (0, slot.start, slot.end))
        out.no_data[set_id] = (count + 1, start, end)

    def _format(self, slot: Slot, out: ClaimResult, set_id: str, cleaned: str, what: str) -> bool:
        """Dots, spaces and lower case are not allowed inside X12 codes: report and offer the
        cleaned code. True when the slot was reported."""
        if cleaned == slot.text:
            return False
        self._emit(
            out, slot, BAD_FORMAT,
            f"{slot.text} is not in X12 form: {what} are sent without dots, spaces or lower case ({cleaned})",
            set_id, [Fix(f"Change to {cleaned}", slot.start, slot.end, cleaned, preferred=True)],
        )
        return True

    def _verdict(self, out: ClaimResult, slot: Slot, set_id: str, key: str, day: dt.date, *, kind_word="code") -> Answer | None:
        """Common handling of a look-up; returns the answer when the code was found as valid
        (so the caller can apply set-specific checks), None when a finding was emitted."""
        if not self.v.has_data(set_id):
            self._no_data(out, set_id, slot)
            return None
        a = self.v.answer(set_id, key, day)
        rel = a.release
        title = rel.title if rel else set_name(set_id)
        shown = display(set_id, key)
        if a.record is not None and (a.record.terminated or a.record.added):
            self._day_sensitive = True  # its status hinges on the day
        if a.status == Status.FOUND:
            return a
        if a.status == Status.TERMINATED and rel is not None and not a.in_force and _after_release(a.record.terminated, rel):
            # An end date after the release's own period was only scheduled when it was
            # published (NDC packages list many): the release cannot prove it happened.
            self._emit(
                out, slot, NOT_IN_INDEX,
                f"{shown}: {title} scheduled its end for {a.record.terminated}, before the date of service {self._day(day)}; "
                f"it cannot be verified without the {set_name(set_id)} release for that date",
                set_id,
            )
        elif a.status in (Status.TERMINATED, Status.DELETED):
            rec = a.record or a.seen_record
            when = f"terminated {rec.terminated}" if a.status == Status.TERMINATED and rec and rec.terminated else f"not in {title}"
            where = f" (last listed in {a.seen_in.title})" if a.status == Status.DELETED and a.seen_in else ""
            self._emit(
                out, slot, DELETED_CODE,
                f"{shown} was deleted: {when}{where}, before the date of service {self._day(day)}",
                set_id, self._replacements(set_id, a, day, slot),
            )
        elif a.status == Status.NOT_YET:
            self._emit(out, slot, INVALID_CODE, f"{shown} takes effect {a.record.added}, after the date of service {self._day(day)} ({title})", set_id)
        elif a.status == Status.NOT_FOUND:
            seen = f"; it is listed in {a.seen_in.title}" if a.seen_in else ""
            self._emit(out, slot, INVALID_CODE, f"{shown} is not a {kind_word} in {title}{seen}", set_id, self._near(set_id, key, day, slot))
        else:
            why = "a partial list" if rel and not rel.manifest.complete else f"not in force on {self._day(day)}"
            self._emit(
                out, slot, NOT_IN_INDEX,
                f"{shown} is not found in {title} ({why}), so it cannot be verified; import the {set_name(set_id)} release for {self._day(day)}",
                set_id,
            )
        return None

    def _replacements(self, set_id: str, a: Answer, day: dt.date, slot: Slot) -> list[Fix]:
        rec = a.record or a.seen_record
        fixes = []
        for ref in (rec.detail.get("cross_references", []) if rec else [])[:SUGGESTIONS]:
            new = self.v.answer(set_id, ref, day)
            if new.record is not None and new.status == Status.FOUND:
                fixes.append(Fix(f"Replace with {display(set_id, ref)} — {new.record.description}", slot.start, slot.end, ref))
        if not fixes and rec is not None and rec.parent and a.release is not None:
            fixes = self._children_fixes(set_id, a.release, rec.parent, slot)
        return fixes

    def _near(self, set_id: str, key: str, day: dt.date, slot: Slot) -> list[Fix]:
        """For an unknown code: the billable codes under its longest existing ancestor."""
        if set_id not in (ICD10CM, ICD10PCS):
            return []
        a = self.v.answer(set_id, key, day)
        rel = a.release
        if rel is None:
            return []
        for n in range(len(key) - 1, 2, -1):
            if key[:n] in rel:
                return self._children_fixes(set_id, rel, key[:n], slot)
        return []

    def _children_fixes(self, set_id: str, rel, header: str, slot: Slot) -> list[Fix]:
        return [
            Fix(f"Replace with {display(set_id, s.key)} — {s.description}", slot.start, slot.end, s.key)
            for s in billable_below(rel, header)
        ]

    # -- per place -------------------------------------------------------------------------
    def icd10cm(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        if day < ICD10_START:
            self._version(slot, day, out, ICD10_TO_ICD9.get(slot.qualifier or ""), "ICD-10-CM")
            return
        if self._format(slot, out, ICD10CM, slot.text.replace(".", "").replace(" ", "").upper(), "ICD-10-CM codes"):
            return
        key = slot.text
        if not ICD10CM_RE.match(key):
            if ICD10PCS_RE.match(key) and self.v.exists(ICD10PCS, key, day):
                self._wrong_set(slot, out, ICD10PCS, ICD10CM, key, day)
            elif ICD9_DX_RE.match(key):
                self._emit(out, slot, WRONG_CODE_SET, f"{key} looks like an ICD-9-CM code; {slot.qualifier} demands ICD-10-CM", ICD10CM)
            else:
                self._emit(out, slot, BAD_FORMAT, f"{key} is not an ICD-10-CM code (a letter, a digit or letter, then up to 5 characters)", ICD10CM)
            return
        a = self._verdict_or_other_set(slot, day, out, ICD10CM, ICD10PCS, key)
        if a is not None and a.record.kind == HEADER:
            self._not_billable(slot, out, a)

    def icd10pcs(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        if day < ICD10_START:
            self._version(slot, day, out, ICD10_TO_ICD9.get(slot.qualifier or ""), "ICD-10-PCS")
            return
        if self._format(slot, out, ICD10PCS, slot.text.replace(".", "").replace(" ", "").upper(), "ICD-10-PCS codes"):
            return
        key = slot.text
        if not ICD10PCS_RE.match(key):
            if ICD10CM_RE.match(key) and self.v.exists(ICD10CM, key, day):
                self._wrong_set(slot, out, ICD10CM, ICD10PCS, key, day)
            else:
                self._emit(out, slot, BAD_FORMAT, f"{key} is not an ICD-10-PCS code (7 characters of 0-9 and A-Z without I and O)", ICD10PCS)
            return
        a = self._verdict_or_other_set(slot, day, out, ICD10PCS, ICD10CM, key)
        if a is not None and a.record.kind == HEADER:
            self._not_billable(slot, out, a)

    def _verdict_or_other_set(self, slot, day, out, set_id, other, key) -> Answer | None:
        """Look up in the demanded set; a code unknown there but real in the other ICD-10 set
        is a wrong-code-set finding rather than an invalid code."""
        if self.v.has_data(set_id):
            a = self.v.answer(set_id, key, day)
            if a.record is None and a.seen_record is None and self.v.has_data(other) and self.v.exists(other, key, day):
                self._wrong_set(slot, out, other, set_id, key, day)
                return None
        return self._verdict(out, slot, set_id, key, day)

    def _wrong_set(self, slot: Slot, out: ClaimResult, actual: str, demanded: str, key: str, day: dt.date) -> None:
        rec = self.v.exists(actual, key, day)
        what = f" ({rec.description})" if rec else ""
        self._emit(
            out, slot, WRONG_CODE_SET,
            f"{display(actual, key)} is {a_an(set_name(actual))} code{what}, but {slot.qualifier} demands {set_name(demanded)}",
            demanded,
        )

    def _version(self, slot: Slot, day: dt.date, out: ClaimResult, other_qualifier: str | None, set_label: str) -> None:
        fixes = []
        if other_qualifier and slot.qual_start is not None:
            fixes.append(Fix(f"Change qualifier to {other_qualifier}", slot.qual_start, slot.qual_start + len(slot.qualifier), other_qualifier))
        self._emit(
            out, slot, WRONG_ICD_VERSION,
            f"{slot.qualifier} is an {set_label} qualifier, but the date of service {self._day(day)} is before ICD-10 took effect (2015-10-01)",
            ICD10CM if "CM" in set_label else ICD10PCS, fixes,
        )

    def _not_billable(self, slot: Slot, out: ClaimResult, a: Answer) -> None:
        rec, rel, set_id = a.record, a.release, a.set_id
        shown = display(set_id, rec.code)
        total = rel.count(rec.code, layout.FLAG_CODE)
        # A code that only lacks its 7th character: every defined 7th character is a fix.
        seventh = [k for k in islice(rel.keys(rec.code, layout.FLAG_CODE), SEVENTH_MAX) if len(k) == 7 and k[:6].rstrip("X") == rec.code]
        if seventh:
            message = f"{shown} ({rec.description}) needs a 7th character: {total} billable code(s) below it, e.g. {display(set_id, seventh[0])}"
            fixes = [
                Fix(f"Add 7th character {k[-1]}: {display(set_id, k)} — {rel.get(k).description}", slot.start, slot.end, k)
                for k in seventh
            ]
        else:
            below = billable_below(rel, rec.code, limit=SUGGESTIONS)
            example = f", e.g. {display(set_id, below[0].key)} {below[0].description}" if below else ""
            message = f"{shown} ({rec.description}) is a header, not billable: choose one of its {total} billable codes{example}"
            fixes = [Fix(f"Replace with {display(set_id, s.key)} — {s.description}", slot.start, slot.end, s.key) for s in below]
        self._emit(out, slot, NOT_BILLABLE, message, set_id, fixes)
        if total > len(fixes):
            out.findings[-1].more = (set_id, rec.code, rel.label)

    def icd9(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        proc = slot.expects == ICD9_PROC
        if day >= ICD10_START:
            new = ICD9_TO_ICD10.get(slot.qualifier or "")
            fixes = []
            if new and slot.qual_start is not None:
                fixes.append(Fix(f"Change qualifier to {new}", slot.qual_start, slot.qual_start + len(slot.qualifier), new))
            target = "ICD-10-PCS" if proc else "ICD-10-CM"
            self._emit(
                out, slot, WRONG_ICD_VERSION,
                f"{slot.qualifier} is an ICD-9-CM qualifier, but the date of service {self._day(day)} is on or after 2015-10-01: use {new} ({target})",
                ICD10PCS if proc else ICD10CM, fixes,
            )
            return
        # medcode has no ICD-9 data: the shape is all that can be checked.
        if not (ICD9_PROC_RE if proc else ICD9_DX_RE).match(slot.text):
            what = "procedure (2-4 digits)" if proc else "diagnosis (3-5 digits, V + 2-4 digits or E + 3-4 digits)"
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an ICD-9-CM {what} code", "icd9cm")

    def procedure(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        cleaned = slot.text.replace(" ", "").replace(".", "").replace("-", "").upper()
        if self._format(slot, out, HCPCS, cleaned, "procedure codes"):
            return
        key = slot.text
        if CDT_RE.match(key):
            return  # CDT (ADA) codes are part of HCPCS Level II by reference; no data to check against
        if HCPCS_RE.match(key):
            a = self._verdict(out, slot, HCPCS, key, day)
            if a is not None and a.record.kind != CODE:
                self._emit(out, slot, BAD_FORMAT, f"{key} is a HCPCS {a.record.kind}, not a procedure code", HCPCS)
            return
        if CPT_RE.match(key):
            self._verdict(out, slot, CPT, key, day)
            return
        self._emit(
            out, slot, BAD_FORMAT,
            f"{key} is neither a CPT code (5 digits, or 4 digits and F, T, U, A or M) nor a HCPCS Level II code (a letter and 4 digits)",
            CPT if key[:1].isdigit() else HCPCS,
        )

    def cdt(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        if not CDT_RE.match(slot.text):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a CDT code (D and 4 digits)", "cdt")

    def modifier(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        key = slot.text.upper()
        if key != slot.text:
            self._format(slot, out, HCPCS, key, "modifiers")
            return
        if CPT_MODIFIER_RE.match(key):
            if self.v.has_data(CPT) and self.v.exists(CPT, key, day) is None:
                self._verdict(out, slot, CPT, key, day, kind_word="modifier")
            return
        if not HCPCS_MODIFIER_RE.match(key):
            self._emit(out, slot, BAD_FORMAT, f"{key} is not a modifier (2 letters or digits)", HCPCS)
            return
        if key[0] in AMBULANCE_LOCATIONS and key[1] in AMBULANCE_LOCATIONS:
            return  # an ambulance origin/destination pair
        a = self._verdict(out, slot, HCPCS, key, day, kind_word="modifier")
        if a is not None and a.record.kind != MODIFIER_KIND:
            self._emit(out, slot, BAD_FORMAT, f"{key} is not a HCPCS modifier", HCPCS)

    def ndc(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        text = slot.text
        if not NDC11_RE.match(text):
            exact = ndc_to_11(text)
            if exact:
                fixes = [Fix(f"Change to {exact} (11-digit 5-4-2)", slot.start, slot.end, exact, preferred=True)]
            else:
                fixes = [
                    Fix(f"Change to {k} — {rec.description}", slot.start, slot.end, k)
                    for k in ndc_candidates(text)
                    if (rec := self.v.exists(NDC, k, day)) is not None
                ]
            why = "a 10-digit NDC is ambiguous (4-4-2, 5-3-2 or 5-4-1)" if text.isdigit() and len(text) == 10 else "LIN03 carries the 11-digit 5-4-2 form without hyphens"
            self._emit(out, slot, BAD_FORMAT, f"{text} is not an 11-digit NDC: {why}", NDC, fixes)
            return
        self._verdict(out, slot, NDC, text, day)

    def pointer(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        if not slot.text.isdigit():
            self._emit(out, slot, INVALID_POINTER, f"diagnosis pointer {slot.text!r} is not a number 1-{MAX_POINTERS}", "")
            return
        n = int(slot.text)
        if not 1 <= n <= min(claim.diagnoses, MAX_POINTERS):
            have = f"the claim has {claim.diagnoses} diagnosis code(s)" if claim.diagnoses else "the claim has no diagnosis codes"
            self._emit(out, slot, INVALID_POINTER, f"diagnosis pointer {n} points to no diagnosis: {have} in HI", "")

    def revenue(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        text = slot.text
        if text.isdigit() and len(text) == 3:
            self._emit(
                out, slot, BAD_FORMAT, f"revenue code {text} has 3 digits; X12 carries 4 (with a leading zero: 0{text})", "revenue",
                [Fix(f"Change to 0{text}", slot.start, slot.end, "0" + text, preferred=True)],
            )
        elif not (text.isdigit() and len(text) == 4):
            self._emit(out, slot, BAD_FORMAT, f"{text} is not a revenue code (4 digits)", "revenue")

    def drg(self, slot: Slot, day: dt.date, claim: Claim, out: ClaimResult) -> None:
        if not (slot.text.isdigit() and len(slot.text) == 3):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an MS-DRG (3 digits)", "ms-drg")


# The sets whose releases decide the findings of each place (wrong-code-set looks at both
# ICD-10 sets; procedure codes may be HCPCS or CPT).
_WINDOW_SETS = {
    ICD10CM: (ICD10CM, ICD10PCS),
    ICD10PCS: (ICD10PCS, ICD10CM),
    PROCEDURE: (HCPCS, CPT),
    MODIFIER: (HCPCS, CPT),
    NDC: (NDC,),
}

_CHECKS = {
    ICD10CM: ClaimRules.icd10cm,
    ICD10PCS: ClaimRules.icd10pcs,
    ICD9_DX: ClaimRules.icd9,
    ICD9_PROC: ClaimRules.icd9,
    PROCEDURE: ClaimRules.procedure,
    CDT: ClaimRules.cdt,
    MODIFIER: ClaimRules.modifier,
    NDC: ClaimRules.ndc,
    POINTER: ClaimRules.pointer,
    REVENUE: ClaimRules.revenue,
    DRG: ClaimRules.drg,
}


def a_an(word: str) -> str:
    """'an ICD-10-PCS', 'a HCPCS': by how the set name is spoken."""
    return f"an {word}" if word[:1] in "AEIOU" or word.startswith(("NDC", "MS-")) else f"a {word}"


def _after_release(day: str | None, release) -> bool:
    end = release.effective_to or release.effective_from
    return bool(day and end and day > end.isoformat())


def no_data_finding(set_id: str, count: int, start: int, end: int) -> Finding:
    how = {
        CPT: "import your licensed AMA files: medcode index import cpt LONGULT.txt",
        HCPCS: "import the CMS alpha-numeric file: medcode index import hcpcs FILE.zip",
    }.get(set_id, "build or import it: medcode index build")
    return Finding(
        NOT_IN_INDEX,
        f"no {set_name(set_id)} data installed: {count} {set_name(set_id)} code(s) in this file are checked for syntax only; {how}",
        start, end, "", set_id, Severity.INFORMATION,
    )
