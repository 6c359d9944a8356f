"""The code sets medcode knows: their names, shapes, and how a typed code becomes an index key.

Shapes follow the publishers' definitions (see shared/reference/data_sources.md §5); they say
whether a string *could* be a code of a set, never whether it *is* one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ICD10CM = "icd10cm"
ICD10PCS = "icd10pcs"
HCPCS = "hcpcs"
CPT = "cpt"
NDC = "ndc"

SET_NAMES = {
    ICD10CM: "ICD-10-CM",
    ICD10PCS: "ICD-10-PCS",
    HCPCS: "HCPCS Level II",
    CPT: "CPT",
    NDC: "NDC",
}
OFFICIAL_SETS = tuple(SET_NAMES)
# Sets with embedded data: ICD-10-CM, ICD-10-PCS and HCPCS from the CMS tables shipped in this
# package (defaults/), NDC from a package this one depends on. CPT cannot have any (AMA copyright).
EMBEDDED_SETS = (ICD10CM, ICD10PCS, HCPCS, NDC)

# User-named sets (local code lists) share this shape with the official ids.
SET_ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")

# The second character was always a digit until FY2026 added category QA0 (genetic
# disorders): a letter there is followed by a digit, so words such as CODE keep out.
_ICD10CM_CATEGORY = r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])"
ICD10CM_RE = re.compile(rf"^{_ICD10CM_CATEGORY}(?:[0-9A-Z]{{1,4}})?$")
ICD10CM_DOTTED_RE = re.compile(rf"^{_ICD10CM_CATEGORY}(?:\.[0-9A-Z]{{1,4}})?$")
ICD10PCS_RE = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
HCPCS_RE = re.compile(r"^[A-V][0-9]{4}$")
HCPCS_MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")
CPT_RE = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[AFMTU])$")
CPT_MODIFIER_RE = re.compile(r"^[0-9]{2}$")
NDC11_RE = re.compile(r"^[0-9]{11}$")
NDC_DASHED_RE = re.compile(r"^([0-9]{4,5})-([0-9]{3,4})-([0-9]{1,2})$")
NDC10_RE = re.compile(r"^[0-9]{10}$")

# The three 10-digit layouts the FDA assigns, as (labeler, product, package) widths.
NDC_LAYOUTS = ((4, 4, 2), (5, 3, 2), (5, 4, 1))


def set_name(set_id: str) -> str:
    return SET_NAMES.get(set_id, set_id)


def compact(text: str) -> str:
    """Upper-case and drop the separators people type inside codes (dots, spaces)."""
    return re.sub(r"[\s.]", "", text).upper()


def icd10cm_display(key: str) -> str:
    """E119 -> E11.9; three-character categories stay as they are."""
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


def ndc_to_11(text: str) -> str | None:
    """A dashed 10-digit NDC (4-4-2, 5-3-2, 5-4-1) or an 11-digit one, as 11 digits (5-4-2).

    A bare 10-digit string is ambiguous (three layouts) and gives None: resolve it by look-up.
    """
    text = text.strip()
    if NDC11_RE.match(text):
        return text
    m = NDC_DASHED_RE.match(text)
    if not m:
        return None
    labeler, product, package = m.groups()
    widths = (len(labeler), len(product), len(package))
    if widths not in NDC_LAYOUTS and widths != (5, 4, 2):
        return None
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def ndc_candidates(text: str) -> list[str]:
    """Every 11-digit form a typed NDC could stand for (one, or three for a bare 10-digit string)."""
    text = text.strip()
    exact = ndc_to_11(text)
    if exact:
        return [exact]
    if NDC10_RE.match(text):
        out = []
        for a, b, c in NDC_LAYOUTS:
            labeler, product, package = text[:a], text[a : a + b], text[a + b :]
            out.append(labeler.zfill(5) + product.zfill(4) + package.zfill(2))
        return out
    return []


def ndc_display(key: str) -> str:
    """00002821501 -> 00002-8215-01 (the 5-4-2 billing form with dashes)."""
    return f"{key[:5]}-{key[5:9]}-{key[9:]}" if len(key) == 11 else key


@dataclass(frozen=True, slots=True)
class Candidate:
    set_id: str
    key: str


def normalise(set_id: str, text: str) -> list[str]:
    """The index keys a typed code may stand for in one set (empty when it cannot be one)."""
    if set_id == NDC:
        return ndc_candidates(text)
    key = compact(text)
    if set_id == ICD10CM:
        return [key] if ICD10CM_RE.match(key) else []
    if set_id == ICD10PCS:
        return [key] if ICD10PCS_RE.match(key) else []
    if set_id == HCPCS:
        return [key] if HCPCS_RE.match(key) or HCPCS_MODIFIER_RE.match(key) else []
    if set_id == CPT:
        return [key] if CPT_RE.match(key) or CPT_MODIFIER_RE.match(key) else []
    return [key] if key else []


def display(set_id: str, key: str) -> str:
    if set_id == ICD10CM:
        return icd10cm_display(key)
    if set_id == NDC:
        return ndc_display(key)
    return key


def guess_sets(text: str) -> list[Candidate]:
    """Which sets a code typed with no context could belong to, most likely first.

    Shape alone cannot decide (6,761 dotless ICD-10-CM codes look like HCPCS codes), so this
    lists every possibility and the caller looks each one up.
    """
    raw = text.strip()
    out: list[Candidate] = []
    if "-" in raw or NDC10_RE.match(raw) or NDC11_RE.match(raw):
        out += [Candidate(NDC, k) for k in ndc_candidates(raw)]
    key = compact(raw)
    if "." in raw:
        return out + ([Candidate(ICD10CM, key)] if ICD10CM_DOTTED_RE.match(raw.strip().upper()) else [])
    if HCPCS_RE.match(key):
        out.append(Candidate(HCPCS, key))
    if CPT_RE.match(key):
        out.append(Candidate(CPT, key))
    if ICD10CM_RE.match(key):
        out.append(Candidate(ICD10CM, key))
    if ICD10PCS_RE.match(key):
        out.append(Candidate(ICD10PCS, key))
    if HCPCS_MODIFIER_RE.match(key) and not out:
        out.append(Candidate(HCPCS, key))
    return out
