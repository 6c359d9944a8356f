"""One module per source layout, each turning official (or the user's own) files into an
ImportResult for the writer: `icd10cm.py` (CDC tabular XML and order file), `icd10pcs.py`
(CMS order file, tables XML), `hcpcs.py` (CMS alpha-numeric file), `ndc.py` (FDA
ndctext.zip), `cpt.py` (the user's licensed AMA files), `ncci.py` (CMS NCCI edit files) and
`generic.py` (plain code,description lists for any set). README.md beside them lists the
layouts each one recognises."""
