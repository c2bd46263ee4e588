"""SafetyAnalyst's aggregation model: a harm-benefit tree -> harmfulness score, verdict and explanation.

    score = Σ_harm-effects   A[action] · E[effect] · X[extent] · L[likelihood] · d^(1 − immediate)
          − β · Σ_benefit-effects  B[action] · F[effect] · X[extent] · L[likelihood] · d^(1 − immediate)
          + bias
    probability = sigmoid(score);   verdict = "unsafe" if score > threshold else "safe"

A, E, B, F are category weights (A at AIR-2024 level 2 by default, E and F at effect-group level; a
level-3 / single-category entry in the same table overrides its parent); X and L are monotone weights
in [0, 1] (major = 1, high = 1 after a fit); d = immediacy discount; β = benefit weight. The paper's code
(jl3676/SafetyAnalyst src/aggregation.py) has no bias term and classifies by score > 0; ``bias`` defaults
to 0 and is shown as its own contribution row when non-zero.

``TreeFeaturizer`` turns trees into sparse count matrices over (action, effect, extent, likelihood,
immediacy) cells, so a score is one sparse mat-vec against the outer product of the weight vectors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from scipy import sparse

from harmscope.detectors.harm_benefit._taxonomy import Hierarchy, Taxonomies, load_taxonomies
from harmscope.detectors.harm_benefit._tree import EXTENTS, LIKELIHOODS, HarmBenefitTree, Kind
from harmscope.errors import DataFormatError, DataNotFoundError, HarmscopeError

WEIGHT_TABLES: dict[str, tuple[Kind, Literal["action", "effect"]]] = {
    "action_weights": ("harm", "action"),
    "effect_weights": ("harm", "effect"),
    "benefit_action_weights": ("benefit", "action"),
    "benefit_effect_weights": ("benefit", "effect"),
}
"""Parameter tables of category weights -> (kind, what) they weight."""


class ParamsError(HarmscopeError, ValueError):
    """Aggregation parameters (or a policy) are invalid; the message lists every problem."""


def table_hierarchy(table: str, tax: Taxonomies | None = None) -> Hierarchy:
    """The hierarchy whose categories a weight table is keyed by."""
    tax = tax or load_taxonomies()
    kind, what = WEIGHT_TABLES[table]
    return tax.actions(kind) if what == "action" else tax.effects(kind)


@dataclass(frozen=True)
class Params:
    """Every weight of the aggregation model, by name. Validated on creation (``ParamsError``)."""

    action_weights: Mapping[str, float]
    """AIR-2024 level-2 name -> weight (all 16 required); level-3 names may be added as overrides."""
    effect_weights: Mapping[str, float]
    """Harmful-effect group -> weight (all 7 required); single categories may be added as overrides."""
    benefit_action_weights: Mapping[str, float]
    """Beneficial-action category -> weight (all required)."""
    benefit_effect_weights: Mapping[str, float]
    """Beneficial-effect group -> weight (all 7 required); single categories may be added as overrides."""
    extent_weights: Mapping[str, float]
    """minor ≤ significant ≤ substantial ≤ major, all in [0, 1]."""
    likelihood_weights: Mapping[str, float]
    """low ≤ medium ≤ high, all in [0, 1]."""
    immediacy_discount: float
    """Factor in [0, 1] applied to long-term (non-immediate) effects."""
    benefit_weight: float
    """β ≥ 0: how much the benefit sum counts against the harm sum."""
    bias: float = 0.0
    threshold: float = 0.0
    """Verdict is unsafe when score > threshold."""

    def __post_init__(self) -> None:
        problems = _check_params(self)
        if problems:
            raise ParamsError("invalid aggregation parameters:\n" + "\n".join(f"  {p}" for p in problems))
        for f in fields(self):  # own plain-float copies, so callers' dicts cannot change us later
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                object.__setattr__(self, f.name, {str(k): float(v) for k, v in value.items()})
            else:
                object.__setattr__(self, f.name, float(value))

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict, in the YAML layout (every weight named)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else float(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "parameters") -> Params:
        """Build from a mapping in the YAML layout; unknown or missing keys -> ParamsError naming them."""
        if not isinstance(data, Mapping):
            raise ParamsError(f"{source}: expected a mapping of parameter names, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = [k for k in data if k not in known]
        required = [f.name for f in fields(cls) if f.name not in ("bias", "threshold")]
        missing = [k for k in required if k not in data]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"unknown keys {unknown} (known: {', '.join(known)})")
            if missing:
                parts.append(f"missing keys {missing}")
            raise ParamsError(f"{source}: " + "; ".join(parts))
        try:
            return cls(**{k: data[k] for k in known if k in data})
        except ParamsError as exc:
            raise ParamsError(f"{source}: {exc}") from None

    def with_changes(self, **changes: Any) -> Params:
        """A copy with some fields replaced (validated)."""
        return replace(self, **changes)


def _check_params(p: Params) -> list[str]:
    tax = load_taxonomies()
    problems: list[str] = []
    for table in WEIGHT_TABLES:
        hier = table_hierarchy(table, tax)
        weights = getattr(p, table)
        if not isinstance(weights, Mapping):
            problems.append(f"{table}: expected a mapping of category -> weight")
            continue
        missing = [n for n in hier.weight_names if n not in weights]
        if missing:
            problems.append(f"{table}: missing {', '.join(missing)}")
        for name, value in weights.items():
            if not hier.is_slot(str(name)):
                close = hier.close_matches(str(name))
                hint = f"; did you mean: {', '.join(close)}" if close else ""
                problems.append(f"{table}: {name!r} is not a {hier.kind} category{hint}")
            if not _finite(value) or float(value) < 0:
                problems.append(f"{table}.{name}: {value!r} must be a finite number ≥ 0")
    for table, levels in (("extent_weights", EXTENTS), ("likelihood_weights", LIKELIHOODS)):
        weights = getattr(p, table)
        if not isinstance(weights, Mapping) or set(weights) != set(levels):
            got = list(weights) if isinstance(weights, Mapping) else weights
            problems.append(f"{table}: needs exactly the keys {', '.join(levels)}; got {got}")
            continue
        vals = [weights[k] for k in levels]
        if not all(_finite(v) and 0.0 <= float(v) <= 1.0 for v in vals):
            problems.append(f"{table}: every weight must lie in [0, 1]; got {dict(weights)}")
        elif any(float(a) > float(b) for a, b in itertools.pairwise(vals)):
            problems.append(f"{table}: must not decrease along {' ≤ '.join(levels)}; got {dict(weights)}")
    if not _finite(p.immediacy_discount) or not 0.0 <= float(p.immediacy_discount) <= 1.0:
        problems.append(f"immediacy_discount: {p.immediacy_discount!r} must lie in [0, 1]")
    if not _finite(p.benefit_weight) or float(p.benefit_weight) < 0:
        problems.append(f"benefit_weight: {p.benefit_weight!r} must be a finite number ≥ 0")
    for name in ("bias", "threshold"):
        if not _finite(getattr(p, name)):
            problems.append(f"{name}: {getattr(p, name)!r} must be a finite number")
    return problems


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def default_params() -> Params:
    """The neutral priors in default_weights.yaml (all category weights 1; not fitted)."""
    from importlib import resources

    path = resources.files("harmscope.detectors.harm_benefit").joinpath("default_weights.yaml")
    return Params.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), source=str(path))


def load_params(path: str | Path) -> Params:
    """Parameters from a YAML file written by ``save_params`` (or by hand)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(path, "give the path of a parameter YAML file written by save_params")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataFormatError(path, f"invalid YAML: {exc}") from exc
    return Params.from_dict(data, source=str(path))


