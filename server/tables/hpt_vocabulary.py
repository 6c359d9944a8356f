"""What the CMS hospital price transparency (HPT) templates define: the code types of each
version and what every header of the CSV templates means.

Source: the CMS HPT CSV data dictionary v3.0 (CMSgov/hospital-price-transparency,
documentation/CSV/README.md) and the v2.x dictionaries and JSON schemas it replaces
(shared/reference/formats.md §2). Headers are compared the way the CMS validator does: split
on "|", each part trimmed, case-insensitive.
"""

from __future__ import annotations

import re

from medcode.index_builder.codesets import CPT, HCPCS, NDC

from .. import places
from ..digits import is_digits

# Code type (as the template writes it) -> the set or pseudo-set the code must belong to.
V2_TYPES: dict[str, str] = {
    "CPT": CPT,
    "HCPCS": HCPCS,
    "ICD": places.ICD_ANY,
    "DRG": places.OTHER_DRG,
    "MS-DRG": places.MS_DRG,
    "R-DRG": places.OTHER_DRG,
    "S-DRG": places.OTHER_DRG,
    "APS-DRG": places.OTHER_DRG,
    "AP-DRG": places.OTHER_DRG,
    "APR-DRG": places.OTHER_DRG,
    "TRIS-DRG": places.OTHER_DRG,
    "APC": places.APC,
    "NDC": NDC,
    "HIPPS": places.HIPPS,
    "LOCAL": places.LOCAL,
    "EAPG": places.EAPG,
    "CDT": places.CDT,
    "RC": places.REVENUE,
    "CDM": places.LOCAL,
}
V3_TYPES: dict[str, str] = {**V2_TYPES, "CMG": places.CMG, "MS-LTC-DRG": places.OTHER_DRG}

# The standard each type value names (data dictionary, "Additional Notes Concerning Code Types").
TYPE_NAMES: dict[str, str] = {
    "CPT": "Current Procedural Terminology",
    "NDC": "National Drug Code",
    "HCPCS": "Healthcare Common Procedure Coding System",
    "RC": "Revenue Code",
    "ICD": "International Classification of Diseases",
    "DRG": "Diagnosis Related Groups",
    "MS-DRG": "Medicare Severity Diagnosis Related Groups",
    "R-DRG": "Refined Diagnosis Related Groups",
    "S-DRG": "Severity Diagnosis Related Groups",
    "APS-DRG": "All Patient, Severity-Adjusted Diagnosis Related Groups",
    "AP-DRG": "All Patient Diagnosis Related Groups",
    "APR-DRG": "All Patient Refined Diagnosis Related Groups",
    "APC": "Ambulatory Payment Classifications",
    "LOCAL": "Local Code Processing (the hospital's own accounting code)",
    "EAPG": "Enhanced Ambulatory Patient Grouping",
    "HIPPS": "Health Insurance Prospective Payment System",
    "CDT": "Current Dental Terminology",
    "CDM": "Charge Description Master (chargemaster)",
    "TRIS-DRG": "TriCare Diagnosis Related Groups",
    "CMG": "Case Mix Group",
    "MS-LTC-DRG": "Medicare Severity Long-Term Care Diagnosis Related Groups",
}

# ASCII digits, and few: int() refuses more than 4300, and no version CMS wrote has more.
_MAJOR = re.compile(r"\s*v?0*([0-9]{1,9})(?![0-9])")


def major_version(version: str | None) -> int | None:
    m = _MAJOR.match(version or "")
    return int(m.group(1)) if m else None


# Template versions CMS has published (the validator's list); "2.0" and "v3.0.0" name them too.
KNOWN_VERSIONS = ((2, 0, 0), (2, 1, 0), (2, 2, 0), (3, 0, 0))


