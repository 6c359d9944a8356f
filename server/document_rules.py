"""Rules for codes outside X12: CSV and JSON price files, chargemasters, templates.

The place names the set (a `code|1|type` cell, a CPT column, an `ICD-10-CM:` prefix); unlike
X12, documents carry codes as people write them: dotted ICD-10-CM, hyphenated NDCs, 3-digit
revenue codes and unpadded MS-DRGs are all fine here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

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
    compact,
    display,
    ndc_candidates,
    set_name,
)
from medcode.index_builder.model import HEADER

from . import reading as r
from .code_rules import CodeRules, Result, a_an
from .findings import BAD_FORMAT, WRONG_CODE_SET, Fix, Severity
from .x12.slots import Slot

_CDT_RE = re.compile(r"^D\d{4}$")
_DIGITS_RE = re.compile(r"^\d{1,4}$")
_HIPPS_RE = re.compile(r"^[0-9A-Z]{5}$")
# Type names to write into a type cell when the code belongs to another type.
_TYPE_NAME = {CPT: "CPT", HCPCS: "HCPCS", ICD10CM: "ICD", ICD10PCS: "ICD", NDC: "NDC"}


class DocumentRules(CodeRules):
    claim_edits = None  # claim_edits.ClaimEdits: the tabular rules across one template's codes

    def check(self, reading: r.Reading, text: str | None = None) -> Result:
        """text: the document the reading came from (fixes that move codes quote it)."""
        out = Result()
        day = reading.day or self.today
        # Results of an undated file are kept apart in the memo (their messages say why the day).
        self.undated = undated = reading.day is None
        for slot in reading.slots:
            if slot.expects is None or slot.expects == r.LOCAL:
                continue
            result = self.cached(slot.expects, slot.text, slot.qualifier, (slot.hint, undated), day, lambda s=slot: s, None)
            if result.findings or result.no_data:
                out.add(result, slot.start)
        if self.claim_edits is not None and reading.kind == r.TEMPLATE:
            out.findings.extend(self.claim_edits.for_template(reading.slots, day, text))
        hinted = {s.start for s in reading.slots if s.hint}
        if hinted and out.findings:
            # Bare code-shaped words are only ever hints (DESIGN.md: never errors).
            out.findings = [replace(f, severity=Severity.HINT) if f.start in hinted else f for f in out.findings]
        return out

    # -- shared by the places -----------------------------------------------------------
    # What the cell or key that names a code's set is called in messages ("its type CPT says").
    qualifier_word = "type"

    def _type_fix(self, slot: Slot, actual: str) -> list[Fix]:
        """Rewrite the type cell (HPT files) when the code belongs to another type."""
        name = _TYPE_NAME.get(actual)
        if slot.qual_start is None or not slot.qualifier or name is None:
            return []
        return [Fix(f"Change the type to {name}", slot.qual_start, slot.qual_start + len(slot.qualifier), name, preferred=True)]

    def _other_type(self, slot: Slot, out: Result, actual: str, demanded: str, key: str, day: dt.date, severity=None) -> None:
        rec = self.v.exists(actual, key, day) if self.v.has_data(actual) else None
        what = f" ({rec.description})" if rec else ""
        where = f"{self.qualifier_word} {slot.qualifier}" if slot.qualifier else slot.role
        self._emit(
            out, slot, WRONG_CODE_SET,
            f"{display(actual, key)} is {a_an(set_name(actual))} code{what}, but its {where} says {set_name(demanded)}",
            demanded, self._type_fix(slot, actual), severity,
        )

    def _icd10(self, slot: Slot, out: Result, set_id: str, key: str, day: dt.date) -> None:
        a = self._verdict(out, slot, set_id, key, day)
        if a is not None and a.record.kind == HEADER:
            self._not_billable(slot, out, a)

    # -- per place -----------------------------------------------------------------------------
    def icd10cm(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        text = slot.text.strip()
        key = compact(text)
        if "." in text and text.index(".") != 3:
            fixed = key[:3] + "." + key[3:] if len(key) > 3 else key
            self._emit(out, slot, BAD_FORMAT, f"{text} has its dot in the wrong place: ICD-10-CM codes are written {fixed}", ICD10CM,
                       [Fix(f"Change to {fixed}", slot.start, slot.end, fixed, preferred=True)])
            return
        if not ICD10CM_RE.match(key):
            if ICD10PCS_RE.match(key) and self.v.exists(ICD10PCS, key, day):
                self._other_type(slot, out, ICD10PCS, ICD10CM, key, day)
            else:
                self._emit(out, slot, BAD_FORMAT, f"{text} is not an ICD-10-CM code (a letter, a digit or letter, a character, then up to 4 more)", ICD10CM)
            return
        if self.v.has_data(ICD10CM) and self.v.exists(ICD10CM, key, day) is None and ICD10PCS_RE.match(key) and self.v.exists(ICD10PCS, key, day):
            self._other_type(slot, out, ICD10PCS, ICD10CM, key, day)
            return
        self._icd10(slot, out, ICD10CM, key, day)

    def icd10pcs(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        key = compact(slot.text)
        if not ICD10PCS_RE.match(key):
            if ICD10CM_RE.match(key) and self.v.exists(ICD10CM, key, day):
                self._other_type(slot, out, ICD10CM, ICD10PCS, key, day)
            else:
                self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an ICD-10-PCS code (7 characters of 0-9 and A-Z without I and O)", ICD10PCS)
            return
        self._icd10(slot, out, ICD10PCS, key, day)

    def icd_any(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        """HPT type ICD: ICD-10-CM or ICD-10-PCS, whichever the code is."""
        key = compact(slot.text)
        in_cm = ICD10CM_RE.match(key) and self.v.exists(ICD10CM, key, day)
        in_pcs = ICD10PCS_RE.match(key) and self.v.exists(ICD10PCS, key, day)
        if in_pcs and not in_cm and "." not in slot.text:
            self.icd10pcs(slot, day, ctx, out)
        elif ICD10CM_RE.match(key) or "." in slot.text or not ICD10PCS_RE.match(key):
            self.icd10cm(slot, day, ctx, out)
        else:
            self.icd10pcs(slot, day, ctx, out)

    def cpt(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        key = compact(slot.text)
        if CPT_RE.match(key):
            self._verdict(out, slot, CPT, key, day)
        elif HCPCS_RE.match(key) and not key.startswith("D"):
            self._other_type(slot, out, HCPCS, CPT, key, day)
        else:
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a CPT code (5 digits, or 4 digits and F, T, U, A or M)", CPT)

    def hcpcs(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        key = compact(slot.text)
        if HCPCS_RE.match(key):
            self._verdict(out, slot, HCPCS, key, day)
        elif CPT_RE.match(key):
            # CPT is HCPCS Level I, so this is not strictly wrong: a warning with the fix.
            self._other_type(slot, out, CPT, HCPCS, key, day, Severity.WARNING)
        else:
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a HCPCS Level II code (a letter and 4 digits)", HCPCS)

    def procedure(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        """A chargemaster's CPT / HCPCS column: either, by shape."""
        key = compact(slot.text)
        if HCPCS_RE.match(key):
            if not key.startswith("D"):  # CDT codes sit in these columns too; no data for them
                self._verdict(out, slot, HCPCS, key, day)
        elif CPT_RE.match(key):
            self._verdict(out, slot, CPT, key, day)
        else:
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is neither a CPT nor a HCPCS Level II code", HCPCS)

    def modifier(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        key = compact(slot.text)
        if CPT_MODIFIER_RE.match(key):
            return
        if not HCPCS_MODIFIER_RE.match(key):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a modifier (2 letters or digits)", HCPCS)
            return
        self._verdict(out, slot, HCPCS, key, day, kind_word="modifier")

    def ndc(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        keys = ndc_candidates(slot.text.strip())
        if not keys:
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not an NDC (4-4-2, 5-3-2, 5-4-1 or 5-4-2 with hyphens, or 11 digits)", NDC)
            return
        if len(keys) > 1:
            found = [k for k in keys if self.v.has_data(NDC) and self.v.exists(NDC, k, day)]
            if len(found) != 1:
                self._emit(
                    out, slot, BAD_FORMAT,
                    f"{slot.text} is ambiguous: a 10-digit NDC without hyphens can be 4-4-2, 5-3-2 or 5-4-1; write it with hyphens",
                    NDC,
                )
                return
            keys = found
        self._verdict(out, slot, NDC, keys[0], day)

    def revenue(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        text = slot.text.strip()
        if not (text.isdigit() and 3 <= len(text) <= 4):
            self._emit(out, slot, BAD_FORMAT, f"{text} is not a revenue code (3 or 4 digits)", "revenue")

    def ms_drg(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        text = slot.text.strip()
        if not (_DIGITS_RE.match(text) and len(text) <= 3 and 0 < int(text)):
            self._emit(out, slot, BAD_FORMAT, f"{text} is not an MS-DRG (1 to 3 digits, 001-999)", "ms-drg")

    def other_drg(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not slot.text.strip().isdigit():
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a DRG number", "drg")

    def cdt(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not _CDT_RE.match(compact(slot.text)):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a CDT code (D and 4 digits)", "cdt")

    def hipps(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not _HIPPS_RE.match(compact(slot.text)):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a HIPPS code (5 letters or digits)", "hipps")


DocumentRules.CHECKS = {
    ICD10CM: DocumentRules.icd10cm,
    ICD10PCS: DocumentRules.icd10pcs,
    r.ICD_ANY: DocumentRules.icd_any,
    CPT: DocumentRules.cpt,
    HCPCS: DocumentRules.hcpcs,
    r.PROCEDURE_ANY: DocumentRules.procedure,
    "modifier": DocumentRules.modifier,
    NDC: DocumentRules.ndc,
    r.REVENUE: DocumentRules.revenue,
    r.MS_DRG: DocumentRules.ms_drg,
    r.OTHER_DRG: DocumentRules.other_drg,
    r.CDT: DocumentRules.cdt,
    r.HIPPS: DocumentRules.hipps,
}