def save_params(params: Params, path: str | Path, comment: str | None = None) -> Path:
    """Write ``params`` as readable YAML with every weight named; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# {line}\n" for line in (comment or "").splitlines())
    body = yaml.safe_dump(params.to_dict(), sort_keys=False, allow_unicode=True, width=110)
    path.write_text(header + body, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------------------
# Featurization
# ----------------------------------------------------------------------------------------------------------

N_EXTENT, N_LIKELIHOOD, N_IMMEDIACY = len(EXTENTS), len(LIKELIHOODS), 2
_EXTENT_INDEX: dict[str, int] = {e: i for i, e in enumerate(EXTENTS)}
_LIKELIHOOD_INDEX: dict[str, int] = {e: i for i, e in enumerate(LIKELIHOODS)}


@dataclass(frozen=True)
class TreeFeatures:
    """Count matrices of a batch of trees. Column = one (action slot, effect slot, extent, likelihood,
    immediacy) cell in C order over ``TreeFeaturizer.shape(kind)``; immediacy index 0 = long-term, 1 = immediate.
    """

    harm: sparse.csr_matrix
    """(n_trees, n_harm_cells) float64 counts of harmful effects."""
    benefit: sparse.csr_matrix
    """(n_trees, n_benefit_cells) float64 counts of beneficial effects."""

    @property
    def n(self) -> int:
        return int(self.harm.shape[0])

    def __len__(self) -> int:
        return self.n

    def rows(self, index: Sequence[int] | np.ndarray) -> TreeFeatures:
        """The features of a subset of trees (e.g. a train/validation split)."""
        idx = np.asarray(index)
        return TreeFeatures(self.harm[idx], self.benefit[idx])


def slot_weights(hier: Hierarchy, table: Mapping[str, float]) -> np.ndarray:
    """Weight of every slot of ``hier`` (shape (n_slots,)): its own entry, else its nearest ancestor's."""
    out = np.empty(len(hier.slots))
    for i, name in enumerate(hier.slots):
        out[i] = next(table[n] for n in hier.lineage(name) if n in table)
    return out


