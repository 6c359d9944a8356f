"""Clinical documentation templates (Markdown, text): codes where the text says which set."""
