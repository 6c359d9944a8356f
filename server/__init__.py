"""medcode's server side (import `medcode.server`): everything that reads a document and
judges its codes, and the two ways in. The analysis core is at the top: `analysis.py` (the one
pipeline: text in, findings out), `kinds.py` (which reader a document goes to), `reading.py`
(what a reader hands the rules), `code_rules.py` / `document_rules.py` / `verdicts.py` (judging
one code), `findings.py` and `describe.py`. One sub-package per file kind reads documents:
`x12/`, `tables/` (CSV and JSON price files, chargemasters), `templates/`, `fhir/`. Rules over
a whole claim are `claims/` (service lines: NCCI) and `claim_edits/` (diagnoses, procedures and
the patient: MCE, tabular). `lsp/` is the language server; `cli.py` and `check.py` the
`medcode` command."""
