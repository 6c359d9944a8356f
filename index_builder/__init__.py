"""medcode's index builder (import `medcode.index_builder`): official code-set files in,
versioned indexes out, and the runtime side that reads them back. Building: `importers/` (one
module per source layout), `build.py`, `writer.py`, `fetch.py` / `download.py` /
`catalogue.py` (official releases over HTTP), `defaults/` (the embedded default data and its
generator). Reading at run time: `reader.py` (memory-mapped releases), `lookup.py` (which
release answers for a date), `freshness.py`, and the stored forms the claim rules read
(`ncci_index.py`, `mce_index.py`, `pcs_tables.py`, `tabular_notes.py`). Shared by both:
`codesets.py`, `model.py`, `layout.py`. It knows nothing of LSP and never imports the server.
"""

from functools import cache


@cache
def version() -> str:
    """The installed distribution's version. importlib.metadata is imported only when asked:
    it brings email, zipfile and more (about 4 MB) into every process that imports this."""
    from importlib import metadata

    try:
        return metadata.version("medcode-ls")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def __getattr__(name: str) -> str:
    # `from medcode.index_builder import __version__` still works; it is worked out on first use.
    if name == "__version__":
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
