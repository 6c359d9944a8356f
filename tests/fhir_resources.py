"""FHIR ExplanationOfBenefit, Patient and Bundle resources written for tests (CARIN Blue
Button systems), as JSON text the readers see. Shared by the FHIR claim-edit tests."""

from __future__ import annotations

import json

NOV = "2026-11-15"  # FY2027: CMS MCE v44
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
SUBTYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBInstitutionalClaimSubType"
DX_TYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimDiagnosisType"


def eob(dx=(), px=(), items=(), kind="professional", subtype=None, tob=None, patient=None, contained=None, day=NOV) -> dict:
    """dx: (sequence, code, diagnosis type or None); px: ICD-10-PCS codes; items: (code,
    modifiers, units, servicedDate)."""
    res: dict = {"resourceType": "ExplanationOfBenefit", "id": "eob-1", "status": "active",
                 "type": {"coding": [{"system": CLAIM_TYPE, "code": kind}]}, "use": "claim",
                 "billablePeriod": {"start": day, "end": day}}
    if subtype:
        res["subType"] = {"coding": [{"system": SUBTYPE, "code": subtype}]}
    if contained:
        res["contained"] = contained
    if patient:
        res["patient"] = {"reference": patient}
    if tob:
        res["supportingInfo"] = [{"sequence": 1, "category": {"coding": [{"system": "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType", "code": "typeofbill"}]},
                                  "code": {"coding": [{"system": "https://www.nubc.org/CodeSystem/TypeOfBill", "code": tob}]}}]
    res["diagnosis"] = [
        {"sequence": seq, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": code}]},
         **({"type": [{"coding": [{"system": DX_TYPE, "code": t}]}]} if t else {})}
        for seq, code, t in dx
    ]
    if px:
        res["procedure"] = [{"sequence": i, "procedureCodeableConcept": {"coding": [{"system": ICD10PCS, "code": c}]}} for i, c in enumerate(px, 1)]
    if items:
        res["item"] = [
            {"sequence": i, "productOrService": {"coding": [{"system": CPT, "code": code}]},
             **({"modifier": [{"coding": [{"system": CPT, "code": m}]} for m in mods]} if mods else {}),
             "servicedDate": served, "quantity": {"value": units}}
            for i, (code, mods, units, served) in enumerate(items, 1)
        ]
    return res


def patient(pid="p1", birth="1990-01-01", gender="male") -> dict:
    out = {"resourceType": "Patient", "id": pid, "gender": gender}
    if birth:
        out["birthDate"] = birth
    return out


def bundle(*resources, urls=None) -> dict:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{**({"fullUrl": urls[i]} if urls else {}), "resource": r} for i, r in enumerate(resources)]}


def text_of(doc: dict) -> str:
    return json.dumps(doc, indent=2)