@dataclass(frozen=True)
class WeightVectors:
    """The factor vectors of the model for one kind (harm or benefit)."""

    action: np.ndarray
    """(n_action_slots,)"""
    effect: np.ndarray
    """(n_effect_slots,)"""
    extent: np.ndarray
    """(4,) minor..major"""
    likelihood: np.ndarray
    """(3,) low..high"""
    immediacy: np.ndarray
    """(2,) [discount, 1]: long-term, immediate"""

    def outer(self) -> np.ndarray:
        """Weight of every cell, flattened in the column order of ``TreeFeatures`` (shape (n_cells,))."""
        w = np.einsum("a,e,x,l,t->aexlt", self.action, self.effect, self.extent, self.likelihood,
                      self.immediacy, optimize=True)
        return w.reshape(-1)


@dataclass
class TreeFeaturizer:
    """Trees -> ``TreeFeatures``; parameters -> cell weights. Shapes are fixed by the taxonomies, so features
    from different batches are compatible."""

    taxonomies: Taxonomies = field(default_factory=load_taxonomies)

    def __post_init__(self) -> None:
        t = self.taxonomies
        self._slot_index = {
            (kind, what): {n: i for i, n in enumerate(h.slots)}
            for kind in ("harm", "benefit")
            for what, h in (("action", t.actions(kind)), ("effect", t.effects(kind)))
        }

    def shape(self, kind: Kind) -> tuple[int, int, int, int, int]:
        """(action slots, effect slots, 4 extents, 3 likelihoods, 2 immediacy)."""
        return (len(self._slot_index[(kind, "action")]), len(self._slot_index[(kind, "effect")]),
                N_EXTENT, N_LIKELIHOOD, N_IMMEDIACY)

    def n_cells(self, kind: Kind) -> int:
        return int(np.prod(self.shape(kind)))

    def cell(self, kind: Kind, action: str, effect: str, extent: str, likelihood: str, immediate: bool) -> int:
        """Column index of one effect."""
        a = self._slot_index[(kind, "action")][action]
        e = self._slot_index[(kind, "effect")][effect]
        return int(np.ravel_multi_index(
            (a, e, _EXTENT_INDEX[extent], _LIKELIHOOD_INDEX[likelihood], int(immediate)), self.shape(kind)))

    def transform(self, trees: Sequence[HarmBenefitTree]) -> TreeFeatures:
        """Count every effect of every tree into its cell."""
        mats = {}
        for kind in ("harm", "benefit"):
            rows: list[int] = []
            cols: list[int] = []
            shape = self.shape(kind)
            a_idx, e_idx = self._slot_index[(kind, "action")], self._slot_index[(kind, "effect")]
            strides = np.cumprod((1,) + shape[::-1])[::-1][1:]
            s_a, s_e, s_x, s_l = (int(s) for s in strides[:4])
            for r, tree in enumerate(trees):
                for st in tree.stakeholders:
                    for act in (st.harms if kind == "harm" else st.benefits):
                        base = a_idx[act.action] * s_a
                        for eff in act.effects:
                            rows.append(r)
                            cols.append(base + e_idx[eff.effect] * s_e + _EXTENT_INDEX[eff.extent] * s_x
                                        + _LIKELIHOOD_INDEX[eff.likelihood] * s_l + int(eff.immediacy))
            data = np.ones(len(rows))
            mats[kind] = sparse.csr_matrix((data, (rows, cols)), shape=(len(trees), int(np.prod(shape))))
            mats[kind].sum_duplicates()
        return TreeFeatures(mats["harm"], mats["benefit"])

    def weights(self, params: Params, kind: Kind) -> WeightVectors:
        """The factor vectors of ``params`` for one kind."""
        t = self.taxonomies
        table_a = params.action_weights if kind == "harm" else params.benefit_action_weights
        table_e = params.effect_weights if kind == "harm" else params.benefit_effect_weights
        return WeightVectors(
            action=slot_weights(t.actions(kind), table_a),
            effect=slot_weights(t.effects(kind), table_e),
            extent=np.array([params.extent_weights[k] for k in EXTENTS]),
            likelihood=np.array([params.likelihood_weights[k] for k in LIKELIHOODS]),
            immediacy=np.array([params.immediacy_discount, 1.0]),
        )

    def scores(self, features: TreeFeatures, params: Params) -> np.ndarray:
        """Harmfulness scores, shape (n_trees,) float64."""
        harm = features.harm @ self.weights(params, "harm").outer()
        benefit = features.benefit @ self.weights(params, "benefit").outer()
        return np.asarray(harm - params.benefit_weight * benefit + params.bias, dtype=np.float64)


