"""The version is written once, in index_builder/__init__.py; the package's metadata takes it
from there (pyproject.toml: setuptools' dynamic version), and a running medcode reads the
constant, never importlib.metadata (its import costs every language server's start)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import medcode.index_builder as ib


def test_the_installed_metadata_carries_the_version_written_in_the_code():
    assert ib.__version__ == metadata.version("medcode-ls")


def test_version_does_not_import_importlib_metadata():
    probe = "import sys, medcode.index_builder as ib; print(ib.__version__, 'importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [ib.__version__, "False"], out.stderr
