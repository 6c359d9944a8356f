"""The claim-level layer: a claim with its service lines, and rules over a whole claim.

Code rules judge one code in its place; claim rules judge codes together (NCCI pairs, units
per date of service, add-on codes and their primaries; later the Medicare Code Editor's age
and sex edits, and FHIR claims). Readers turn their documents into `model.Claim`; rules
implement `rules.ClaimRule`; `rules.ClaimLayer` runs them and gives hover notes.
"""
