"""Import this before medcode, with MEDCODE_PROBE_PURE=1, to load the .py modules even where a
compiled .so sits beside them: one worktree then measures both (a path hook that leaves out the
extension loader for medcode's folders). Probe only: medcode itself has no such switch."""

import os
import sys
from importlib.machinery import BYTECODE_SUFFIXES, SOURCE_SUFFIXES, FileFinder, SourceFileLoader, SourcelessFileLoader
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])

if os.environ.get("MEDCODE_PROBE_PURE") == "1":

    def _python_only(path: str) -> FileFinder:
        if not (path + "/").startswith(ROOT + "/"):
            raise ImportError  # not ours: the next hook handles it
        return FileFinder(path, (SourceFileLoader, SOURCE_SUFFIXES), (SourcelessFileLoader, BYTECODE_SUFFIXES))

    sys.path_hooks.insert(0, _python_only)
    sys.path_importer_cache.clear()
