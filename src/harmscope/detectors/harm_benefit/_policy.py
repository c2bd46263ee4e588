"""Steering: a policy (YAML) changes named weights or the threshold of fitted parameters, without refitting.

A policy is a partial parameter file::

    name: no-political-moderation            # optional
    description: political persuasion is allowed on this platform   # optional
    action_weights: {Political Usage: 0, Violent Acts: 1.0}   # level-2 name, level-3 override, or a
                                                              # level-1 name (sets all its level-2 children)
    effect_weights: {Ecological harm: 0.5}
    extent_weights: {minor: 0.05}            # merged, then re-checked for monotonicity
    threshold: 0.5

Unknown names are an error that lists close matches.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from harmscope.detectors.harm_benefit._aggregate import WEIGHT_TABLES, Params, ParamsError, table_hierarchy
from harmscope.errors import DataFormatError, DataNotFoundError

_META_KEYS = ("name", "description")


class PolicyError(ParamsError):
    """A policy names something that does not exist or sets an invalid value."""


@dataclass(frozen=True)
class Policy:
    """Named changes to apply to parameters. ``changes`` maps a parameter field to a value (scalars) or to
    a partial table (category, extent and likelihood weights)."""

    changes: Mapping[str, Any]
    name: str = ""
    description: str = ""
    source: str = field(default="policy", compare=False)

    @classmethod
    def from_dict(cls, data: Any, source: str = "policy") -> Policy:
        if not isinstance(data, Mapping):
            raise PolicyError(f"{source}: expected a mapping of parameter names, got {type(data).__name__}")
        allowed = [f.name for f in fields(Params)]
        problems = []
        for key in data:
            if key not in allowed and key not in _META_KEYS:
                close = difflib.get_close_matches(str(key), allowed, n=3, cutoff=0.5)
                hint = f"; did you mean: {', '.join(close)}" if close else ""
                problems.append(f"unknown key {key!r}{hint} (allowed: {', '.join(allowed + list(_META_KEYS))})")
        if problems:
            raise PolicyError(f"{source}: " + "; ".join(problems))
        changes = {k: v for k, v in data.items() if k not in _META_KEYS}
        return cls(changes, str(data.get("name", "")), str(data.get("description", "")), source)


def load_policy(path: str | Path) -> Policy:
    """A policy from a YAML file."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(path, "give the path of a policy YAML file (see docs/safety-analyst.md)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataFormatError(path, f"invalid YAML: {exc}") from exc
    return Policy.from_dict(data, source=str(path))


def apply_policy(params: Params, policy: Policy | Mapping[str, Any]) -> Params:
    """``params`` with the policy's changes applied (validated; nothing is refitted)."""
    pol = policy if isinstance(policy, Policy) else Policy.from_dict(policy)
    problems: list[str] = []
    updates: dict[str, Any] = {}
    for key, value in pol.changes.items():
        if key in WEIGHT_TABLES or key in ("extent_weights", "likelihood_weights"):
            if not isinstance(value, Mapping):
                problems.append(f"{key}: expected a mapping of name -> weight, got {type(value).__name__}")
                continue
            table = dict(getattr(params, key))
            for name, weight in value.items():
                targets = _targets(key, str(name), problems)
                for t in targets:
                    table[t] = weight
            updates[key] = table
        else:
            updates[key] = value
    if problems:
        raise PolicyError(f"{pol.source}: " + "; ".join(problems))
    try:
        return params.with_changes(**updates)
    except ParamsError as exc:
        raise PolicyError(f"{pol.source}: the policy leaves invalid parameters: {exc}") from None


def _targets(table: str, name: str, problems: list[str]) -> list[str]:
    """Entries a policy name sets: itself, or for a category above the weight level its weight-level children."""
    if table in ("extent_weights", "likelihood_weights"):
        levels = ["minor", "significant", "substantial", "major"] if table == "extent_weights" else [
            "low", "medium", "high"]
        if name in levels:
            return [name]
        problems.append(f"{table}: unknown level {name!r}; choose from {', '.join(levels)}")
        return []
    hier = table_hierarchy(table)
    if hier.is_slot(name):
        return [name]
    if name in hier:  # above the weight level: set every weight-level category under it
        return hier.below_weight_level(name)
    close = hier.close_matches(name)
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    problems.append(f"{table}: {name!r} is not a {hier.kind} category{hint}")
    return []
