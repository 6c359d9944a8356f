"""HL7 FHIR R4 claims: Claim and ExplanationOfBenefit resources (JSON, Bundles, NDJSON).
`jsontree.py` parses JSON keeping every value's offset, `systems.py` maps a Coding's `system`
to a code set, `reader.py` makes the Reading, `rules.py` judges each code on its own date of
service."""
