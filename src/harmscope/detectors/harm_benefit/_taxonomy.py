"""Category hierarchies of the harm-benefit tree, loaded from the YAML files shipped in this package.

Four hierarchies: harmful actions (AIR-2024, levels 1-3), harmful effects (7 groups / 15 categories),
beneficial actions (12 flat categories, harmscope's own) and beneficial effects (7 groups / 15 categories).
Each knows at which level weights apply (``weight_level``) and matches loose text written by an LLM
("##Content Safety Risks## #Violence & Extremism# 9. Violent acts") to a canonical category name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from harmscope.errors import DataFormatError

MatchHow = Literal["exact", "normalized", "alias", "number", "fuzzy", "substring", "keyword", "fallback"]

_NUMBER_PREFIX = re.compile(r"^\s*(\d{1,2})\s*[.):-]?\s*")
_MARKUP = re.compile(r"(#{1,2})\s*([^#]+?)\s*\1")


def normalize(text: str) -> str:
    """Lower-case, ``&`` -> ``and``, punctuation and markup folded to single spaces, for loose comparison."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Category:
    """One node of a hierarchy."""

    name: str
    level: int
    """1 = top; deeper levels count up."""
    parent: str | None
    number: int | None = None
    """1-based position among the leaves, as numbered in the SafetyAnalyst prompts (leaves only)."""


@dataclass(frozen=True)
class Match:
    """How a piece of text was matched to a category."""

    name: str
    how: MatchHow


@dataclass(frozen=True)
class Hierarchy:
    """A category tree with the level at which weights apply.

    ``slots`` are the categories a tree may name: every category at ``weight_level`` or deeper. A slot's weight
    is its own entry in a weight table if present (an override), else the weight of its ancestor at
    ``weight_level``.
    """

    kind: str
    """Human name used in messages ("harmful action", "harmful effect", ...)."""
    categories: tuple[Category, ...]
    weight_level: int
    aliases: Mapping[str, str]
    source: str
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fallback: str | None = None
    """Category for text that matches nothing (beneficial actions only)."""
    _by_name: dict[str, Category] = field(init=False, repr=False, compare=False)
    _index: dict[str, str] = field(init=False, repr=False, compare=False)
    _numbers: dict[int, str] = field(init=False, repr=False, compare=False)
    _slots: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {c.name: c for c in self.categories}
        if len(by_name) != len(self.categories):
            raise ValueError(f"{self.kind}: duplicate category names")
        index: dict[str, str] = {}
        for c in self.categories:
            index.setdefault(normalize(c.name), c.name)
        for alias, target in self.aliases.items():
            if target not in by_name:
                raise ValueError(f"{self.kind}: alias {alias!r} points to unknown {target!r}")
            index.setdefault(normalize(alias), target)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_slots", frozenset(c.name for c in self.categories
                                                     if c.level >= self.weight_level))
        object.__setattr__(self, "_numbers", {c.number: c.name for c in self.categories if c.number is not None})

    # -- structure -------------------------------------------------------------------------------------
    def get(self, name: str) -> Category:
        """The category called exactly ``name`` (KeyError otherwise)."""
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def names(self, level: int | None = None) -> list[str]:
        """Category names in file order, optionally only those at ``level``."""
        return [c.name for c in self.categories if level is None or c.level == level]

    @property
    def weight_names(self) -> list[str]:
        """Names that carry a weight by default (the categories at ``weight_level``)."""
        return self.names(self.weight_level)

    @property
    def slots(self) -> list[str]:
        """Names a tree may use: categories at ``weight_level`` or deeper, in file order."""
        return [c.name for c in self.categories if c.level >= self.weight_level]

    def is_slot(self, name: str) -> bool:
        """True when a tree may name ``name`` (a category at ``weight_level`` or deeper)."""
        return name in self._slots

    def children(self, name: str) -> list[str]:
        return [c.name for c in self.categories if c.parent == name]

    def lineage(self, name: str) -> list[str]:
        """``name`` then its ancestors up to the top."""
        out = [name]
        parent = self.get(name).parent
        while parent is not None:
            out.append(parent)
            parent = self.get(parent).parent
        return out

    def weight_key(self, name: str) -> str:
        """The ancestor of ``name`` (or itself) at ``weight_level``; ValueError above that level."""
        for n in self.lineage(name):
            if self.get(n).level == self.weight_level:
                return n
        raise ValueError(f"{self.kind} {name!r} is above the weight level; name a more specific category")

    def below_weight_level(self, name: str) -> list[str]:
        """Weight-level categories under ``name`` (for a category above the weight level)."""
        return [c for c in self.weight_names if name in self.lineage(c)]

    # -- matching --------------------------------------------------------------------------------------
    def close_matches(self, text: str, n: int = 3) -> list[str]:
        """Up to ``n`` canonical names that look like ``text`` (for error messages)."""
        index = self._index
        hits = difflib.get_close_matches(normalize(text), list(index), n=n * 2, cutoff=0.5)
        out: list[str] = []
        for h in hits:
            if index[h] not in out:
                out.append(index[h])
        return out[:n]

    def match(self, text: str) -> Match | None:
        """The category ``text`` names, trying (in order) exact name, normalized name or alias, the most
        specific ``#markup#`` segment, a leading number, a close spelling, a weight-level name contained in
        the text, and keywords; then the fallback category if any. None when nothing fits."""
        if text in self:
            return Match(text, "exact")
        index = self._index
        segments = self._segments(text)
        for seg in segments:  # most specific first
            key = normalize(_NUMBER_PREFIX.sub("", seg))
            if key in index:
                target = index[key]
                how: MatchHow = "normalized" if normalize(target) == key else "alias"
                return Match(target, how)
        for seg in segments:
            m = _NUMBER_PREFIX.match(seg)
            numbers = self._numbers
            if m and int(m.group(1)) in numbers and not normalize(seg[m.end():]):
                return Match(numbers[int(m.group(1))], "number")
        for seg in segments:
            key = normalize(_NUMBER_PREFIX.sub("", seg))
            close = difflib.get_close_matches(key, list(index), n=1, cutoff=0.85) if key else []
            if close:
                return Match(index[close[0]], "fuzzy")
        for seg in segments:  # a numbered leaf whose name was paraphrased: trust the number
            m = _NUMBER_PREFIX.match(seg)
            numbers = self._numbers
            if m and int(m.group(1)) in numbers:
                return Match(numbers[int(m.group(1))], "number")
        norm = f" {normalize(text)} "
        contained = [n for n in self.slots if f" {normalize(n)} " in norm]
        if contained:  # prefer the deepest, then the longest name
            best = max(contained, key=lambda n: (self.get(n).level, len(n)))
            return Match(best, "substring")
        if self.keywords:
            scores = {n: sum(1 for k in kws if f" {k}" in norm) for n, kws in self.keywords.items()}
            best_kw = max(scores, key=lambda n: scores[n])
            if scores[best_kw] > 0:
                return Match(best_kw, "keyword")
        if self.fallback is not None and normalize(text):
            return Match(self.fallback, "fallback")
        return None

    @staticmethod
    def _segments(text: str) -> list[str]:
        """``"##A## #B# 9. C"`` -> ``["9. C", "B", "A"]`` (most specific first); plain text -> ``[text]``."""
        marked = [m.group(2) for m in _MARKUP.finditer(text)]
        rest = _MARKUP.sub(" ", text).strip(" :-|>/")
        segs = ([rest] if rest else []) + marked[::-1]
        return segs or [text]


