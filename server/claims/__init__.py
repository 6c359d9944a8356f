"""The claim-level layer: a claim with its service lines, and rules over a whole claim.

Code rules judge one code in its place; claim rules judge codes together over the service
lines (NCCI pairs, units per date of service, add-on codes and their primaries). `x12.py` and
`fhir.py` turn an 837 claim or a FHIR Claim / ExplanationOfBenefit into `model.Claim`; rules
implement `rules.ClaimRule`; `rules.ClaimLayer` runs them and gives hover notes. The edits
across a claim's diagnoses and procedures and its patient (MCE, ICD-10-CM tabular) are the
sibling package `claim_edits/`.
"""