# ----------------------------------------------------------------------------------------------------------
# Model and explanations
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contribution:
    """What one effect (or the bias) adds to the score. Benefit contributions are negative."""

    stakeholder: str
    kind: Literal["harm", "benefit", "bias"]
    action: str
    effect: str
    value: float
    path: str = ""
    """Where the effect sits in the tree (``stakeholders[0].harms[1].effects[0]``); empty for the bias."""


@dataclass(frozen=True)
class Explanation:
    """A verdict with the contributions that make it up (they sum to ``score`` up to float rounding)."""

    score: float
    threshold: float
    probability: float
    """sigmoid(score); independent of the threshold."""
    contributions: tuple[Contribution, ...]

    @property
    def verdict(self) -> Literal["safe", "unsafe"]:
        return "unsafe" if self.score > self.threshold else "safe"

    def totals(self, by: Literal["stakeholder", "kind", "action", "effect"]) -> dict[str, float]:
        """Contributions summed per stakeholder, kind, action or effect, largest magnitude first."""
        out: dict[str, float] = {}
        for c in self.contributions:
            key = getattr(c, by)
            out[key] = out.get(key, 0.0) + c.value
        return dict(sorted(out.items(), key=lambda kv: -abs(kv[1])))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: verdict, score, threshold, probability, contributions."""
        return {
            "verdict": self.verdict,
            "score": self.score,
            "threshold": self.threshold,
            "probability": self.probability,
            "contributions": [
                {"stakeholder": c.stakeholder, "kind": c.kind, "action": c.action, "effect": c.effect,
                 "value": c.value, "path": c.path}
                for c in self.contributions
            ],
        }


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function, same shape as ``x``."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64))))


class HarmBenefitModel:
    """Scores, verdicts and explanations of harm-benefit trees under fixed parameters (no fitting here; see
    ``fit_lbfgs`` / ``fit_de``; steer with ``apply_policy``)."""

    def __init__(self, params: Params | None = None, featurizer: TreeFeaturizer | None = None) -> None:
        self.params = params or default_params()
        self.featurizer = featurizer or TreeFeaturizer()

    def _features(self, trees: Sequence[HarmBenefitTree] | TreeFeatures) -> TreeFeatures:
        return trees if isinstance(trees, TreeFeatures) else self.featurizer.transform(trees)

    def scores(self, trees: Sequence[HarmBenefitTree] | TreeFeatures) -> np.ndarray:
        """Harmfulness scores, shape (n,)."""
        return self.featurizer.scores(self._features(trees), self.params)

    def probabilities(self, trees: Sequence[HarmBenefitTree] | TreeFeatures) -> np.ndarray:
        """sigmoid(score), shape (n,): the model's probability that each prompt is unsafe."""
        return sigmoid(self.scores(trees))

    def predict(self, trees: Sequence[HarmBenefitTree] | TreeFeatures) -> np.ndarray:
        """Verdicts, shape (n,) bool: True = unsafe (score > threshold)."""
        return self.scores(trees) > self.params.threshold

    def explain(self, tree: HarmBenefitTree) -> Explanation:
        """Per-effect contributions of one tree, plus a bias row when the bias is non-zero."""
        p, t = self.params, self.featurizer.taxonomies
        vec = {kind: self.featurizer.weights(p, kind) for kind in ("harm", "benefit")}
        index = {(kind, what): {n: i for i, n in enumerate(h.slots)}
                 for kind in ("harm", "benefit")
                 for what, h in (("action", t.actions(kind)), ("effect", t.effects(kind)))}
        rows: list[Contribution] = []
        for ref in tree.iter_effects():
            w, eff = vec[ref.kind], ref.effect
            value = (w.action[index[(ref.kind, "action")][ref.action.action]]
                     * w.effect[index[(ref.kind, "effect")][eff.effect]]
                     * w.extent[_EXTENT_INDEX[eff.extent]] * w.likelihood[_LIKELIHOOD_INDEX[eff.likelihood]]
                     * w.immediacy[int(eff.immediacy)])
            if ref.kind == "benefit":
                value = -p.benefit_weight * value
            rows.append(Contribution(ref.stakeholder, ref.kind, ref.action.action, eff.effect, float(value),
                                     ref.path))
        if p.bias != 0.0:
            rows.append(Contribution("", "bias", "", "", p.bias))
        score = math.fsum(c.value for c in rows)
        return Explanation(score=score, threshold=p.threshold, probability=float(sigmoid(np.array(score))),
                           contributions=tuple(rows))