def unknown_version(version: str | None) -> str | None:
    """What is wrong with a template version medcode does not know; None when it is known
    (or empty: a missing version is another matter)."""
    text = (version or "").strip()
    if not text:
        return None
    parts = text.lstrip("vV").split(".")
    if len(parts) <= 3 and all(is_digits(p) for p in parts):
        number = tuple(int(p) for p in parts) + (0,) * (3 - len(parts))
        if number in KNOWN_VERSIONS:
            return None
    known = ", ".join(".".join(map(str, v)) for v in KNOWN_VERSIONS)
    major = major_version(text)
    which = "2.x" if major is not None and major < 3 else "3.0"
    return f"template version {text!r} is not one CMS has published ({known}): its codes are checked against the code types of version {which}"


def types_for(version: str | None) -> dict[str, str]:
    """The code types a template version defines (v3 or an unknown version: the larger v3
    list, so that no type is called unknown on a guess)."""
    major = major_version(version)
    return V2_TYPES if major is not None and major < 3 else V3_TYPES


def version_label(version: str | None) -> str:
    """How messages name the version whose list applies."""
    major = major_version(version)
    if major is not None and major < 3:
        return f"template version {version.strip()}" if version else "template version 2"
    return f"template version {version.strip()}" if version and major is not None else "template version 3.0"


# -- headers ----------------------------------------------------------------------------

def normalize(header: str) -> str:
    """The validator's comparison form: "|"-separated parts, each trimmed, lower case."""
    if "|" not in header:  # most headers: one part (a row of 40,000 headers pays per cell)
        return header.strip().lower()
    return "|".join(p.strip() for p in header.split("|")).lower()


def parts(header: str) -> list[str]:
    return [p.strip() for p in header.split("|")]


ATTESTATION_START = "to the best of its knowledge and belief"

# Row 1: general data elements.
GENERAL_HEADERS: dict[str, str] = {
    "hospital_name": "Hospital name: the legal business name of the hospital associated with the file.",
    "last_updated_on": (
        "MRF date: the date on which the file was last updated, in ISO 8601 form YYYY-MM-DD "
        "(M/D/YYYY and MM/DD/YYYY are also accepted); codes are judged on this date."
    ),
    "version": "CMS template version: the version of the CMS template the file uses.",
    "location_name": "Hospital location(s): the unique name(s) of the hospital location(s) absent any acronyms, separated by \"|\".",
    "hospital_location": (
        "Hospital location(s) (v2.x header; location_name from v3.0): the unique name(s) of the hospital location(s), separated by \"|\"."
    ),
    "hospital_address": (
        "Hospital address(es): the physical address(es) of the hospital location(s), separated by \"|\" "
        "in the same order as the locations."
    ),
    "type_2_npi": (
        "Type 2 organizational NPI(s) of the hospital and all its locations in the file (primary taxonomy "
        "starting with 28 or 27), separated by \"|\"."
    ),
    "attester_name": (
        "Attester name: the first and last name of the chief executive officer, president or senior official "
        "designated to oversee the encoding of true, accurate and complete data in the file."
    ),
    "financial_aid_policy": "Hospital financial aid policy (optional): the hospital's financial aid or charity care policy, as a description or a link.",
    "general_contract_provisions": (
        "General contract provisions (optional): payer contract provisions negotiated at an aggregate level across "
        "items and services, such as stop-loss, lesser-than, carve-outs and claim-level outlier provisions."
    ),
}
LICENSE_MEANING = (
    "Hospital licensure information: the hospital license number, under a header that names the licensing "
    "state or territory by its two-letter abbreviation ({state}); leave the value blank if the hospital has no license number."
)
ATTESTATION_MEANING = (
    "Attestation statement: the CMS-defined statement, written as the header itself, that the information is true, "
    "accurate and complete as of the date in the file; the value is true or false, and true is required."
)
AFFIRMATION_MEANING = (
    "Affirmation statement (v2.x; the attestation from v3.0): the CMS-defined statement, written as the header itself, "
    "that the hospital has included all applicable standard charge information; the value is true or false."
)

