"""From a slot in a document to the code set and index key it stands for (hover, completion,
inlay hints share this)."""

from __future__ import annotations

from medcode.index_builder.codesets import (
    CPT,
    CPT_MODIFIER_RE,
    CPT_RE,
    HCPCS,
    HCPCS_RE,
    ICD10CM,
    ICD10CM_RE,
    ICD10PCS,
    ICD10PCS_RE,
    NDC,
    compact,
    ndc_candidates,
)

from ..places import ICD_ANY, MODIFIER, PROCEDURE, Slot


def set_and_keys(slot: Slot) -> tuple[str, list[str]] | None:
    """The set a slot's code is looked up in and its candidate keys; None for places medcode
    has no data for (ICD-9, revenue codes, pointers…)."""
    text = slot.text
    if slot.expects in (ICD10CM, ICD10PCS):
        return slot.expects, [compact(text)]
    if slot.expects == ICD_ANY:
        key = compact(text)
        return (ICD10PCS if ICD10PCS_RE.match(key) and not ICD10CM_RE.match(key) else ICD10CM), [key]
    if slot.expects in (CPT, HCPCS):
        return slot.expects, [compact(text)]
    if slot.expects == PROCEDURE:
        key = compact(text)
        if HCPCS_RE.match(key):
            return HCPCS, [key]
        if CPT_RE.match(key):
            return CPT, [key]
        return None
    if slot.expects == MODIFIER:
        key = compact(text)
        return (CPT if CPT_MODIFIER_RE.match(key) else HCPCS), [key]
    if slot.expects == NDC:
        return NDC, ndc_candidates(text)
    return None
