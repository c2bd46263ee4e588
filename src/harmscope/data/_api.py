"""Public entry points: load any registered dataset by name, list them, describe one."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harmscope.data._base import Loaded
from harmscope.data._catalog import CATALOG, CatalogEntry
from harmscope.errors import HarmscopeError, UnknownNameError
from harmscope.registry import DATASETS
from harmscope.types import PromptRecord

log = logging.getLogger("harmscope.data")


@dataclass(frozen=True)
class LabelCounts:
    """How many records carry each label."""

    unsafe: int
    safe: int
    unlabeled: int

    @property
    def total(self) -> int:
        return self.unsafe + self.safe + self.unlabeled

    @staticmethod
    def of(records: list[PromptRecord]) -> LabelCounts:
        c = Counter(r.label for r in records)
        return LabelCounts(unsafe=c["unsafe"], safe=c["safe"], unlabeled=c[None])


@dataclass(frozen=True)
class DatasetInfo:
    """What a registered dataset is. ``rows``/``counts`` are filled only when asked to count (that loads it)."""

    name: str
    """Registered name; path-based loaders end in ``":"`` (use ``NAME:PATH``)."""
    description: str
    role: str
    """``unsafe-only``, ``benign-only``, ``two-class``, ``paired``, ``mixed`` or ``unlabeled``."""
    labels: tuple[str, ...]
    """Labels the records can carry (``"unsafe"``, ``"safe"``, ``"none"``), from the role."""
    license: str
    label_rule: str
    path_based: bool
    """True for benchmarks not shipped here: they load only from a path the user gives."""
    rows: int | None = None
    counts: LabelCounts | None = None


_ROLE_LABELS: dict[str, tuple[str, ...]] = {
    "unsafe-only": ("unsafe",), "benign-only": ("safe",), "two-class": ("unsafe", "safe"),
    "paired": ("unsafe", "safe"), "mixed": ("unsafe", "safe", "none"), "unlabeled": ("none",),
}


def _info(name: str, entry: CatalogEntry, loaded: Loaded | None = None) -> DatasetInfo:
    counts = LabelCounts.of(loaded.records) if loaded is not None else None
    return DatasetInfo(
        name=name, description=entry.description, role=entry.role, labels=_ROLE_LABELS[entry.role],
        license=entry.license, label_rule=entry.label_rule, path_based=name.endswith(":"),
        rows=counts.total if counts else None, counts=counts,
    )


def _split_name(name: str, path: Path | str | None) -> tuple[str, Path | None]:
    """``NAME:PATH`` → (``NAME:``, PATH); ``NAME`` + path of a scheme → (``NAME:``, path)."""
    if f"{name}:" in DATASETS.schemes:
        name = f"{name}:"
    for prefix in DATASETS.schemes:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if rest and path is not None:
                raise HarmscopeError(f"give the file either in the name ({name!r}) or as path=, not both")
            given = rest or (str(path) if path is not None else "")
            if not given:
                raise HarmscopeError(f"{prefix[:-1]} is not shipped with harmscope; load it as "
                                     f"{prefix}PATH with the file you downloaded")
            return prefix, Path(given).expanduser()
    return name, Path(path).expanduser() if path is not None else None


def load_dataset_with_report(name: str, path: Path | str | None = None) -> Loaded:
    """Load a registered dataset and say what was skipped.

    ``name`` is a registered name (``"xstest"``, ``"harmbench/contextual"``) or a path-based scheme with
    its file (``"wildguardtest:/data/wgt.parquet"``, or ``"wildguardtest"`` with ``path=``). ``path``
    overrides where a shipped set is read from (its file, or its folder). Skips are logged as a warning on
    the ``harmscope.data`` logger with their counts (never the text).
    """
    key, where = _split_name(name, path)
    if key not in DATASETS.entries and key not in DATASETS.schemes:
        raise UnknownNameError("dataset", name, DATASETS.names())
    factory = DATASETS.resolve(key if key in DATASETS.entries else f"{key}{where}")[0]
    result = factory(where)
    loaded = result if isinstance(result, Loaded) else Loaded(list(result), {}, where)
    if loaded.skipped:
        detail = ", ".join(f"{reason}: {n}" for reason, n in sorted(loaded.skipped.items()))
        log.warning("%s: skipped %d row(s) (%s)", name, loaded.n_skipped, detail)
    if loaded.repaired:
        detail = ", ".join(f"{reason}: {n}" for reason, n in sorted(loaded.repaired.items()))
        log.warning("%s: repaired %d row(s) (%s)", name, sum(loaded.repaired.values()), detail)
    return loaded


def load_dataset(name: str, /, *, path: Path | str | None = None) -> list[PromptRecord]:
    """The records of a registered dataset (see :func:`load_dataset_with_report` for names and ``path``)."""
    return load_dataset_with_report(name, path).records


def registered_names() -> list[str]:
    """Every loadable name: shipped sets and subsets, then path-based schemes (ending in ``":"``)."""
    return sorted(DATASETS.entries) + sorted(DATASETS.schemes)


def dataset_info(name: str, *, count: bool = False, path: Path | str | None = None) -> DatasetInfo:
    """Static facts about one dataset; with ``count`` it is loaded to fill ``rows`` and ``counts``."""
    key, _ = _split_name(name, path) if ":" in name or path is not None else (name, None)
    entry = CATALOG.get(key)
    if entry is None:
        raise UnknownNameError("dataset", name, DATASETS.names())
    loaded = load_dataset_with_report(name, path) if count else None
    return _info(key, entry, loaded)


def list_datasets(*, count: bool = False) -> list[DatasetInfo]:
    """Every registered dataset. ``count`` loads each shipped set (seconds) to fill ``rows``/``counts``;
    path-based ones are never counted, and a shipped set that cannot be read is listed without counts."""
    infos = []
    for name in registered_names():
        entry = CATALOG.get(name) or CatalogEntry("unlabeled", "?", "?", "(not described)")
        loaded = None
        if count and not name.endswith(":"):
            try:
                loaded = load_dataset_with_report(name)
            except (HarmscopeError, ImportError, AttributeError) as error:
                log.warning("%s: not counted (%s)", name, error)
        infos.append(_info(name, entry, loaded))
    return infos
