"""X12 837 claims (professional, institutional, dental): `delimiters.py` and `segments.py` cut
the text, `vocabulary.py` and `slots.py` say which code set each place demands, `document.py`
walks a document into claims, lines and dates in one pass, `rules.py` judges each claim's
codes, and `context.py` / `outline.py` answer the editor (what is under the cursor, the
outline)."""
