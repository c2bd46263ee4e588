"""The offline ``taxonomy`` tree generator: harm-benefit trees from learned predictors on sentence
embeddings, with no LLM.

An LLM-written SafetyAnalyst tree reads the prompt and writes stakeholders, actions and effects. This
generator approximates that with three predictors on an embedding x (shape (dim,)) of the prompt and two
hand-written tables:

* ``p_unsafe(x)``: a logistic-regression gate, P(the prompt asks for harmful help), trained on binary labels;
* ``q(c | x)``: a multinomial logistic regression over harm categories, trained on the category labels of
  training-side datasets after mapping each source taxonomy to AIR-2024 (``_air_mappings/*.yaml``);
* a zero-shot benefit: the beneficial-action category whose description embeds closest to the prompt;
* ``_action_effects.yaml``: AIR level-2 action -> (stakeholder, effect, immediacy, typical extent) rows, and
  the benefits of the benign reading of a prompt in that category.

``build_tree`` turns these signals into a tree: the most probable AIR categories become harmful actions
(likelihood from the calibrated probability, extent from the table, lowered when the prompt is probably
benign); benefits for the benign reading get a likelihood from 1 − p_unsafe. The trees carry no more
information than the three predictors; see docs/safety-analyst.md for what this leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from harmscope.detectors.harm_benefit._generator import TreeResult
from harmscope.detectors.harm_benefit._taxonomy import load_taxonomies
from harmscope.detectors.harm_benefit._tree import (
    EXTENTS,
    Action,
    Effect,
    Extent,
    HarmBenefitTree,
    Likelihood,
    Stakeholder,
)
from harmscope.errors import DataFormatError, HarmscopeError

_PACKAGE = "harmscope.detectors.harm_benefit"


# ----------------------------------------------------------------------------------------------------------
# Source taxonomy -> AIR-2024 mapping tables
# ----------------------------------------------------------------------------------------------------------

class UnmappedCategoryError(HarmscopeError, KeyError):
    """A source emitted a category its AIR mapping table does not list."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class AirMappingTable:
    """One source taxonomy's mapping onto AIR-2024, as read from ``_air_mappings/<taxonomy>.yaml``."""

    taxonomy: str
    title: str
    url: str
    applies_to: tuple[str, ...]
    """Registered dataset names; a name also covers its ``name/part`` sources."""
    mapping: Mapping[str, str | None]
    """Exact source category string -> AIR-2024 level-2 or level-3 name, or None (no AIR category fits)."""
    file: str

    def level2(self, category: str) -> str | None:
        """The AIR level-2 name of a source category (None when the table maps it to null)."""
        if category not in self.mapping:
            raise UnmappedCategoryError(f"category {category!r} is not in the AIR mapping table {self.file}; "
                                        "add it there (to an AIR-2024 name or null)")
        target = self.mapping[category]
        return None if target is None else load_taxonomies().harm_actions.weight_key(target)


def _read_yaml(name: str) -> tuple[Any, str]:
    path = resources.files(_PACKAGE).joinpath(name)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), str(path)
    except yaml.YAMLError as exc:
        raise DataFormatError(str(path), f"invalid YAML: {exc}") from exc


