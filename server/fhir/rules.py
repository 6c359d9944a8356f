"""Rules for FHIR claim codes: the document rules (dotted or dotless ICD-10-CM, NDC in any of
its forms), judged on each code's own date of service, plus what FHIR adds: ICD-9-CM and
ICD-10 systems checked against that date, diagnosisSequence pointers checked against the
resource's diagnosis sequences, quick fixes that rewrite the `system`, and display-mismatch.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from medcode.index_builder.codesets import (
    CPT,
    CPT_RE,
    HCPCS,
    HCPCS_RE,
    ICD10CM,
    ICD10PCS,
    NDC,
    compact,
    display,
    icd10cm_display,
    ndc_candidates,
    set_name,
)

from ..claim_edits.inputs import from_fhir
from ..claims.fhir import claim_from_fhir
from ..code_rules import ICD9_DX_RE, ICD9_PROC_RE, ICD10_START, Result
from ..digits import is_digits
from ..document_rules import DocumentRules
from ..findings import BAD_FORMAT, DISPLAY_MISMATCH, INVALID_POINTER, WRONG_ICD_VERSION, Finding, Fix
from ..places import ICD9_DX, ICD9_PROC, POINTER, PROCEDURE, Slot
from .reader import ClaimResource, CodingSlot, FhirReading
from .systems import CANONICAL

_WORDS = re.compile(r"[^0-9a-z]+")


class FhirRules(DocumentRules):
    claim_layer = None  # claims.rules.ClaimLayer: NCCI edits across item[] lines (set by the checker)

    def check(self, reading: FhirReading, displays: bool = False) -> Result:  # type: ignore[override]
        out = Result()
        for res in reading.resources:
            self._claim_edits(res, out)
            sequences = frozenset(res.sequences)
            for slot in res.slots:
                if not slot.text:
                    continue  # an empty code being typed: completion's place, nothing to judge
                day = getattr(slot.line, "date", None) or self.today
                extra = sequences if slot.expects == POINTER else None
                result = self.cached(slot.expects, slot.text, slot.qualifier, extra, day, lambda s=slot: s, res)
                if result.findings or result.no_data:
                    out.add(result, slot.start)
                if displays and isinstance(slot, CodingSlot) and slot.display is not None:
                    self._display(slot, day, out)
        return out

    def _claim_edits(self, res: ClaimResource, out: Result) -> None:
        """The edits across one resource's codes, as on an 837: tabular and MCE edits over its
        diagnoses and procedures, NCCI edits over its item[] lines. Offsets are the codes'."""
        if self.claim_edits is not None and (res.diagnoses or res.procedures):
            # No body: the code-first swap of X12 would leave each Coding's display behind.
            out.findings.extend(self.claim_edits.check(from_fhir(res, self.today)))
        if self.claim_layer is not None and res.items:
            claim = claim_from_fhir(res)
            if claim.lines:
                self.claim_layer.check(claim, out)

    # -- FHIR's own places -----------------------------------------------------------------
    def pointer(self, slot: Slot, day: dt.date, res: ClaimResource, out: Result) -> None:
        text = slot.text.strip()
        have = sorted(res.sequences)
        listed = f"diagnosis sequence(s) {', '.join(map(str, have))}" if have else "no diagnosis"
        if not is_digits(text) or int(text) < 1:
            self._emit(out, slot, INVALID_POINTER, f"diagnosisSequence {text} is not a positive integer", "")
        elif int(text) not in res.sequences:
            self._emit(out, slot, INVALID_POINTER, f"diagnosisSequence {int(text)} points to no diagnosis: the {res.resource_type} has {listed}", "")

    def icd10cm(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not self._before_icd10(slot, day, out, ICD10CM):
            super().icd10cm(slot, day, ctx, out)

    def icd10pcs(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not self._before_icd10(slot, day, out, ICD10PCS):
            super().icd10pcs(slot, day, ctx, out)

    def _before_icd10(self, slot: Slot, day: dt.date, out: Result, set_id: str) -> bool:
        if day >= ICD10_START:
            return False
        self._emit(
            out, slot, WRONG_ICD_VERSION,
            f"{slot.text} is coded in {set_name(set_id)}, but the date of service {self._day(day, out)} is before ICD-10 took effect (2015-10-01)",
            set_id,
        )
        return True

    def icd9(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        proc = slot.expects == ICD9_PROC
        if day >= ICD10_START:
            target = ICD10PCS if proc else ICD10CM
            self._emit(
                out, slot, WRONG_ICD_VERSION,
                f"{slot.text} is coded in ICD-9-CM, but the date of service {self._day(day, out)} is on or after 2015-10-01: use {set_name(target)}",
                target,
            )
            return
        # medcode has no ICD-9 data: the shape is all that can be checked.
        if not (ICD9_PROC_RE if proc else ICD9_DX_RE).match(slot.text.replace(".", "")):
            what = "procedure (2-4 digits)" if proc else "diagnosis (3-5 digits, V + 2-4 digits or E + 3-4 digits)"
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an ICD-9-CM {what} code", ICD9_DX)

    # -- what differs from price files ----------------------------------------------------
    def _emit(self, out: Result, slot: Slot, rule: str, message: str, code_set: str, fixes=(), severity=None) -> None:
        # FHIR writes ICD-10-CM with its dot (E11.9): a replacement keeps that form unless the
        # file wrote this code dotless (E1199); a bare category (E11) says nothing, so dotted.
        if code_set == ICD10CM and ("." in slot.text or len(slot.text.strip()) <= 3):
            fixes = [_dotted(f, slot) for f in fixes]
        super()._emit(out, slot, rule, message, code_set, fixes, severity)

    qualifier_word = "system"  # a Coding's set is its system URI ("its system http://… says")

    def _type_fix(self, slot: Slot, actual: str) -> list[Fix]:
        uri = CANONICAL.get(actual)
        if slot.qual_start is None or not slot.qualifier or uri is None:
            return []
        return [Fix(f"Change the system to {uri} ({set_name(actual)})", slot.qual_start, slot.qual_start + len(slot.qualifier), uri, preferred=True)]

    # -- display-mismatch ------------------------------------------------------------------
    def _display(self, slot: CodingSlot, day: dt.date, out: Result) -> None:
        looked = _set_and_key(slot)
        if looked is None or not self.v.has_data(looked[0]):
            return
        set_id, key = looked
        a = self.v.answer(set_id, key, day)
        rec = a.record
        if rec is None:
            return  # the code's own finding says what is wrong
        said = _words(slot.display or "")
        if not said or said in (_words(rec.description), _words(rec.short or "")):
            return
        start = slot.display_start or 0
        title = a.release.title if a.release else set_name(set_id)
        escaped = json.dumps(rec.description, ensure_ascii=False)[1:-1]
        out.findings.append(Finding(
            DISPLAY_MISMATCH,
            f'display "{slot.display}" is not the description of {display(set_id, rec.code)} in {title}: "{rec.description}"',
            start, start + len(slot.display), slot.text, set_id,
            fixes=[Fix("Use the official description", start, start + len(slot.display), escaped, preferred=True)],
        ))


def _dotted(fix: Fix, slot: Slot) -> Fix:
    if fix.start != slot.start or fix.end != slot.end or "." in fix.text:
        return fix
    text = icd10cm_display(fix.text)
    return Fix(fix.title, fix.start, fix.end, text, fix.preferred)


def _words(text: str) -> str:
    """Case, punctuation and spacing do not make a display different."""
    return _WORDS.sub(" ", text.casefold()).strip()


def _set_and_key(slot: Slot) -> tuple[str, str] | None:
    key = compact(slot.text)
    if slot.expects in (ICD10CM, ICD10PCS, CPT, HCPCS):
        return slot.expects, key
    if slot.expects == PROCEDURE:
        return (HCPCS, key) if HCPCS_RE.match(key) else (CPT, key) if CPT_RE.match(key) else None
    if slot.expects == NDC:
        keys = ndc_candidates(slot.text.strip())
        return (NDC, keys[0]) if len(keys) == 1 else None
    return None


FhirRules.CHECKS = {
    **DocumentRules.CHECKS,
    ICD10CM: FhirRules.icd10cm,
    ICD10PCS: FhirRules.icd10pcs,
    ICD9_DX: FhirRules.icd9,
    ICD9_PROC: FhirRules.icd9,
    POINTER: FhirRules.pointer,
}
