"""medcode's index builder (import `medcode.index_builder`): official code-set files in,
versioned indexes out, and the runtime side that reads them back. Building: `importers/` (one
module per source layout), `build.py`, `writer.py`, `fetch.py` / `download.py` /
`catalogue.py` (official releases over HTTP), `defaults/` (the embedded default data and its
generator). Reading at run time: `reader.py` (memory-mapped releases), `lookup.py` (which
release answers for a date), `freshness.py`, and the stored forms the claim rules read
(`ncci_index.py`, `mce_index.py`, `pcs_tables.py`, `tabular_notes.py`). Shared by both:
`codesets.py`, `model.py`, `layout.py`. It knows nothing of LSP and never imports the server.
"""

import os
import re
import sys
from functools import cache

_DISTRIBUTION = "medcode_ls"  # the distribution's name ("medcode-ls"), as metadata folders spell it


@cache
def version() -> str:
    """The installed distribution's version. Read from its metadata folder when that is the
    one importlib.metadata would read (the only metadata of ours in the first sys.path folder
    that has any): importlib.metadata brings email, zipfile and more (about 4 MB, tens of
    milliseconds) into every process that imports it, and the language server's answer to
    `initialize` carries the version. Anything else (an egg, a zip on sys.path, two
    installations side by side) is left to importlib.metadata."""
    found = _metadata_version()
    if found is not None:
        return found
    from importlib import metadata

    try:
        return metadata.version("medcode-ls")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def _metadata_version() -> str | None:
    """The Version field of our metadata in the first sys.path folder that has some, read
    as importlib.metadata reads it; None when importlib.metadata must decide (see version)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:  # a zip: importlib.metadata looks inside, this does not
            return None
        except OSError:  # missing or unreadable: importlib.metadata skips it too
            continue
        ours = [n for n in names if n.lower().endswith((".dist-info", ".egg-info", ".egg")) and _normalised(n) == _DISTRIBUTION]
        if not ours:
            continue
        if len(ours) != 1 or ours[0].lower().endswith(".egg"):
            return None
        folder = os.path.join(entry or ".", ours[0])
        # A .dist-info folder holds METADATA; an .egg-info folder PKG-INFO; an .egg-info file is it.
        for path in (os.path.join(folder, "METADATA"), os.path.join(folder, "PKG-INFO"), folder):
            try:
                with open(path, encoding="utf-8") as f:
                    return _version_field(f)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            except (OSError, UnicodeDecodeError):
                return None
        return None
    return None


def _version_field(lines) -> str | None:
    """The first Version header of a metadata file (the headers end at the first empty line)."""
    for line in lines:
        if not line.strip():
            return None
        if line[0] in " \t":  # a header's continuation line
            continue
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "version":
            return value.strip() or None
    return None


def _normalised(folder: str) -> str:
    """A metadata folder's distribution name as importlib.metadata compares it (PEP 503)."""
    name = folder.lower().rpartition(".")[0].partition("-")[0]
    return re.sub(r"[-_.]+", "_", name)


def __getattr__(name: str) -> str:
    # `from medcode.index_builder import __version__` still works; it is worked out on first use.
    if name == "__version__":
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
