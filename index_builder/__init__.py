"""medcode's index builder: reads official code-set files and writes and reads versioned indexes.

It knows nothing of LSP; the server uses its reader.
"""

from importlib import metadata

try:
    __version__ = metadata.version("medcode-ls")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
