"""What X12 837 qualifiers and segment ids mean, and which code set each place demands.

Sources: the 5010 TR3s as summarised in shared/reference/formats.md §1.3 (pyx12 maps for
X222A1 / X223A1, Stedi's published edits).
"""

from __future__ import annotations

from dataclasses import dataclass

from medcode.index_builder.codesets import ICD10CM, ICD10PCS, NDC

from ..places import CDT, HIPPS, ICD9_DX, ICD9_PROC, MS_DRG, PROCEDURE

# An HI element that cannot be read as qualifier + code: an unknown qualifier, or no
# component separator (`HI*ABK*E119`). Reported on the element; its code is not judged.
HI_UNREADABLE = "hi-unreadable"


@dataclass(frozen=True, slots=True)
class Qualifier:
    code: str
    meaning: str
    expects: str | None  # the set the code after it belongs to; None: not a code medcode checks
    diagnosis: bool = False  # counts as an HI diagnosis position for pointers


HI_QUALIFIERS = {
    q.code: q
    for q in (
        Qualifier("ABK", "Principal diagnosis, ICD-10-CM", ICD10CM, True),
        Qualifier("ABF", "Other diagnosis, ICD-10-CM", ICD10CM, True),
        Qualifier("ABJ", "Admitting diagnosis, ICD-10-CM", ICD10CM),
        Qualifier("APR", "Patient's reason for visit, ICD-10-CM", ICD10CM),
        Qualifier("ABN", "External cause of injury, ICD-10-CM", ICD10CM),
        Qualifier("BK", "Principal diagnosis, ICD-9-CM", ICD9_DX, True),
        Qualifier("BF", "Other diagnosis, ICD-9-CM", ICD9_DX, True),
        Qualifier("BJ", "Admitting diagnosis, ICD-9-CM", ICD9_DX),
        Qualifier("PR", "Patient's reason for visit, ICD-9-CM", ICD9_DX),
        Qualifier("BN", "External cause of injury, ICD-9-CM", ICD9_DX),
        Qualifier("BBR", "Principal procedure, ICD-10-PCS", ICD10PCS),
        Qualifier("BBQ", "Other procedure, ICD-10-PCS", ICD10PCS),
        Qualifier("BR", "Principal procedure, ICD-9-CM Volume 3", ICD9_PROC),
        Qualifier("BQ", "Other procedure, ICD-9-CM Volume 3", ICD9_PROC),
        Qualifier("CAH", "Principal procedure, Advanced Billing Concepts", None),
        Qualifier("BP", "Anesthesia-related principal surgical procedure, HCPCS / CPT", PROCEDURE),
        Qualifier("BO", "Anesthesia-related other surgical procedure, HCPCS / CPT", PROCEDURE),
        Qualifier("DR", "Diagnosis Related Group (MS-DRG)", MS_DRG),
        Qualifier("BG", "Condition code (NUBC)", None),
        Qualifier("BH", "Occurrence code (NUBC) with date", None),
        Qualifier("BI", "Occurrence span code (NUBC) with date range", None),
        Qualifier("BE", "Value code (NUBC) with amount", None),
        Qualifier("TC", "Treatment code", None),
    )
}

# The ICD-10 qualifier that replaces each ICD-9 one (and back), for dates either side of
# the 2015-10-01 transition.
ICD9_TO_ICD10 = {"BK": "ABK", "BF": "ABF", "BJ": "ABJ", "PR": "APR", "BN": "ABN", "BR": "BBR", "BQ": "BBQ"}
ICD10_TO_ICD9 = {v: k for k, v in ICD9_TO_ICD10.items()}

PROCEDURE_QUALIFIERS = {
    q.code: q
    for q in (
        Qualifier("HC", "HCPCS (CPT and HCPCS Level II) procedure code", PROCEDURE),
        Qualifier("AD", "American Dental Association code (CDT)", CDT),
        Qualifier("ER", "Jurisdiction-specific procedure or supply code", None),
        Qualifier("HP", "Health Insurance Prospective Payment System (HIPPS) rate code", HIPPS),
        Qualifier("IV", "Home Infusion EDI Coalition (HIEC) product/service code", None),
        Qualifier("WK", "Advanced Billing Concepts (ABC) code", None),
        Qualifier("N4", "National Drug Code in 5-4-2 format", NDC),
    )
}