@cache
def air_mapping_tables() -> Mapping[str, AirMappingTable]:
    """Every AIR mapping table by taxonomy name (``include:`` merged), validated on first use: each target
    must be an AIR-2024 level-2 or level-3 name and each source may be claimed by one table only."""
    folder = resources.files(_PACKAGE).joinpath("_air_mappings")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    raw = {n[:-5]: _read_yaml(f"_air_mappings/{n}") for n in names}
    actions = load_taxonomies().harm_actions
    tables: dict[str, AirMappingTable] = {}
    claimed: dict[str, str] = {}
    for name, (data, path) in raw.items():
        if not isinstance(data, Mapping) or any(k not in data for k in ("taxonomy", "title", "applies_to", "mapping")):
            raise DataFormatError(path, "expected keys taxonomy, title, url, applies_to, mapping")
        if data["taxonomy"] != name:
            raise DataFormatError(path, f"taxonomy {data['taxonomy']!r} must equal the file name {name!r}")
        merged: dict[str, str | None] = {}
        for included in data.get("include") or []:
            if included not in raw:
                raise DataFormatError(path, f"include {included!r} names no table in _air_mappings/")
            merged.update({str(k): v for k, v in (raw[included][0]["mapping"] or {}).items()})
        merged.update({str(k): v for k, v in (data["mapping"] or {}).items()})
        for source_category, target in merged.items():
            if target is not None and not actions.is_slot(str(target)):
                close = actions.close_matches(str(target))
                hint = f"; did you mean: {', '.join(close)}" if close else ""
                raise DataFormatError(path, f"{source_category!r} maps to {target!r}, which is not an AIR-2024 "
                                      f"level-2 or level-3 name{hint}")
        applies = tuple(str(a) for a in data["applies_to"])
        for source in applies:
            if source in claimed:
                raise DataFormatError(path, f"source {source!r} is already mapped by {claimed[source]!r}")
            claimed[source] = name
        tables[name] = AirMappingTable(name, str(data["title"]), str(data.get("url", "")), applies, merged, path)
    return tables


def air_table_for(source: str) -> AirMappingTable | None:
    """The table for a record's ``source`` (``"aart"``, ``"harmbench/standard"``), most specific
    ``applies_to`` first; None when the source has no category taxonomy mapped to AIR."""
    best: tuple[int, AirMappingTable] | None = None
    for table in air_mapping_tables().values():
        for name in table.applies_to:
            if (source == name or source.startswith(name + "/")) and (best is None or len(name) > best[0]):
                best = (len(name), table)
    return best[1] if best else None


def air_category(source: str, category: str | None) -> str | None:
    """AIR level-2 name of ``category`` as the loader of ``source`` emits it; None when there is no
    category, no table for the source, or the table maps it to null. Unlisted strings raise
    ``UnmappedCategoryError`` so that a loader change cannot silently drop labels."""
    if category is None:
        return None
    table = air_table_for(source)
    return None if table is None else table.level2(category)


def resolve_air_action(name: str) -> str | None:
    """The AIR level-2 name a category name denotes (exact name, normalised name or alias, at level 2 or
    deeper), else None. Used to read ``fit(..., categories=...)`` labels as AIR categories."""
    actions = load_taxonomies().harm_actions
    match = actions.match(name)
    if match is None or match.how not in ("exact", "normalized", "alias") or not actions.is_slot(match.name):
        return None
    return actions.weight_key(match.name)


# ----------------------------------------------------------------------------------------------------------
# Action -> effect table
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EffectTemplate:
    """One row of the action -> effect table."""

    stakeholder: str
    effect: str
    immediacy: bool
    extent: Extent
    """Typical severity when the effect happens."""


@dataclass(frozen=True)
class ActionEffects:
    """``_action_effects.yaml``: what each harmful and beneficial action leads to."""

    harm: Mapping[str, tuple[EffectTemplate, ...]]
    """AIR level-2 name -> effect rows (every level-2 category present)."""
    benign_benefits: Mapping[str, tuple[str, ...]]
    """AIR level-2 name -> beneficial actions of the benign reading of a prompt in that category."""
    benefit: Mapping[str, tuple[EffectTemplate, ...]]
    """Beneficial action -> effect rows (every beneficial action present)."""
    always_benefits: tuple[str, ...]
    """Beneficial actions every tree gets (answering gives information)."""


def _templates(rows: Any, kind: str, where: str, path: str) -> tuple[EffectTemplate, ...]:
    effects = load_taxonomies().effects(kind)  # type: ignore[arg-type]
    out = []
    for i, row in enumerate(rows or []):
        if not isinstance(row, Mapping) or set(row) != {"stakeholder", "effect", "immediacy", "extent"}:
            raise DataFormatError(path, f"{where}[{i}]: needs exactly stakeholder, effect, immediacy, extent")
        if not effects.is_slot(str(row["effect"])):
            raise DataFormatError(path, f"{where}[{i}]: {row['effect']!r} is not a {effects.kind}")
        if row["extent"] not in EXTENTS or not isinstance(row["immediacy"], bool):
            raise DataFormatError(path, f"{where}[{i}]: extent must be one of {EXTENTS}, immediacy a bool")
        out.append(EffectTemplate(str(row["stakeholder"]), str(row["effect"]), bool(row["immediacy"]),
                                  row["extent"]))
    if not out:
        raise DataFormatError(path, f"{where}: needs at least one effect row")
    return tuple(out)