# Row 3: standard charge, item / service and coding data elements (tall names).
CHARGE_HEADERS: dict[str, str] = {
    "description": "General description of the item or service that corresponds to the standard charge the hospital has established.",
    "setting": (
        "Setting: whether the item or service is provided in connection with an inpatient admission or an "
        "outpatient department visit (inpatient, outpatient, both)."
    ),
    "modifiers": "Modifier(s) that may change the standard charge of the item or service, separated by \"|\".",
    "drug_unit_of_measurement": (
        "Drug unit of measurement: for a drug, the unit value that corresponds to the standard charge "
        "(required when a code type is NDC)."
    ),
    "drug_type_of_measurement": (
        "Drug type of measurement: the NDC / NCPDP measurement type of the drug unit "
        "(GR grams, ME milligrams, ML milliliters, UN unit, F2 international unit, EA each, GM gram)."
    ),
    "standard_charge|gross": "Gross charge: the charge for the item or service as reflected on the hospital's chargemaster, absent any discounts.",
    "standard_charge|discounted_cash": "Discounted cash price: the charge that applies to an individual who pays cash (or cash equivalent) for the item or service.",
    "payer_name": "Payer name: the third-party payer legally responsible for payment of a claim for the item or service.",
    "plan_name": "Plan name: the payer's specific plan associated with the standard charge.",
    "standard_charge|negotiated_dollar": "Payer-specific negotiated charge as a dollar amount, for the payer and plan of the row.",
    "standard_charge|negotiated_percentage": (
        "Payer-specific negotiated charge as a percentage (70.5 means 70.5%), for the payer and plan of the row, "
        "when no dollar amount can be calculated."
    ),
    "standard_charge|negotiated_algorithm": (
        "Payer-specific negotiated charge as an algorithm, for the payer and plan of the row, when it cannot be "
        "expressed as a dollar amount."
    ),
    "median_amount": (
        "Median allowed amount (v3.0): the median of the total allowed amounts the hospital has received from the payer "
        "for the item or service over the 12 to 15 months before the file was posted."
    ),
    "10th_percentile": (
        "10th percentile allowed amount (v3.0): the 10th percentile of the total allowed amounts the hospital has "
        "received from the payer for the item or service over the 12 to 15 months before the file was posted."
    ),
    "90th_percentile": (
        "90th percentile allowed amount (v3.0): the 90th percentile of the total allowed amounts the hospital has "
        "received from the payer for the item or service over the 12 to 15 months before the file was posted."
    ),
    "count": (
        "Count of allowed amounts (v3.0): the number of remittances used to calculate the allowed amounts "
        "(0, 1 through 10, or a whole number of 11 or more without thousands separator)."
    ),
    "standard_charge|methodology": (
        "Standard charge methodology: the contract arrangement behind the payer-specific negotiated charge "
        "(case rate, fee schedule, percent of total billed charges, per diem, other)."
    ),
    "standard_charge|min": "De-identified minimum negotiated charge: the lowest dollar amount the hospital has negotiated with all third-party payers for the item or service.",
    "standard_charge|max": "De-identified maximum negotiated charge: the highest dollar amount the hospital has negotiated with all third-party payers for the item or service.",
    "additional_generic_notes": (
        "Additional generic notes: free text that helps explain any of the data, such as blanks, charity care "
        "policies or how a payer-specific charge is derived."
    ),
    "estimated_amount": (
        "Estimated allowed amount (v2.2; replaced by the median and percentile allowed amounts in v3.0): the average "
        "dollar amount the hospital has historically received from the payer for the item or service."
    ),
    "billing_class": "Billing class (optional): the type of billing for the item or service at the standard charge (professional, facility, both).",
}

