"""Clinical documentation templates (Markdown, plain text, Jinja, SmartPhrases): codes where the
text says which set (a prefix such as `ICD-10-CM:`, front matter, a dotted code in
parentheses). `patterns.py` holds what is looked for, `reader.py` turns a template into a
`Reading`."""