@cache
def load_action_effects() -> ActionEffects:
    """The action -> effect table, checked against the taxonomies (every AIR level-2 category and every
    beneficial action must have rows; every name must exist)."""
    data, path = _read_yaml("_action_effects.yaml")
    tax = load_taxonomies()
    l2 = tax.harm_actions.weight_names
    benefits = tax.benefit_actions.slots
    harm_raw, ben_raw = data.get("harm") or {}, data.get("benefit") or {}
    missing = [n for n in l2 if n not in harm_raw] + [n for n in benefits if n not in ben_raw]
    unknown = [n for n in harm_raw if n not in l2] + [n for n in ben_raw if n not in benefits]
    if missing or unknown:
        raise DataFormatError(path, f"missing actions {missing}; unknown actions {unknown}")
    harm = {n: _templates(harm_raw[n].get("effects"), "harm", f"harm.{n}", path) for n in l2}
    benign: dict[str, tuple[str, ...]] = {}
    for n in l2:
        names = tuple(str(b) for b in harm_raw[n].get("benign_benefits") or [])
        bad = [b for b in names if b not in benefits]
        if bad:
            raise DataFormatError(path, f"harm.{n}.benign_benefits: {bad} are not beneficial actions")
        benign[n] = names
    always = tuple(str(b) for b in data.get("always_benefits") or [])
    if any(b not in benefits for b in always):
        raise DataFormatError(path, f"always_benefits: {list(always)} must be beneficial actions")
    return ActionEffects(harm, benign, {n: _templates(ben_raw[n], "benefit", f"benefit.{n}", path)
                                        for n in benefits}, always)


def benefit_descriptions() -> list[tuple[str, str]]:
    """(beneficial action, text to embed) for the zero-shot benefit choice; the catch-all is left out."""
    data, _ = _read_yaml("benefit_actions.yaml")
    fallback = str(data["fallback"])
    return [(str(name), f"{name}: {spec.get('description', '')}") for name, spec in data["categories"].items()
            if str(name) != fallback]


# ----------------------------------------------------------------------------------------------------------
# Signals -> tree
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signals:
    """What the predictors say about one prompt."""

    p_unsafe: float
    """Calibrated P(the prompt asks for harmful help), from the gate."""
    categories: tuple[tuple[str, float], ...]
    """(AIR level-2 name, P(category | unsafe)) pairs, most probable first; probabilities sum to 1."""
    benefit: str
    """The beneficial action whose description is closest to the prompt (zero-shot)."""


@dataclass(frozen=True)
class TreeOptions:
    """How signals become a tree (documented in docs/safety-analyst.md)."""

    max_harm_actions: int = 2
    """At most this many AIR categories become harmful actions."""
    min_category_share: float = 0.2
    """A category other than the most probable one needs at least this P(category | unsafe)."""
    min_harm_probability: float = 0.05
    """A harmful action needs p_unsafe · q(c) / max q ≥ this (otherwise the tree names no harm)."""


def likelihood_band(p: float) -> Likelihood:
    """The paper's bands: below 0.3 low, 0.3–0.7 medium, above 0.7 high."""
    return "low" if p < 0.3 else ("medium" if p <= 0.7 else "high")


def _lower(extent: Extent, steps: int) -> Extent:
    return EXTENTS[max(0, EXTENTS.index(extent) - steps)]