# Wide layout: payer-specific columns name the payer and plan inside the header.
_WIDE_CHARGE = {  # standard_charge | payer | plan | <last>
    "negotiated_dollar": "Payer-specific negotiated charge as a dollar amount for {who}.",
    "negotiated_percentage": "Payer-specific negotiated charge as a percentage (70.5 means 70.5%) for {who}, when no dollar amount can be calculated.",
    "negotiated_algorithm": "Payer-specific negotiated charge as an algorithm for {who}, when it cannot be expressed as a dollar amount.",
    "methodology": (
        "Standard charge methodology for {who}: the contract arrangement behind the negotiated charge "
        "(case rate, fee schedule, percent of total billed charges, per diem, other)."
    ),
}
_WIDE_OTHER = {  # <first> | payer | plan
    "additional_payer_notes": "Additional payer-specific notes for {who}: free text that helps explain this payer's and plan's charges.",
    "median_amount": "Median allowed amount for {who} (v3.0): the median of the total allowed amounts received over the 12 to 15 months before the file was posted.",
    "10th_percentile": "10th percentile allowed amount for {who} (v3.0), over the 12 to 15 months before the file was posted.",
    "90th_percentile": "90th percentile allowed amount for {who} (v3.0), over the 12 to 15 months before the file was posted.",
    "count": "Count of allowed amounts for {who} (v3.0): the number of remittances used to calculate the allowed amounts.",
    "estimated_amount": "Estimated allowed amount for {who} (v2.2): the average dollar amount historically received from this payer and plan.",
}
WIDE_CHARGE_LAST = frozenset(_WIDE_CHARGE)
WIDE_OTHER_FIRST = frozenset(_WIDE_OTHER)

PLACEHOLDERS = re.compile(r"\[\s*(payer_name|plan_name|i|state)\s*\]", re.IGNORECASE)


def payer_plan(header: str) -> tuple[str, str] | None:
    """(payer, plan) of a wide payer-specific header, as written; None for any other header."""
    if "|" not in header:
        return None
    p = parts(header)
    low = [x.lower() for x in p]
    if len(p) == 4 and low[0] == "standard_charge" and low[3] in WIDE_CHARGE_LAST:
        return p[1], p[2]
    if len(p) == 3 and low[0] in WIDE_OTHER_FIRST:
        return p[1], p[2]
    return None


def code_column(header: str) -> tuple[str, bool] | None:
    """("1", False) for `code|1`, ("1", True) for `code|1|type`; the index as written, which
    is digits or the template's leftover `[i]`. None for any other header."""
    if "|" not in header or header.lstrip()[:4].lower() != "code":
        return None
    p = [x.lower() for x in parts(header)]
    if len(p) < 2 or p[0] != "code" or not p[1]:
        return None
    if len(p) == 2:
        is_type = False
    elif len(p) == 3 and p[2] == "type":
        is_type = True
    else:
        return None
    index = p[1].replace(" ", "")
    if not (is_digits(index) or index == "[i]"):
        return None
    return index, is_type


def general_meaning(header: str) -> str | None:
    """What a row-1 header means (None: not a template element)."""
    key = normalize(header)
    meaning = GENERAL_HEADERS.get(key)
    if meaning is not None:
        return meaning
    p = parts(header)
    if len(p) == 2 and p[0].lower() == "license_number":
        return LICENSE_MEANING.format(state=p[1] or "[state]")
    if key.startswith(ATTESTATION_START):
        # v3.0: "... this hospital has included ..."; v2.x: "... the hospital has included ...".
        return ATTESTATION_MEANING if "this hospital" in key else AFFIRMATION_MEANING
    return None


def charge_meaning(header: str, version: str | None = None) -> str | None:
    """What a row-3 header means (None: not a template element)."""
    key = normalize(header)
    meaning = CHARGE_HEADERS.get(key)
    if meaning is not None:
        return meaning
    code = code_column(header)
    if code is not None:
        index, is_type = code
        if is_type:
            allowed = ", ".join(types_for(version))
            return f"Code type of code|{index}: which standard code|{index} belongs to, one of {allowed} (case-insensitive)."
        return (
            f"Billing/account code {index}: a code the hospital uses for billing or accounting for the item or service; "
            f"its type is in code|{index}|type."
        )
    p = parts(header) if "|" in header else ()
    low = [x.lower() for x in p]
    # As payer_plan, without splitting the header again.
    if len(p) == 4 and low[0] == "standard_charge" and low[3] in WIDE_CHARGE_LAST:
        return _WIDE_CHARGE[low[3]].format(who=" ".join(x for x in p[1:3] if x))
    if len(p) == 3 and low[0] in WIDE_OTHER_FIRST:
        return _WIDE_OTHER[low[0]].format(who=" ".join(x for x in p[1:3] if x))
    return None
