"""HL7 FHIR R4 claims: Claim and ExplanationOfBenefit resources (JSON, Bundles, NDJSON)."""
