"""medcode's index builder (import `medcode.index_builder`): official code-set files in,
versioned indexes out, and the runtime side that reads them back. Building: `importers/` (one
module per source layout), `build.py`, `writer.py`, `fetch.py` / `download.py` /
`catalogue.py` (official releases over HTTP), `defaults/` (the embedded default data and its
generator). Reading at run time: `reader.py` (memory-mapped releases), `lookup.py` (which
release answers for a date), `freshness.py`, and the stored forms the claim rules read
(`ncci_index.py`, `mce_index.py`, `pcs_tables.py`, `tabular_notes.py`). Shared by both:
`codesets.py`, `model.py`, `layout.py`. It knows nothing of LSP and never imports the server.
"""

# The one place the version is written: pyproject.toml reads it from here (setuptools'
# dynamic version), so a running medcode never imports importlib.metadata (email, zipfile and
# more: tens of milliseconds of every language server's start) to name itself.
__version__ = "0.1.0"
