"""Where a code sits in any kind of file, and what the place demands of it.

Every reader (the X12 walk, CSV, JSON, FHIR, templates) hands the rules and the editor its
codes as Slots. A Slot's `expects` is one of the five indexed sets (codesets.OFFICIAL_SETS) or
one of the pseudo-sets below: kinds of code medcode has no index for, or places that take
something other than a code of one set. Each pseudo-set is spelled here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcode.index_builder.codesets import CPT, HCPCS, ICD10CM, ICD10PCS, SET_NAMES

# -- what a place may demand beyond the indexed sets -------------------------------------------
ICD_ANY = "icd"  # ICD-10-CM or ICD-10-PCS, told apart by shape (an HPT file's "ICD" type)
PROCEDURE = "procedure"  # CPT or HCPCS Level II, told apart by shape
MODIFIER = "modifier"  # a CPT or HCPCS Level II modifier
POINTER = "pointer"  # a diagnosis pointer (X12 SV107, FHIR diagnosisSequence)
ICD9_DX = "icd9cm"  # ICD-9-CM diagnoses (before 2015-10-01): shape only
ICD9_PROC = "icd9pcs"  # ICD-9-CM Volume 3 procedures: shape only
REVENUE = "revenue"  # NUBC revenue code: 3 or 4 digits
MS_DRG = "ms-drg"  # 1-3 digits, often unpadded
OTHER_DRG = "drg"  # DRG families other than MS-DRG: digits, not indexed
CDT = "cdt"  # ADA dental codes: D and 4 digits, not indexed
HIPPS = "hipps"
APC = "apc"
EAPG = "eapg"
CMG = "cmg"
LOCAL = "local"  # LOCAL / CDM: the hospital's own codes, never flagged

# The indexed sets a pseudo-set's codes are drawn from (completion offers each).
SETS_OF = {ICD_ANY: (ICD10CM, ICD10PCS), PROCEDURE: (HCPCS, CPT)}

# Names for messages and labels of the pseudo-sets people name in documents.
PSEUDO_SET_NAMES = {CDT: "CDT", MS_DRG: "MS-DRG", REVENUE: "revenue"}


def set_label(set_id: str) -> str:
    """A set's name for messages: the official name, a pseudo-set's, or the id itself."""
    return SET_NAMES.get(set_id) or PSEUDO_SET_NAMES.get(set_id, set_id)


@dataclass(slots=True)
class Slot:
    text: str  # as written
    start: int
    expects: str | None  # code set (or pseudo-set) the place demands; None: unknown qualifier
    place: str  # "HI01-02", "SV101-02", "code|1", "front matter icd10", ...
    qualifier: str | None = None  # what names the set beside the code: X12 qualifier, HPT type, FHIR system
    qual_start: int | None = None
    diagnosis: bool = False  # an HI diagnosis position (pointers count these)
    line: object | None = None  # the service line (X12 document.Line, FHIR Service) it sits on
    # What the place is, in words, and whether a code there may only ever give hints (bare
    # code-shaped words in a template). X12 slots leave label empty: x12.slots.X12Slot words
    # their role from the qualifier.
    label: str | None = None
    hint: bool = False

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def role(self) -> str:
        return self.label if self.label is not None else self.place
