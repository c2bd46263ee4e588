"""Mapping harmscope (and AIR-2024) harm categories onto OpenAI's 13 moderation categories.

The table lives in ``openai_categories.yaml`` next to this file (documented in docs/service.md) so that it
can be read and reviewed without reading code. A detector's categories are resolved once, when the
moderator is built: harmscope ids first, then AIR-2024 level-2 names, then AIR level-3 names or aliases
(through the SafetyAnalyst taxonomy); anything else maps to no OpenAI category and is reported as unmapped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harmscope.errors import DataFormatError

TABLE_FILE = Path(__file__).resolve().parent / "openai_categories.yaml"

OPENAI_CATEGORIES: tuple[str, ...] = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
"""OpenAI's moderation categories, in the order of its API reference."""


@dataclass(frozen=True)
class CategoryTable:
    """harmscope ids and AIR-2024 level-2 names -> the OpenAI categories each one counts towards."""

    harmscope: Mapping[str, tuple[str, ...]]
    air_2024: Mapping[str, tuple[str, ...]]
    file: Path

    def lookup(self, category: str) -> tuple[str, ...] | None:
        """The OpenAI categories of ``category``, or ``None`` when the table does not know it."""
        if category in self.harmscope:
            return self.harmscope[category]
        if category in self.air_2024:
            return self.air_2024[category]
        level2 = _air_level2(category)
        if level2 is not None and level2 in self.air_2024:
            return self.air_2024[level2]
        return None


@dataclass(frozen=True)
class CategoryMapping:
    """A detector's own categories resolved against a :class:`CategoryTable`."""

    targets: Mapping[str, tuple[str, ...]]
    """Detector category -> OpenAI categories (empty tuple: none fits)."""
    unmapped: tuple[str, ...]
    """Detector categories the table does not list (they count towards no OpenAI category)."""

    def scores(self, p_unsafe: float, category_scores: Mapping[str, float]) -> dict[str, float]:
        """OpenAI category -> ``p_unsafe`` x the summed P(category | unsafe) of the detector categories
        mapped to it (capped at ``p_unsafe``). Every one of the 13 names is present."""
        out = dict.fromkeys(OPENAI_CATEGORIES, 0.0)
        for category, share in category_scores.items():
            for target in self.targets.get(category, ()):
                out[target] += float(share)
        return {name: float(p_unsafe) * min(1.0, value) for name, value in out.items()}

    def flags(self, flagged: bool, top_category: str | None) -> dict[str, bool]:
        """OpenAI category -> True for the categories of the most likely detector category when flagged."""
        hit = set(self.targets.get(top_category, ())) if (flagged and top_category is not None) else set()
        return {name: name in hit for name in OPENAI_CATEGORIES}


def _air_level2(name: str) -> str | None:
    """The AIR-2024 level-2 name that ``name`` denotes (level-3 names, aliases), else None."""
    try:
        from harmscope.detectors.harm_benefit._taxonomy_generator import resolve_air_action
    except ImportError:  # pragma: no cover - the harm-benefit package ships with harmscope
        return None
    return resolve_air_action(name)


def _targets(path: Path, section: str, raw: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise DataFormatError(path, f"{section!r} must map category names to lists of OpenAI categories")
    out: dict[str, tuple[str, ...]] = {}
    for name, targets in raw.items():
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise DataFormatError(path, f"{section}.{name}: expected a list of OpenAI category names")
        bad = [t for t in targets if t not in OPENAI_CATEGORIES]
        if bad:
            raise DataFormatError(path, f"{section}.{name}: {bad} are not OpenAI categories; "
                                  f"use some of {', '.join(OPENAI_CATEGORIES)}")
        out[str(name)] = tuple(targets)
    return out


def load_category_table(path: str | Path | None = None) -> CategoryTable:
    """Read and validate a category table (default: the shipped ``openai_categories.yaml``)."""
    if path is None:
        return _default_table()
    return _read(Path(path))


@cache
def _default_table() -> CategoryTable:
    return _read(TABLE_FILE)


def _read(path: Path) -> CategoryTable:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataFormatError(path, f"cannot read the category table ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise DataFormatError(path, f"invalid YAML: {error}") from None
    if not isinstance(data, Mapping):
        raise DataFormatError(path, "expected a mapping with openai_categories, harmscope and air_2024")
    listed = data.get("openai_categories")
    if listed is not None and tuple(listed) != OPENAI_CATEGORIES:
        raise DataFormatError(path, f"openai_categories must list exactly {', '.join(OPENAI_CATEGORIES)}")
    return CategoryTable(harmscope=_targets(path, "harmscope", data.get("harmscope") or {}),
                         air_2024=_targets(path, "air_2024", data.get("air_2024") or {}), file=path)


def resolve_categories(categories: Sequence[str], table: CategoryTable | None = None) -> CategoryMapping:
    """Resolve a detector's ``categories_`` against ``table`` (default: the shipped table)."""
    table = table or load_category_table()
    targets: dict[str, tuple[str, ...]] = {}
    unmapped: list[str] = []
    for category in categories:
        found = table.lookup(category)
        if found is None:
            unmapped.append(category)
            found = ()
        targets[category] = found
    return CategoryMapping(targets=targets, unmapped=tuple(unmapped))
