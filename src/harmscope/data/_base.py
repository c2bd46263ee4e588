"""What every loader shares: the typed result, a record collector that validates and counts, and file lookup.

The loader contract (also for loaders written elsewhere, such as ``harmscope.data.dna_contrast``)::

    factory(path: Path | None) -> list[PromptRecord] | Loaded

``path`` is ``None`` for the default location under :func:`harmscope._paths.data_dir`, else the file or the
dataset folder the user gave. Return :class:`Loaded` to report skipped rows; a plain list means none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from harmscope._paths import data_dir
from harmscope.errors import DataFormatError
from harmscope.types import Label, PromptRecord


@dataclass(frozen=True)
class Loaded:
    """The records of one dataset plus what was left out, so nothing disappears silently."""

    records: list[PromptRecord]
    """All records, in file order (nothing is deduplicated)."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Rows left out on purpose, by reason (e.g. ``{"no prompt_harm_label": 3}``); never their text."""
    file: Path | None = None
    """The file read, or the folder for sets that span several files."""
    repaired: dict[str, int] = field(default_factory=dict)
    """Rows kept after a repair, by reason (e.g. invalid UTF-8 bytes replaced in OLID's truncated tweets)."""

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    @staticmethod
    def merge(parts: list[Loaded], file: Path | None) -> Loaded:
        """Concatenate parts (records in order; skip and repair counts summed)."""
        skipped: Counter[str] = Counter()
        repaired: Counter[str] = Counter()
        records: list[PromptRecord] = []
        for part in parts:
            records.extend(part.records)
            skipped.update(part.skipped)
            repaired.update(part.repaired)
        return Loaded(records, dict(skipped), file, dict(repaired))


Factory: TypeAlias = Callable[[Path | None], "list[PromptRecord] | Loaded"]


class Sink:
    """Builds the records of one source file: checks each text, counts skipped and repaired rows."""

    def __init__(self, source: str, path: Path) -> None:
        self.source, self.path = source, path
        self.records: list[PromptRecord] = []
        self.skipped: Counter[str] = Counter()
        self.repaired: Counter[str] = Counter()

    def add(
        self,
        text: Any,
        label: Label | None,
        *,
        line: int | None,
        column: str,
        category: str | None = None,
        pair_id: str | None = None,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Append one record; an empty or non-string text is a format error (with the line)."""
        if not isinstance(text, str) or not text.strip():
            what = "missing" if text is None else "empty" if isinstance(text, str) else type(text).__name__
            raise DataFormatError(self.path, f"{what} text in {column!r}; every record needs a prompt", line)
        self.records.append(PromptRecord(
            text=text, label=label, category=category or None, source=self.source, pair_id=pair_id,
            id=id, metadata=metadata or {},
        ))

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def done(self) -> Loaded:
        return Loaded(self.records, dict(self.skipped), self.path, dict(self.repaired))


def label_of(
    path: Path, value: Any, mapping: Mapping[Any, Label | None], *, line: int | None, column: str
) -> Label | None:
    """Map a source label to ours, or fail naming the unexpected value and the accepted ones."""
    key = value.strip() if isinstance(value, str) else value
    if isinstance(key, (list, dict)) or key not in mapping:
        accepted = ", ".join(repr(k) for k in mapping)
        raise DataFormatError(path, f"{column!r} is {value!r}; expected one of {accepted}", line)
    return mapping[key]


def dataset_dir(dirname: str) -> Path:
    """The default folder of a shipped dataset."""
    return data_dir() / dirname


def file_in(path: Path | None, dirname: str, filename: str) -> Path:
    """The file to read: the default one, the given file, or ``filename`` inside the given folder."""
    if path is None:
        return dataset_dir(dirname) / filename
    return path / filename if path.is_dir() else path


def folder(path: Path | None, dirname: str, name: str) -> Path:
    """The folder of a set that spans several files; a file path is a usage error."""
    if path is None:
        return dataset_dir(dirname)
    if path.exists() and not path.is_dir():
        raise DataFormatError(path, f"{name} reads several files; pass the folder that holds them")
    return path


def metadata(cells: Mapping[str, Any], *columns: str) -> dict[str, Any]:
    """The given columns, keeping only non-empty values."""
    return {c: cells[c] for c in columns if c in cells and cells[c] not in ("", None)}
