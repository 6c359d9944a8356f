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
    ndc_candidates,
)
from medcode.index_builder.model import HEADER

from . import places
from . import reading as r
from .code_rules import CDT_RE, CodeRules, Result
from .digits import is_digits
from .findings import BAD_FORMAT, Fix, Severity
from .places import Slot
from .tables.slot_table import SlotTable

_DIGITS_RE = re.compile(r"^[0-9]{1,4}$")
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
        if isinstance(reading.slots, SlotTable) and reading.kind != r.TEMPLATE:
            self._check_table(reading.slots, day, out)
            return out
        for slot in reading.slots:
            if slot.expects is None or slot.expects == places.LOCAL:
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

    def _check_table(self, table: SlotTable, day: dt.date, out: Result) -> None:
        """A price file's codes: each distinct (code, type, column) judged once, its findings
        then placed at every slot that holds it, as going slot by slot would have."""
        judged: list[Result | None] = [None] * table.distinct_count
        undated = self.undated
        for k, slot in table.distinct():
            if slot.expects is None or slot.expects == places.LOCAL:
                continue
            result = self.cached(slot.expects, slot.text, slot.qualifier, (slot.hint, undated), day, lambda s=slot: s, None)
            if result.findings or result.no_data:
                if slot.hint:  # bare code-shaped words are only ever hints (as below)
                    result = Result([replace(f, severity=Severity.HINT) for f in result.findings], result.no_data, result.day_sensitive)
                judged[k] = result
        if any(judged):
            add = out.add
            for k, start in table.placed():
                result = judged[k]
                if result is not None:
                    add(result, start)

    # -- shared by the places -----------------------------------------------------------
    # What the cell or key that names a code's set is called in messages ("its type CPT says").
    qualifier_word = "type"

    def _type_fix(self, slot: Slot, actual: str) -> list[Fix]:
        """Rewrite the type cell (HPT files) when the code belongs to another type."""
        name = _TYPE_NAME.get(actual)
        if slot.qual_start is None or not slot.qualifier or name is None:
            return []
        return [Fix(f"Change the type to {name}", slot.qual_start, slot.qual_start + len(slot.qualifier), name, preferred=True)]

    def _demands(self, slot: Slot) -> str:
        where = f"{self.qualifier_word} {slot.qualifier}" if slot.qualifier else slot.role
        return f"its {where} says"

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
                self._wrong_set(slot, out, ICD10PCS, ICD10CM, key, day)
            else:
                self._bad_shape(out, slot, text, ICD10CM)
            return
        if self.v.has_data(ICD10CM) and self.v.exists(ICD10CM, key, day) is None and ICD10PCS_RE.match(key) and self.v.exists(ICD10PCS, key, day):
            self._wrong_set(slot, out, ICD10PCS, ICD10CM, key, day)
            return
        self._icd10(slot, out, ICD10CM, key, day)

    def icd10pcs(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        key = compact(slot.text)
        if not ICD10PCS_RE.match(key):
            if ICD10CM_RE.match(key) and self.v.exists(ICD10CM, key, day):
                self._wrong_set(slot, out, ICD10CM, ICD10PCS, key, day)
            else:
                self._bad_shape(out, slot, slot.text, ICD10PCS)
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
            self._wrong_set(slot, out, HCPCS, CPT, key, day)
        else:
            self._bad_shape(out, slot, slot.text, CPT)

    def hcpcs(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        key = compact(slot.text)
        if HCPCS_RE.match(key):
            self._verdict(out, slot, HCPCS, key, day)
        elif CPT_RE.match(key):
            # CPT is HCPCS Level I, so this is not strictly wrong: a warning with the fix.
            self._wrong_set(slot, out, CPT, HCPCS, key, day, Severity.WARNING)
        else:
            self._bad_shape(out, slot, slot.text, HCPCS)

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
        if not (is_digits(text) and 3 <= len(text) <= 4):
            self._emit(out, slot, BAD_FORMAT, f"{text} is not a revenue code (3 or 4 digits)", places.REVENUE)

    def ms_drg(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        text = slot.text.strip()
        if not (_DIGITS_RE.match(text) and len(text) <= 3 and 0 < int(text)):
            self._emit(out, slot, BAD_FORMAT, f"{text} is not an MS-DRG (1 to 3 digits, 001-999)", places.MS_DRG)

    def other_drg(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not is_digits(slot.text.strip()):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a DRG number", places.OTHER_DRG)

    def cdt(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not CDT_RE.match(compact(slot.text)):
            self._bad_shape(out, slot, slot.text, places.CDT)

    def hipps(self, slot: Slot, day: dt.date, ctx: Any, out: Result) -> None:
        if not _HIPPS_RE.match(compact(slot.text)):
            self._emit(out, slot, BAD_FORMAT, f"{slot.text} is not a HIPPS code (5 letters or digits)", places.HIPPS)


DocumentRules.CHECKS = {
    ICD10CM: DocumentRules.icd10cm,
    ICD10PCS: DocumentRules.icd10pcs,
    places.ICD_ANY: DocumentRules.icd_any,
    CPT: DocumentRules.cpt,
    HCPCS: DocumentRules.hcpcs,
    places.PROCEDURE: DocumentRules.procedure,
    "modifier": DocumentRules.modifier,
    NDC: DocumentRules.ndc,
    places.REVENUE: DocumentRules.revenue,
    places.MS_DRG: DocumentRules.ms_drg,
    places.OTHER_DRG: DocumentRules.other_drg,
    places.CDT: DocumentRules.cdt,
    places.HIPPS: DocumentRules.hipps,
}