@dataclass(frozen=True)
class Taxonomies:
    """The four hierarchies a harm-benefit tree uses."""

    harm_actions: Hierarchy
    harm_effects: Hierarchy
    benefit_actions: Hierarchy
    benefit_effects: Hierarchy

    def actions(self, kind: Literal["harm", "benefit"]) -> Hierarchy:
        return self.harm_actions if kind == "harm" else self.benefit_actions

    def effects(self, kind: Literal["harm", "benefit"]) -> Hierarchy:
        return self.harm_effects if kind == "harm" else self.benefit_effects


def _load_yaml(name: str) -> Any:
    path = resources.files("harmscope.detectors.harm_benefit").joinpath(name)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataFormatError(str(path), f"invalid YAML: {exc}") from exc


def _source_text(src: Any) -> str:
    if isinstance(src, Mapping):
        return " ".join(str(v) for v in src.values())
    return str(src)


def _tree_hierarchy(kind: str, tree: Mapping[str, Any], weight_level: int, aliases: Mapping[str, str],
                    source: str) -> Hierarchy:
    cats: list[Category] = []
    leaf_number = 0

    def walk(node: Any, parent: str | None, level: int) -> None:
        nonlocal leaf_number
        if isinstance(node, Mapping):
            for name, sub in node.items():
                cats.append(Category(str(name), level, parent))
                walk(sub, str(name), level + 1)
        else:
            for name in node:
                leaf_number += 1
                cats.append(Category(str(name), level, parent, leaf_number))

    walk(tree, None, 1)
    return Hierarchy(kind, tuple(cats), weight_level, dict(aliases), source)


@cache
def load_taxonomies() -> Taxonomies:
    """The hierarchies from the package's YAML files (air_2024.yaml, effects.yaml, benefit_actions.yaml)."""
    air = _load_yaml("air_2024.yaml")
    eff = _load_yaml("effects.yaml")
    ben = _load_yaml("benefit_actions.yaml")
    harm_actions = _tree_hierarchy("harmful action (AIR-2024)", air["categories"], int(air["weight_level"]),
                                   air.get("aliases") or {}, _source_text(air["source"]))
    harm_effects = _tree_hierarchy("harmful effect", eff["harm"], int(eff["weight_level"]),
                                   (eff.get("aliases") or {}).get("harm") or {}, _source_text(eff["source"]))
    benefit_effects = _tree_hierarchy("beneficial effect", eff["benefit"], int(eff["weight_level"]),
                                      (eff.get("aliases") or {}).get("benefit") or {},
                                      _source_text(eff["source"]))
    ben_cats = tuple(Category(str(n), 1, None, i + 1) for i, n in enumerate(ben["categories"]))
    keywords = {str(n): tuple(normalize(k) for k in (v.get("keywords") or []))
                for n, v in ben["categories"].items()}
    benefit_actions = Hierarchy("beneficial action", ben_cats, 1, {}, _source_text(ben["source"]),
                                keywords={k: v for k, v in keywords.items() if v}, fallback=str(ben["fallback"]))
    return Taxonomies(harm_actions, harm_effects, benefit_actions, benefit_effects)