def _actions(templates: Sequence[EffectTemplate], extent_drop: int, likelihood: Likelihood
             ) -> dict[str, tuple[Effect, ...]]:
    """Effect rows grouped by stakeholder, in table order."""
    by_stakeholder: dict[str, list[Effect]] = {}
    for t in templates:
        by_stakeholder.setdefault(t.stakeholder, []).append(
            Effect(effect=t.effect, immediacy=t.immediacy, extent=_lower(t.extent, extent_drop),
                   likelihood=likelihood))
    return {k: tuple(v) for k, v in by_stakeholder.items()}


def build_tree(signals: Signals, options: TreeOptions | None = None,
               table: ActionEffects | None = None) -> HarmBenefitTree:
    """The harm-benefit tree of one prompt from its signals (deterministic).

    Harms: the most probable AIR categories (see ``TreeOptions``); for category c with relative joint
    probability r = p_unsafe · q(c) / max q, every effect row of c in the table gets likelihood band(r) and
    its typical extent, lowered one step when r < 0.5 and two when r < 0.2. Benefits: the always-present
    ones, the benign reading of the top category and the zero-shot benefit, with likelihood band(1 − p_unsafe)
    and the table's extent, lowered one step when 1 − p_unsafe < 0.5.
    """
    opt = options or TreeOptions()
    tab = table or load_action_effects()
    p = float(signals.p_unsafe)
    harms: dict[str, list[Action]] = {}
    benefits: dict[str, list[Action]] = {}
    order: list[str] = []

    def add(into: dict[str, list[Action]], name: str, effects: dict[str, tuple[Effect, ...]]) -> None:
        for stakeholder, effs in effects.items():
            if stakeholder not in harms:
                order.append(stakeholder)
                harms[stakeholder], benefits[stakeholder] = [], []
            into[stakeholder].append(Action(action=name, effects=effs))

    cats = signals.categories
    top_q = cats[0][1] if cats else 0.0
    for i, (name, q) in enumerate(cats[:opt.max_harm_actions]):
        if i > 0 and q < opt.min_category_share:
            break
        r = p * q / top_q if top_q > 0 else 0.0
        if r < opt.min_harm_probability:
            continue
        drop = 0 if r >= 0.5 else (1 if r >= 0.2 else 2)
        add(harms, name, _actions(tab.harm[name], drop, likelihood_band(r)))

    wanted = list(tab.always_benefits)
    if cats:
        wanted += list(tab.benign_benefits[cats[0][0]][:1])
    wanted.append(signals.benefit)
    b = 1.0 - p
    for name in dict.fromkeys(wanted):
        add(benefits, name, _actions(tab.benefit[name], 0 if b >= 0.5 else 1, likelihood_band(b)))
    return HarmBenefitTree(stakeholders=tuple(
        Stakeholder(name=s, harms=tuple(harms[s]), benefits=tuple(benefits[s])) for s in order))


# ----------------------------------------------------------------------------------------------------------
# Learned predictors
# ----------------------------------------------------------------------------------------------------------

def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def _softmax(z: NDArray[np.float64]) -> NDArray[np.float64]:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


