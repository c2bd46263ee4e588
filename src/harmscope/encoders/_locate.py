"""Finding model files inside installed distributions (stdlib only).

Several model packages install folders whose names contain dashes (not importable), so files are found
through ``importlib.metadata`` rather than ``import``. Errors say which package to (re)install and how.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from harmscope.errors import HarmscopeError, MissingPackageError


class ModelFilesError(HarmscopeError):
    """Model files are missing, corrupted, or a folder holds no model; the message says how to fix it."""


def dist_installed(dist: str) -> bool:
    """Whether the distribution ``dist`` (its PyPI name) is installed in this environment."""
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def dist_file(dist: str, relative: str, *, purpose: str, install: str) -> Path:
    """The absolute path of ``relative`` (a path under site-packages) shipped by distribution ``dist``.

    Raises :class:`MissingPackageError` when ``dist`` is not installed and :class:`ModelFilesError`
    when it is installed but the file is gone (a broken install); both name the ``install`` command.
    """
    try:
        distribution = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        raise MissingPackageError(dist, purpose, install) from None
    path = Path(str(distribution.locate_file(relative))).resolve()
    if not path.is_file():
        raise ModelFilesError(
            f"{purpose}: package {dist!r} is installed but {relative} is missing from it; "
            f"fix: {install} --force-reinstall"
        )
    return path
