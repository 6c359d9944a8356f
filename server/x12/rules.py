"""Rules for the codes of one claim: each slot against what its place demands and the data.

Messages name the code, the set and the release that answered; a finding never claims more
than the loaded data proves (DESIGN.md, honesty principle).
"""

from __future__ import annotations

import datetime as dt

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
    ndc_candidates,
    ndc_to_11,
)
from medcode.index_builder.lookup import Answer
from medcode.index_builder.model import CODE, HEADER
from medcode.index_builder.model import MODIFIER as MODIFIER_KIND

from ..code_rules import ANY_QUALIFIER, CDT_RE, ICD9_DX_RE, ICD9_PROC_RE, ICD10_START, SHAPES, CodeRules, Result
from ..digits import is_digits
from ..findings import BAD_FORMAT, INVALID_POINTER, WRONG_CODE_SET, WRONG_ICD_VERSION, X12_STRUCTURE, Finding, Fix, Severity
from ..places import CDT, ICD9_DX, ICD9_PROC, MODIFIER, MS_DRG, POINTER, PROCEDURE, REVENUE, Slot
from .document import UNREAD_POINTERS, Claim, ClaimCodes
from .slots import make_slot
from .vocabulary import AMBULANCE_LOCATIONS, HI_QUALIFIERS, HI_UNREADABLE, ICD9_TO_ICD10, ICD10_TO_ICD9

MAX_POINTERS = 12


