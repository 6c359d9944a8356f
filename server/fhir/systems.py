"""Which code set a FHIR Coding's `system` URI names.

In FHIR the set of a code is its `system`, never its shape. The URIs are the ones the
specifications and real files use:

- HL7 Terminology (THO, terminology.hl7.org) and the FHIR R4 terminology page: ICD-10-CM
  `http://hl7.org/fhir/sid/icd-10-cm`, ICD-10-PCS `http://www.cms.gov/Medicare/Coding/ICD10`,
  CPT `http://www.ama-assn.org/go/cpt`, HCPCS Level II
  `http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets`, NDC `http://hl7.org/fhir/sid/ndc`,
  ICD-9-CM `http://hl7.org/fhir/sid/icd-9-cm`, NUBC revenue codes
  `https://www.nubc.org/CodeSystem/RevenueCodes` (and the V2 table 0456 system).
- CARIN Blue Button IG (HL7/carin-bb, input/fsh/Aliases.fsh): the same, plus HCPCS written
  `https://www.cms.gov/…/HCPCSReleaseCodeSets`, MS-DRG
  `https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software`,
  CDT `http://www.ada.org/cdt` (and `http://ada.org/cdt`).
- CMS Blue Button 2.0 (CMSgov/bluebutton-web-server test resources): HCPCS
  `https://bluebutton.cms.gov/resources/codesystem/hcpcs`, which carries CPT (Level I) codes
  as well, and `http://hl7.org/fhir/sid/icd-10` for the ICD-10-CM diagnoses of Medicare claims.

Blue Button's own `https://bluebutton.cms.gov/resources/variables/…` systems are CCW data
dictionary variables, not medical code sets: they are left alone (as is every other URI), but
for `rev_cntr`, the CCW's revenue center code, whose values are the claim line's NUBC revenue
code as the institutional claim carried it.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcode.index_builder.codesets import CPT, HCPCS, ICD10CM, ICD10PCS, NDC

from .. import places
from ..claim_edits.inputs import ADMITTING, EXTERNAL, PRINCIPAL, REASON
from ..places import ICD9_DX, ICD9_PROC, MODIFIER

ICD9 = "icd9"  # ICD-9-CM: diagnosis or procedure, by the place


@dataclass(frozen=True, slots=True)
class System:
    expects: str  # the set (or pseudo-set) of reading.py / x12.vocabulary
    name: str  # for hover and messages


ICD10CM_URI = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS_URI = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT_URI = "http://www.ama-assn.org/go/cpt"
HCPCS_URI = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NDC_URI = "http://hl7.org/fhir/sid/ndc"
BLUE_BUTTON_HCPCS_URI = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
BLUE_BUTTON_REVENUE_URI = "https://bluebutton.cms.gov/resources/variables/rev_cntr"

SYSTEMS: dict[str, System] = {
    ICD10CM_URI: System(ICD10CM, "ICD-10-CM"),
    "http://hl7.org/fhir/sid/icd-10": System(ICD10CM, "ICD-10 (Blue Button uses it for the ICD-10-CM codes of Medicare claims)"),
    ICD10PCS_URI: System(ICD10PCS, "ICD-10-PCS"),
    "http://hl7.org/fhir/sid/icd-9-cm": System(ICD9, "ICD-9-CM"),
    CPT_URI: System(CPT, "CPT"),
    HCPCS_URI: System(HCPCS, "HCPCS Level II"),
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": System(HCPCS, "HCPCS Level II"),
    BLUE_BUTTON_HCPCS_URI: System(places.PROCEDURE, "HCPCS (Blue Button: Level I CPT and Level II)"),
    NDC_URI: System(NDC, "NDC"),
    "https://www.nubc.org/CodeSystem/RevenueCodes": System(places.REVENUE, "NUBC revenue code"),
    "http://terminology.hl7.org/CodeSystem/v2-0456": System(places.REVENUE, "NUBC revenue code (HL7 v2 table 0456)"),
    BLUE_BUTTON_REVENUE_URI: System(places.REVENUE, "NUBC revenue code (Blue Button variable rev_cntr)"),
    "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software": System(places.MS_DRG, "MS-DRG"),
    "http://www.ada.org/cdt": System(places.CDT, "CDT (ADA dental procedure codes)"),
    "http://ada.org/cdt": System(places.CDT, "CDT (ADA dental procedure codes)"),
}

# The system to write when a code belongs to another set (wrong-code-set quick fix).
CANONICAL = {ICD10CM: ICD10CM_URI, ICD10PCS: ICD10PCS_URI, CPT: CPT_URI, HCPCS: HCPCS_URI, NDC: NDC_URI}


def expects_at(system: str | None, place: str) -> str | None:
    """What a Coding demands at a place ("diagnosis", "procedure", "modifier", "item"), or
    None when its system is not a medical code set medcode knows."""
    known = SYSTEMS.get((system or "").strip())
    if known is None:
        return None
    if known.expects == ICD9:
        return ICD9_PROC if place == "procedure" else ICD9_DX
    if place == "modifier" and known.expects in (CPT, HCPCS, places.PROCEDURE):
        return MODIFIER
    return known.expects


# -- what kind of claim a resource is (the claim edits: MCE, NCCI) ------------------------------
# `type`: HL7 claim-type (required on Claim and ExplanationOfBenefit in R4), and Blue Button
# 2.0's eob-type, which also says inpatient / outpatient. `subType`: CARIN's
# C4BBInstitutionalClaimSubType. Type of bill: CARIN's supportingInfo slice `typeofbill`
# (category C4BBSupportingInfoType), coded in NUBC's TypeOfBill system.
CLAIM_TYPE_URI = "http://terminology.hl7.org/CodeSystem/claim-type"
BLUE_BUTTON_EOB_TYPE_URI = "https://bluebutton.cms.gov/resources/codesystem/eob-type"
CARIN_SUBTYPE_URI = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBInstitutionalClaimSubType"
TYPE_OF_BILL_URI = "https://www.nubc.org/CodeSystem/TypeOfBill"
TYPE_OF_BILL_CATEGORY = "typeofbill"

INSTITUTIONAL, PROFESSIONAL, ORAL = "institutional", "professional", "oral"
INPATIENT, OUTPATIENT = "inpatient", "outpatient"
# code -> (claim type, setting); the setting is "" when the code does not say.
CLAIM_TYPES: dict[tuple[str, str], tuple[str, str]] = {
    (CLAIM_TYPE_URI, "institutional"): (INSTITUTIONAL, ""),
    (CLAIM_TYPE_URI, "professional"): (PROFESSIONAL, ""),
    (CLAIM_TYPE_URI, "oral"): (ORAL, ""),
    (CLAIM_TYPE_URI, "pharmacy"): ("pharmacy", ""),
    (CLAIM_TYPE_URI, "vision"): ("vision", ""),
    (BLUE_BUTTON_EOB_TYPE_URI, "CARRIER"): (PROFESSIONAL, ""),
    (BLUE_BUTTON_EOB_TYPE_URI, "DME"): (PROFESSIONAL, ""),
    (BLUE_BUTTON_EOB_TYPE_URI, "INPATIENT"): (INSTITUTIONAL, INPATIENT),
    (BLUE_BUTTON_EOB_TYPE_URI, "OUTPATIENT"): (INSTITUTIONAL, OUTPATIENT),
    (BLUE_BUTTON_EOB_TYPE_URI, "SNF"): (INSTITUTIONAL, INPATIENT),
    (BLUE_BUTTON_EOB_TYPE_URI, "HHA"): (INSTITUTIONAL, ""),
    (BLUE_BUTTON_EOB_TYPE_URI, "HOSPICE"): (INSTITUTIONAL, ""),
    (BLUE_BUTTON_EOB_TYPE_URI, "PDE"): ("pharmacy", ""),
    (CARIN_SUBTYPE_URI, "inpatient"): (INSTITUTIONAL, INPATIENT),
    (CARIN_SUBTYPE_URI, "outpatient"): (INSTITUTIONAL, OUTPATIENT),
}

# diagnosis[].type codes, whatever their system: HL7 ex-diagnosistype (principal, admitting,
# ...), CARIN C4BBClaimDiagnosisType (principal, other, secondary, patientreasonforvisit,
# externalcauseofinjury) and Blue Button's diagnosis-type (principal, admitting, other,
# external-first, external). Each names one role of the claim edits (claim_edits.inputs).
DIAGNOSIS_TYPES = {
    "principal": PRINCIPAL,
    "admitting": ADMITTING,
    "patientreasonforvisit": REASON,
    "reason-for-visit": REASON,
    "externalcauseofinjury": EXTERNAL,
    "external-first": EXTERNAL,
    "external": EXTERNAL,
}
