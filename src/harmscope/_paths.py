"""Where data and caches live. Read from the environment on every call (no global mutable state).

- Data: ``$HARMSCOPE_DATA``, else ``../shared/data`` next to the repository checkout, else
  ``./../shared/data`` relative to the working directory.
- Caches (assembled models, embeddings, fitted detectors): ``$HARMSCOPE_CACHE``, else
  ``~/.cache/harmscope``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Write a folder atomically: yields an empty sibling of ``target`` to fill; when the block succeeds it
    takes ``target``'s place (a previous ``target`` is moved aside first and then deleted), so a reader
    never sees half a folder; when the block fails it is removed and ``target`` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        old: Path | None = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
