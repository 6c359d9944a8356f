"""X12 837 claims: delimiters, segments, code places and the document walk."""
