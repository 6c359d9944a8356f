"""Tabular code files: CMS hospital price transparency CSV and JSON, internal chargemasters."""