PRODUCT_QUALIFIERS = {
    "N4": "National Drug Code in 5-4-2 format (11 digits, no hyphens)",
    "EN": "EAN/UCC-13",
    "EO": "EAN/UCC-8",
    "HI": "HIBC supplier labeling",
    "ON": "Customer order number",
    "UK": "GTIN 14-digit",
    "UP": "UCC-12",
}

DATE_QUALIFIERS = {
    "472": "Service date",
    "434": "Statement dates (from - through)",
    "435": "Admission date/hour",
    "096": "Discharge hour",
    "431": "Onset of current illness or symptom",
    "454": "Initial treatment date",
    "304": "Last seen date",
    "453": "Acute manifestation",
    "439": "Accident date",
    "484": "Last menstrual period",
    "455": "Last X-ray date",
    "471": "Prescription date",
    "573": "Date claim paid",
    "050": "Received date",
}

HL_LEVELS = {"20": "Billing provider", "22": "Subscriber", "23": "Patient"}

TRANSACTIONS = {
    "X222": "837P professional claim",
    "X223": "837I institutional claim",
    "X224": "837D dental claim",
    "X098": "837P professional claim (4010)",
    "X096": "837I institutional claim (4010)",
    "X097": "837D dental claim (4010)",
}

SEGMENTS = {
    "ISA": "Interchange control header",
    "IEA": "Interchange control trailer",
    "GS": "Functional group header",
    "GE": "Functional group trailer",
    "ST": "Transaction set header",
    "SE": "Transaction set trailer",
    "BHT": "Beginning of hierarchical transaction",
    "HL": "Hierarchical level",
    "NM1": "Individual or organizational name",
    "N3": "Address",
    "N4": "City, state, ZIP code",
    "REF": "Reference identification",
    "PER": "Contact information",
    "PRV": "Provider information (taxonomy)",
    "SBR": "Subscriber information",
    "PAT": "Patient information",
    "DMG": "Demographic information",
    "CLM": "Claim information: claim id, total charge, place of service / facility type",
    "DTP": "Date or time period",
    "CL1": "Institutional claim code (admission type, source, status)",
    "HI": "Health care information codes: diagnoses, procedures, DRG, condition / occurrence / value codes",
    "LX": "Service line number",
    "SV1": "Professional service: procedure code, charge, units, place of service, diagnosis pointers",
    "SV2": "Institutional service: revenue code, procedure code, charge, units",
    "SV3": "Dental service: CDT code, charge, place of service, oral cavity, diagnosis pointers",
    "SV5": "Durable medical equipment service",
    "TOO": "Tooth information",
    "LIN": "Drug identification (NDC)",
    "CTP": "Drug quantity",
    "SVD": "Line adjudication information (other payer)",
    "CAS": "Claim adjustment",
    "AMT": "Monetary amount",
    "OI": "Other insurance coverage information",
    "CR1": "Ambulance transport information",
    "CR2": "Spinal manipulation information",
    "CRC": "Conditions indicator",
    "NTE": "Note",
    "HCP": "Repricing information",
    "K3": "File information",
    "PWK": "Claim supplemental information (paperwork)",
    "QTY": "Quantity",
    "MEA": "Measurements",
    "CN1": "Contract information",
}

# Ambulance modifiers are pairs of these letters (origin, then destination); CMS documents
# them with the ambulance fee schedule rather than listing each pair in the HCPCS file.
AMBULANCE_LOCATIONS = {
    "D": "diagnostic or therapeutic site other than P or H",
    "E": "residential, domiciliary or custodial facility",
    "G": "hospital-based ESRD facility",
    "H": "hospital",
    "I": "site of transfer between modes of ambulance transport",
    "J": "free-standing ESRD facility",
    "N": "skilled nursing facility",
    "P": "physician's office",
    "R": "residence",
    "S": "scene of accident or acute event",
    "X": "intermediate stop at physician's office on the way to the hospital",
}
