"""Where data and caches live. Read from the environment on every call (no global mutable state).

- Data: ``$HARMSCOPE_DATA``, else ``../shared/data`` next to the repository checkout, else
  ``./../shared/data`` relative to the working directory.
- Caches (assembled models, embeddings, fitted detectors): ``$HARMSCOPE_CACHE``, else
  ``~/.cache/harmscope``.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The folder that holds the public datasets (one sub-folder per dataset)."""
    env = os.environ.get("HARMSCOPE_DATA")
    if env:
        return Path(env).expanduser()
    beside_repo = _REPO_ROOT.parent / "shared" / "data"
    if beside_repo.is_dir():
        return beside_repo
    return Path.cwd().parent / "shared" / "data"


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root, created on demand."""
    root = Path(os.environ.get("HARMSCOPE_CACHE") or Path.home() / ".cache" / "harmscope").expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