def _unit(X: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.asarray(X / np.where(norms > 1e-12, norms, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class TaxonomyPredictors:
    """The fitted predictors as plain arrays (numpy prediction, so save/load is exact and pickle-free)."""

    mean: NDArray[np.float64]
    """(dim,) feature means of the standardiser."""
    scale: NDArray[np.float64]
    """(dim,) feature scales of the standardiser."""
    gate_coef: NDArray[np.float64]
    """(dim,) logistic-regression weights of P(unsafe)."""
    gate_intercept: float
    category_coef: NDArray[np.float64]
    """(k, dim) softmax weights over the k category classes (k may be 0)."""
    category_intercept: NDArray[np.float64]
    """(k,)"""
    category_actions: tuple[str, ...]
    """AIR level-2 name of each category class (several classes may share one)."""
    benefit_names: tuple[str, ...]
    benefit_vectors: NDArray[np.float64]
    """(n_benefits, dim) unit embeddings of the beneficial-action descriptions."""
    fallback_action: str = "Criminal Activities"
    """AIR category of unsafe prompts when there are no category classes."""

    def p_unsafe(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n,) P(unsafe) from embeddings X (n, dim)."""
        Z = (X - self.mean) / self.scale
        return _sigmoid(Z @ self.gate_coef + self.gate_intercept)

    def category_scores(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n, k) P(class | unsafe); rows sum to 1 (shape (n, 0) without classes)."""
        if not self.category_actions:
            return np.zeros((X.shape[0], 0))
        Z = (X - self.mean) / self.scale
        return _softmax(Z @ self.category_coef.T + self.category_intercept)

    def signals(self, X: NDArray[np.float64]) -> list[Signals]:
        """One ``Signals`` per row of X (n, dim)."""
        p = self.p_unsafe(X)
        q = self.category_scores(X)
        sims = _unit(X) @ self.benefit_vectors.T
        out = []
        for i in range(X.shape[0]):
            by_action: dict[str, float] = {}
            for j, action in enumerate(self.category_actions):
                by_action[action] = by_action.get(action, 0.0) + float(q[i, j])
            if not by_action:
                by_action[self.fallback_action] = 1.0
            cats = tuple(sorted(by_action.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append(Signals(float(p[i]), cats, self.benefit_names[int(np.argmax(sims[i]))]))
        return out

    def arrays(self) -> dict[str, NDArray[Any]]:
        return {"tg_mean": self.mean, "tg_scale": self.scale, "tg_gate_coef": self.gate_coef,
                "tg_gate_intercept": np.array([self.gate_intercept]), "tg_cat_coef": self.category_coef,
                "tg_cat_intercept": self.category_intercept, "tg_benefit_vectors": self.benefit_vectors}

    def meta(self) -> dict[str, Any]:
        return {"category_actions": list(self.category_actions), "benefit_names": list(self.benefit_names),
                "fallback_action": self.fallback_action}

    @classmethod
    def restore(cls, meta: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> TaxonomyPredictors:
        f = lambda k: np.asarray(arrays[k], dtype=np.float64)
        return cls(f("tg_mean"), f("tg_scale"), f("tg_gate_coef"), float(f("tg_gate_intercept")[0]),
                   f("tg_cat_coef"), f("tg_cat_intercept"), tuple(meta["category_actions"]),
                   tuple(meta["benefit_names"]), f("tg_benefit_vectors"), str(meta["fallback_action"]))


def fit_predictors(X: NDArray[np.float64], y: NDArray[np.int64], category_index: NDArray[np.int64],
                   category_actions: Sequence[str], benefit_names: Sequence[str],
                   benefit_vectors: NDArray[np.float64], *, C: float = 1.0, category_C: float = 1.0,
                   random_state: int | None = 0, fallback_action: str = "Criminal Activities",
                   max_iter: int = 1000) -> TaxonomyPredictors:
    """Fit the gate on (X (n, dim), y (n,) 0/1) and the category head on the rows whose
    ``category_index`` ≥ 0 (index into ``category_actions``); scikit-learn fits, arrays are kept."""
    from sklearn.linear_model import LogisticRegression

    std = X.std(axis=0)
    mean, scale = X.mean(axis=0), np.where(std > 1e-12, std, 1.0)
    Z = (X - mean) / scale
    gate = LogisticRegression(C=C, max_iter=max_iter, random_state=random_state).fit(Z, y)
    k, dim = len(category_actions), X.shape[1]
    coef, intercept = np.zeros((k, dim)), np.full(k, -30.0)  # absent classes never win
    rows = category_index >= 0
    present = np.unique(category_index[rows])
    if present.size == 1:
        intercept[present[0]] = 0.0
    elif present.size > 1:
        head = LogisticRegression(C=category_C, max_iter=max_iter, random_state=random_state)
        head.fit(Z[rows], category_index[rows])
        classes = head.classes_.astype(np.int64)
        if classes.size == 2:  # one row for two classes: spread it so that softmax == sigmoid
            w, b = head.coef_[0], float(head.intercept_[0])
            coef[classes[0]], coef[classes[1]] = -w / 2, w / 2
            intercept[classes[0]], intercept[classes[1]] = -b / 2, b / 2
        else:
            coef[classes], intercept[classes] = head.coef_, head.intercept_
    return TaxonomyPredictors(mean, scale, gate.coef_[0].astype(np.float64), float(gate.intercept_[0]),
                              coef, intercept, tuple(category_actions), tuple(benefit_names),
                              _unit(np.asarray(benefit_vectors, dtype=np.float64)), fallback_action)


# ----------------------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------------------

class TaxonomyTreeGenerator:
    """A ``TreeGenerator`` that predicts trees offline from embeddings (see the module docstring)."""

    id = "taxonomy"

    def __init__(self, predictors: TaxonomyPredictors, representation: str,
                 options: TreeOptions | None = None) -> None:
        self.predictors = predictors
        self.representation = representation
        self.options = options or TreeOptions()

    def signals(self, prompts: Sequence[str]) -> list[Signals]:
        from harmscope.detectors._features import encode

        return self.predictors.signals(encode(self.representation, list(prompts)))

    def generate(self, prompts: Sequence[str]) -> list[TreeResult]:
        """One tree per prompt, in order (prompt text is only embedded, never logged)."""
        if not prompts:
            return []
        from harmscope.detectors._features import encode

        return self.generate_from_features(encode(self.representation, list(prompts)))

    def generate_from_features(self, X: NDArray[np.float64]) -> list[TreeResult]:
        """Trees from embeddings X (n, dim) already computed with ``representation``."""
        table = load_action_effects()
        return [TreeResult(build_tree(s, self.options, table), self.id) for s in self.predictors.signals(X)]


# ----------------------------------------------------------------------------------------------------------
# Comparing generated trees with reference (e.g. LLM-written) trees
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TreeAgreement:
    """How far generated trees agree with reference trees of the same prompts (means over prompts)."""

    n: int
    harm_action_jaccard: float
    """Jaccard overlap of the AIR level-2 categories of the harmful actions (1 when both name none)."""
    benefit_action_jaccard: float
    harm_effect_jaccard: float
    """Jaccard overlap of the harmful effect groups."""
    max_extent_gap: float
    """Mean absolute difference of the most severe harm extent (steps, 0–3; no harm = −1 step)."""
    per_prompt: tuple[float, ...] = field(default=(), repr=False)
    """Harm-action Jaccard of each prompt."""


def _jaccard(a: set[str], b: set[str]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def compare_trees(generated: Sequence[HarmBenefitTree], reference: Sequence[HarmBenefitTree]) -> TreeAgreement:
    """Agreement of ``generated`` trees with ``reference`` trees (same prompts, same order)."""
    if len(generated) != len(reference):
        raise ValueError(f"got {len(generated)} generated and {len(reference)} reference trees; pair them")
    tax = load_taxonomies()

    def parts(t: HarmBenefitTree) -> tuple[set[str], set[str], set[str], int]:
        refs = t.iter_effects()
        harm_actions = {tax.harm_actions.weight_key(r.action.action) for r in refs if r.kind == "harm"}
        harm_actions |= {tax.harm_actions.weight_key(a.action) for s in t.stakeholders for a in s.harms}
        ben = {a.action for s in t.stakeholders for a in s.benefits}
        effs = {tax.harm_effects.weight_key(r.effect.effect) for r in refs if r.kind == "harm"}
        worst = max((EXTENTS.index(r.effect.extent) for r in refs if r.kind == "harm"), default=-1)
        return harm_actions, ben, effs, worst

    rows = [(parts(g), parts(r)) for g, r in zip(generated, reference, strict=True)]
    per = tuple(_jaccard(g[0], r[0]) for g, r in rows)
    n = len(rows)
    mean = (lambda xs: float(math.fsum(xs) / n) if n else float("nan"))
    return TreeAgreement(n, mean(per), mean([_jaccard(g[1], r[1]) for g, r in rows]),
                         mean([_jaccard(g[2], r[2]) for g, r in rows]),
                         mean([abs(g[3] - r[3]) for g, r in rows]), per)
