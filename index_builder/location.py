"""Where indexes live: MEDCODE_INDEX_DIR, else the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "MEDCODE_INDEX_DIR"


def index_dir(override: str | os.PathLike[str] | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("medcode", appauthor=False)) / "indexes"