class ClaimRules(CodeRules):
    """The X12 places: HI qualifiers, procedure composites, modifiers, LIN N4, pointers."""

    claim_edits = None  # claim_edits.ClaimEdits: rules across the claim's codes (set by the checker)
    # Qualifiers word the findings only: "ABK demands", a fix that changes the qualifier.
    QUALIFIER_WORDS_ONLY = True

    def check(self, claim: Claim, groups: ClaimCodes, body: str | None = None, base: int = 0) -> Result:
        """The claim's findings, at offsets `base` characters before the document's (the
        checker keeps them relative to the claim: shifting them once more would copy each)."""
        out = Result()
        own_day = claim.date  # a property that looks at every line: read once
        claim_day = own_day or self.today
        today = self.today
        memo = self._memo
        windows_by_day = self._windows_by_day
        diagnoses = claim.diagnoses
        no_data = out.no_data
        edits = self.claim_edits
        on_day = edits.on_day(claim, claim_day) if edits is not None else None
        fine_by_day = self._fine_by_day
        for line, codes in groups:
            day = line.date if line is not None and line.date is not None else claim_day
            # A claim without any date is judged on today (or the day the user set), and its
            # messages say so: kept apart in the memo by `extra`.
            self.undated = undated = day is today and own_day is None
            # Most codes: a result without findings, found by the code's text alone in the
            # day's tables (CodeRules.keep_fine); the memo below for the others.
            fine = None if undated else fine_by_day.get(day)
            windows = windows_by_day.get(day)
            if windows is None:
                windows = windows_by_day[day] = {}
            for t in codes:
                expects = t[0]
                table = None if fine is None else fine.get(expects)
                result = None if table is None else table.get(t[1])
                if result is None:
                    if expects == UNREAD_POINTERS:
                        self._unread_pointers(claim, t, out, base)
                        continue
                    extra = diagnoses if expects == POINTER else 0
                    if undated:
                        extra = (extra, "undated")
                    # The memo hit, inline. Results without findings are kept whatever the
                    # qualifier (CodeRules.cached).
                    window = windows.get(expects)
                    result = None if window is None else memo.get((expects, t[1], ANY_QUALIFIER, extra, window)) or memo.get((expects, t[1], t[3], extra, window))
                    if result is None:
                        result = self.cached(expects, t[1], t[3], extra, day, lambda t=t, line=line: make_slot(t, line), claim)
                    if result.findings:
                        out.add(result, t[2] - base)
                        continue
                    if not undated and expects != POINTER and not result.day_sensitive:
                        self.keep_fine(expects, t[1], day, result)
                        fine = fine_by_day.get(day)
                if result.no_data:
                    # Result.add, inline: a set with no data installed (CPT) is noted on
                    # every one of its codes.
                    delta = t[2] - base
                    for set_id, (n, s, e) in result.no_data.items():
                        seen = no_data.get(set_id)
                        no_data[set_id] = (n, s + delta, e + delta) if seen is None else (seen[0] + n, seen[1], seen[2])
        if on_day is not None:
            found = edits.for_x12(claim, groups, today, body, on_day)
            if found:
                out.findings.extend(f.shifted(-base) for f in found)
        return out

    def _format(self, slot: Slot, out: Result, set_id: str, cleaned: str, what: str) -> bool:
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

    # -- per place -------------------------------------------------------------------------
    def icd10cm(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
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
                self._bad_shape(out, slot, key, ICD10CM)
            return
        a = self._verdict_or_other_set(slot, day, out, ICD10CM, ICD10PCS, key)
        if a is not None and a.record.kind == HEADER:
            self._not_billable(slot, out, a)

    def icd10pcs(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
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
                self._bad_shape(out, slot, key, ICD10PCS)
            return
        a = self._verdict_or_other_set(slot, day, out, ICD10PCS, ICD10CM, key)
        if a is not None and a.record.kind == HEADER:
            self._not_billable(slot, out, a)

    def _verdict_or_other_set(self, slot, day, out, set_id, other, key) -> Answer | None:
        """Look up in the demanded set; a code unknown there but real in the other ICD-10 set
        is a wrong-code-set finding rather than an invalid code."""
        a = None
        if self.v.has_data(set_id):
            a = self.v.answer(set_id, key, day)
            if a.record is None and a.seen_record is None and self.v.has_data(other) and self.v.exists(other, key, day):
                self._wrong_set(slot, out, other, set_id, key, day)
                return None
        return self._verdict(out, slot, set_id, key, day, answer=a)

    def _version(self, slot: Slot, day: dt.date, out: Result, other_qualifier: str | None, set_label: str) -> None:
        fixes = []
        if other_qualifier and slot.qual_start is not None:
            fixes.append(Fix(f"Change qualifier to {other_qualifier}", slot.qual_start, slot.qual_start + len(slot.qualifier), other_qualifier))
        self._emit(
            out, slot, WRONG_ICD_VERSION,
            f"{slot.qualifier} is an {set_label} qualifier, but the date of service {self._day(day, out)} is before ICD-10 took effect (2015-10-01)",
            ICD10CM if "CM" in set_label else ICD10PCS, fixes,
        )

    def icd9(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
        proc = slot.expects == ICD9_PROC
        if day >= ICD10_START:
            new = ICD9_TO_ICD10.get(slot.qualifier or "")
            fixes = []
            if new and slot.qual_start is not None:
                fixes.append(Fix(f"Change qualifier to {new}", slot.qual_start, slot.qual_start + len(slot.qualifier), new))
            target = "ICD-10-PCS" if proc else "ICD-10-CM"
            self._emit(
                out, slot, WRONG_ICD_VERSION,
                f"{slot.qualifier} is an ICD-9-CM qualifier, but the date of service {self._day(day, out)} is on or after 2015-10-01: use {new} ({target})",
                ICD10PCS if proc else ICD10CM, fixes,
            )
            return
        # medcode has no ICD-9 data: the shape is all that can be checked.
        if not (ICD9_PROC_RE if proc else ICD9_DX_RE).match(slot.text):
            what = "procedure (2-4 digits)" if proc else "diagnosis (3-5 digits, V + 2-4 digits or E + 3-4 digits)"
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an ICD-9-CM {what} code", ICD9_DX)

    def procedure(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
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
            f"{key} is neither a CPT code ({SHAPES[CPT]}) nor a HCPCS Level II code ({SHAPES[HCPCS]})",
            CPT if key[:1].isdigit() else HCPCS,
        )

    def cdt(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
        if not CDT_RE.match(slot.text):
            self._bad_shape(out, slot, slot.text, CDT)

    def modifier(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
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

    def ndc(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
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
            why = "a 10-digit NDC is ambiguous (4-4-2, 5-3-2 or 5-4-1)" if is_digits(text) and len(text) == 10 else "LIN03 carries the 11-digit 5-4-2 form without hyphens"
            self._emit(out, slot, BAD_FORMAT, f"{text} is not an 11-digit NDC: {why}", NDC, fixes)
            return
        self._verdict(out, slot, NDC, text, day)

    def pointer(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
        if not is_digits(slot.text):
            self._emit(out, slot, INVALID_POINTER, f"diagnosis pointer {slot.text!r} is not a number 1-{MAX_POINTERS}", "")
            return
        n = int(slot.text)
        if not 1 <= n <= min(claim.diagnoses, MAX_POINTERS):
            have = f"the claim has {claim.diagnoses} diagnosis code(s)" if claim.diagnoses else "the claim has no diagnosis codes"
            self._emit(out, slot, INVALID_POINTER, f"diagnosis pointer {n} points to no diagnosis: {have} in HI", "")

    def _unread_pointers(self, claim: Claim, t, out: Result, base: int = 0) -> None:
        """Pointers past the diagnoses of a claim whose HI could not be read: one finding."""
        lines = claim.unread_pointer_lines
        read = f"the {claim.diagnoses} diagnosis code(s) read" if claim.diagnoses else "the diagnoses"
        out.findings.append(Finding(
            INVALID_POINTER,
            f"diagnosis pointers on {lines} service line(s) point past {read} from HI, because {claim.unread_hi}: correct the HI segment",
            t[2] - base, t[2] - base + len(t[1]), t[1],
        ))

    def hi_unreadable(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
        if slot.qualifier is None:
            self._emit(
                out, slot, X12_STRUCTURE,
                f"{slot.text!r} is not a qualifier and code: an HI element is written qualifier, component separator, code (ABK:E119); its diagnosis is not read",
                "", severity=Severity.ERROR,
            )
            return
        known = ", ".join(q for q in HI_QUALIFIERS if len(q) == 3) + ", BK, BF, …"
        out.findings.append(Finding(
            X12_STRUCTURE,
            f"HI qualifier {slot.qualifier!r} is not one medcode knows ({known}): the code after it is not checked",
            slot.qual_start, slot.end, slot.qualifier, "", Severity.ERROR,
        ))

    def revenue(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
        text = slot.text
        if is_digits(text) and len(text) == 3:
            self._emit(
                out, slot, BAD_FORMAT, f"revenue code {text} has 3 digits; X12 carries 4 (with a leading zero: 0{text})", "revenue",
                [Fix(f"Change to 0{text}", slot.start, slot.end, "0" + text, preferred=True)],
            )
        elif not (is_digits(text) and len(text) == 4):
            self._emit(out, slot, BAD_FORMAT, f"{text} is not a revenue code (4 digits)", REVENUE)

    def drg(self, slot: Slot, day: dt.date, claim: Claim, out: Result) -> None:
        if not (is_digits(slot.text) and len(slot.text) == 3):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an MS-DRG (3 digits)", MS_DRG)


ClaimRules.CHECKS = {
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
    MS_DRG: ClaimRules.drg,
    HI_UNREADABLE: ClaimRules.hi_unreadable,
}


