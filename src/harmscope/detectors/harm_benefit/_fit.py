"""Fit the aggregation parameters to labelled trees by minimising the mean negative log-likelihood
NLL = mean(log(1 + exp(s)) − y·s) of the labels under p = sigmoid(score).

Parameterisation (all free coordinates live in a box, so both optimisers only need bounds):
category weights, immediacy discount and benefit weight in [0, 1] (as in the paper's code); extent and
likelihood weights as cumulative products of ratios in [0, 1] (major = 1, substantial = u3,
significant = u3·u2, minor = u3·u2·u1; high = 1, medium = v2, low = v2·v1), which keeps them monotone and
in [0, 1] by construction (the paper's ``unpack_params`` does the same); optional bias in
[−bias_bound, bias_bound]. Category overrides (level-3 entries) stay fixed at their given values.

``fit_de`` runs scipy's differential evolution as the paper does (seeded, vectorised over the population);
``fit_lbfgs`` runs L-BFGS-B with exact numpy gradients, which is much faster.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, sparse

from harmscope.detectors.harm_benefit._aggregate import (
    WEIGHT_TABLES,
    Params,
    TreeFeatures,
    TreeFeaturizer,
    default_params,
    sigmoid,
    table_hierarchy,
)
from harmscope.detectors.harm_benefit._tree import EXTENTS, LIKELIHOODS, HarmBenefitTree, Kind
from harmscope.errors import HarmscopeError

Block = Literal["action_weights", "effect_weights", "benefit_action_weights", "benefit_effect_weights",
                "extent_weights", "likelihood_weights", "immediacy_discount", "benefit_weight", "bias"]
ALL_BLOCKS: tuple[Block, ...] = ("action_weights", "effect_weights", "benefit_action_weights",
                                 "benefit_effect_weights", "extent_weights", "likelihood_weights",
                                 "immediacy_discount", "benefit_weight", "bias")
DEFAULT_FREE: tuple[Block, ...] = ALL_BLOCKS[:-1]
"""Fitted by default: everything but the bias (the paper fits no bias)."""


class FitError(HarmscopeError, ValueError):
    """Bad input to a fit (e.g. labels of the wrong length or a single class)."""


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters and how the fit went."""

    params: Params
    method: Literal["lbfgs", "de"]
    nll: float
    """Mean negative log-likelihood on the training trees at the fitted parameters."""
    seconds: float
    n_evaluations: int
    n_iterations: int
    converged: bool
    message: str


@dataclass(frozen=True)
class Metrics:
    """Binary metrics of verdicts against labels (unsafe = positive)."""

    n: int
    f1: float
    precision: float
    recall: float
    accuracy: float
    nll: float


def evaluate(params: Params, features: TreeFeatures, y: Sequence[Any] | np.ndarray,
             featurizer: TreeFeaturizer | None = None) -> Metrics:
    """F1 / precision / recall / accuracy of ``score > threshold`` and mean NLL of sigmoid(score)."""
    yv = as_labels(y, features.n)
    s = (featurizer or TreeFeaturizer()).scores(features, params)
    pred = s > params.threshold
    tp = float(np.sum(pred & (yv == 1)))
    fp = float(np.sum(pred & (yv == 0)))
    fn = float(np.sum(~pred & (yv == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(n=features.n, f1=f1, precision=precision, recall=recall,
                   accuracy=float(np.mean(pred == (yv == 1))), nll=float(np.mean(_nll_terms(s, yv))))


def as_labels(y: Sequence[Any] | np.ndarray, n: int) -> np.ndarray:
    """Labels as a float64 0/1 vector of shape (n,); accepts 0/1, bools or "safe"/"unsafe"."""
    values = list(y)
    if len(values) != n:
        raise FitError(f"got {len(values)} labels for {n} trees; give one label per tree")
    out = np.empty(n)
    for i, v in enumerate(values):
        if isinstance(v, str):
            if v not in ("safe", "unsafe"):
                raise FitError(f"label {i}: {v!r} is not 'safe' or 'unsafe'")
            out[i] = 1.0 if v == "unsafe" else 0.0
        elif v in (0, 1):
            out[i] = float(v)
        else:
            raise FitError(f"label {i}: {v!r} is not 0/1, a bool, or 'safe'/'unsafe'")
    return out


def _nll_terms(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(np.logaddexp(0.0, s) - y * s)


# ----------------------------------------------------------------------------------------------------------
# The objective over a compact design: only the cells that occur in the data.
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _KindDesign:
    x: sparse.csr_matrix  # (n, K) counts of the used cells
    ia: np.ndarray  # (K,) action slot of each used cell
    ie: np.ndarray
    ix: np.ndarray
    il: np.ndarray
    it: np.ndarray
    a_map: np.ndarray  # (n_action_slots, n_action_params) 0/1: slot takes this parameter's weight
    a_fixed: np.ndarray  # (n_action_slots,) fixed weight of overridden slots (0 where a_map row is used)
    e_map: np.ndarray
    e_fixed: np.ndarray


def _slot_map(table: str, params: Params) -> tuple[np.ndarray, np.ndarray, list[str]]:
    hier = table_hierarchy(table)
    names = hier.weight_names
    weights = getattr(params, table)
    col = {n: i for i, n in enumerate(names)}
    m = np.zeros((len(hier.slots), len(names)))
    fixed = np.zeros(len(hier.slots))
    for s, slot in enumerate(hier.slots):
        owner = next(n for n in hier.lineage(slot) if n in weights)
        if owner in col:
            m[s, col[owner]] = 1.0
        else:
            fixed[s] = weights[owner]
    return m, fixed, names


def _kind_design(features: TreeFeatures, featurizer: TreeFeaturizer, kind: Kind, params: Params) -> _KindDesign:
    x = (features.harm if kind == "harm" else features.benefit).tocsc()
    used = np.flatnonzero(np.diff(x.indptr))
    ia, ie, ix, il, it = np.unravel_index(used, featurizer.shape(kind))
    a_table, e_table = (("action_weights", "effect_weights") if kind == "harm"
                        else ("benefit_action_weights", "benefit_effect_weights"))
    a_map, a_fixed, _ = _slot_map(a_table, params)
    e_map, e_fixed, _ = _slot_map(e_table, params)
    return _KindDesign(x[:, used].tocsr(), ia, ie, ix, il, it, a_map, a_fixed, e_map, e_fixed)


class _Objective:
    """Mean NLL and its gradient as functions of the packed free coordinates θ."""

    def __init__(self, features: TreeFeatures, y: np.ndarray, init: Params, free: Sequence[Block],
                 featurizer: TreeFeaturizer, bias_bound: float) -> None:
        self.init, self.y, self.n = init, y, features.n
        self.harm = _kind_design(features, featurizer, "harm", init)
        self.ben = _kind_design(features, featurizer, "benefit", init)
        self.free = tuple(b for b in ALL_BLOCKS if b in free)
        self.names: dict[str, list[str]] = {t: table_hierarchy(t).weight_names for t in WEIGHT_TABLES}
        sizes: dict[str, int] = {t: len(n) for t, n in self.names.items()}
        sizes.update(extent_weights=3, likelihood_weights=2, immediacy_discount=1, benefit_weight=1, bias=1)
        self.slices: dict[str, slice] = {}
        start = 0
        for b in self.free:
            self.slices[b] = slice(start, start + sizes[b])
            start += sizes[b]
        self.dim = start
        self.bounds = [(0.0, 1.0)] * self.dim
        if "bias" in self.slices:
            self.bounds[self.slices["bias"].start] = (-bias_bound, bias_bound)
        self.n_evals = 0

    # -- packing ------------------------------------------------------------------------------------------
    def pack(self, p: Params) -> np.ndarray:
        theta = np.zeros(self.dim)
        for b, sl in self.slices.items():
            if b in WEIGHT_TABLES:
                theta[sl] = np.clip([getattr(p, b)[n] for n in self.names[b]], 0.0, 1.0)
            elif b == "extent_weights":
                x = [p.extent_weights[k] for k in EXTENTS]
                theta[sl] = [_ratio(x[0], x[1]), _ratio(x[1], x[2]), _ratio(x[2], x[3])]
            elif b == "likelihood_weights":
                v = [p.likelihood_weights[k] for k in LIKELIHOODS]
                theta[sl] = [_ratio(v[0], v[1]), _ratio(v[1], v[2])]
            elif b == "bias":
                lo, hi = self.bounds[sl.start]
                theta[sl] = np.clip(p.bias, lo, hi)
            else:
                theta[sl] = np.clip(getattr(p, b), 0.0, 1.0)
        return theta

    def unpack(self, theta: np.ndarray) -> Params:
        c = self._components(theta[None, :])
        changes: dict[str, Any] = {}
        for b in self.free:
            if b in WEIGHT_TABLES:
                table = dict(getattr(self.init, b))
                table.update({n: float(v) for n, v in zip(self.names[b], theta[self.slices[b]], strict=True)})
                changes[b] = table
            elif b == "extent_weights":
                changes[b] = {k: float(v) for k, v in zip(EXTENTS, c["x"][0], strict=True)}
            elif b == "likelihood_weights":
                changes[b] = {k: float(v) for k, v in zip(LIKELIHOODS, c["l"][0], strict=True)}
            else:
                changes[b] = float(theta[self.slices[b]][0])
        return self.init.with_changes(**changes)

    def _block(self, theta: np.ndarray, b: str, fixed: np.ndarray) -> np.ndarray:
        """(S, size) values of a block: the free coordinates, or the initial values repeated."""
        if b in self.slices:
            return theta[:, self.slices[b]]
        return np.broadcast_to(fixed, (theta.shape[0], fixed.shape[0]))

    def _components(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Factor vectors for a population θ of shape (S, dim); every value has a leading S axis."""
        p = self.init
        out: dict[str, np.ndarray] = {}
        for key, table, design, what in (("a_h", "action_weights", self.harm, "a"),
                                         ("e_h", "effect_weights", self.harm, "e"),
                                         ("a_b", "benefit_action_weights", self.ben, "a"),
                                         ("e_b", "benefit_effect_weights", self.ben, "e")):
            fixed = np.array([getattr(p, table)[n] for n in self.names[table]])
            vals = self._block(theta, table, fixed)
            m, f = (design.a_map, design.a_fixed) if what == "a" else (design.e_map, design.e_fixed)
            out[key] = vals @ m.T + f
        if "extent_weights" in self.slices:
            u = theta[:, self.slices["extent_weights"]]
            sub = u[:, 2]
            sig = sub * u[:, 1]
            out["x"] = np.stack([sig * u[:, 0], sig, sub, np.ones_like(sub)], axis=1)
        else:
            out["x"] = np.broadcast_to([p.extent_weights[k] for k in EXTENTS], (theta.shape[0], 4))
        if "likelihood_weights" in self.slices:
            v = theta[:, self.slices["likelihood_weights"]]
            out["l"] = np.stack([v[:, 1] * v[:, 0], v[:, 1], np.ones(theta.shape[0])], axis=1)
        else:
            out["l"] = np.broadcast_to([p.likelihood_weights[k] for k in LIKELIHOODS], (theta.shape[0], 3))
        d = self._block(theta, "immediacy_discount", np.array([p.immediacy_discount]))[:, 0]
        out["t"] = np.stack([d, np.ones_like(d)], axis=1)
        out["beta"] = self._block(theta, "benefit_weight", np.array([p.benefit_weight]))[:, 0]
        out["bias"] = self._block(theta, "bias", np.array([p.bias]))[:, 0]
        return out

    def _sums(self, c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Harm and benefit sums, each (n, S)."""
        sums = []
        for d, a, e in ((self.harm, c["a_h"], c["e_h"]), (self.ben, c["a_b"], c["e_b"])):
            w = a[:, d.ia] * e[:, d.ie] * c["x"][:, d.ix] * c["l"][:, d.il] * c["t"][:, d.it]  # (S, K)
            sums.append(np.asarray(d.x @ w.T))
        return sums[0], sums[1]

    def population(self, theta_t: np.ndarray) -> np.ndarray:
        """Mean NLL of every member; ``theta_t`` is (dim, S) as scipy's vectorised DE passes it."""
        theta = np.atleast_2d(theta_t.T) if theta_t.ndim == 2 else theta_t[None, :]
        c = self._components(theta)
        h, b = self._sums(c)
        s = h - c["beta"][None, :] * b + c["bias"][None, :]
        self.n_evals += theta.shape[0]
        return np.asarray(np.mean(_nll_terms(s, self.y[:, None]), axis=0))

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean NLL at θ (shape (dim,)) and its exact gradient (shape (dim,))."""
        self.n_evals += 1
        c = self._components(theta[None, :])
        harm_sum, ben_sum = self._sums(c)
        beta, bias = float(c["beta"][0]), float(c["bias"][0])
        s = harm_sum[:, 0] - beta * ben_sum[:, 0] + bias
        value = float(np.mean(_nll_terms(s, self.y)))
        r = (sigmoid(s) - self.y) / self.n  # dNLL/ds, (n,)
        a_h, e_h, a_b, e_b = c["a_h"][0], c["e_h"][0], c["a_b"][0], c["e_b"][0]
        x, lk, t = c["x"][0], c["l"][0], c["t"][0]
        grads: dict[str, np.ndarray] = {"x": np.zeros(4), "l": np.zeros(3), "t": np.zeros(2)}
        for tag, d, a, e, scale in (("h", self.harm, a_h, e_h, 1.0), ("b", self.ben, a_b, e_b, -beta)):
            g = scale * np.asarray(d.x.T @ r)  # dNLL/d(cell weight), (K,)
            fa, fe, fx, fl, ft = a[d.ia], e[d.ie], x[d.ix], lk[d.il], t[d.it]
            grads[f"a_{tag}"] = np.bincount(d.ia, g * fe * fx * fl * ft, minlength=a.shape[0])
            grads[f"e_{tag}"] = np.bincount(d.ie, g * fa * fx * fl * ft, minlength=e.shape[0])
            grads["x"] += np.bincount(d.ix, g * fa * fe * fl * ft, minlength=4)
            grads["l"] += np.bincount(d.il, g * fa * fe * fx * ft, minlength=3)
            grads["t"] += np.bincount(d.it, g * fa * fe * fx * fl, minlength=2)
        out = np.zeros(self.dim)
        for b, sl in self.slices.items():
            if b == "action_weights":
                out[sl] = self.harm.a_map.T @ grads["a_h"]
            elif b == "effect_weights":
                out[sl] = self.harm.e_map.T @ grads["e_h"]
            elif b == "benefit_action_weights":
                out[sl] = self.ben.a_map.T @ grads["a_b"]
            elif b == "benefit_effect_weights":
                out[sl] = self.ben.e_map.T @ grads["e_b"]
            elif b == "extent_weights":
                u1, u2, u3 = theta[sl]
                jac = np.array([[u2 * u3, 0, 0, 0], [u1 * u3, u3, 0, 0], [u1 * u2, u2, 1, 0]])  # dx/du
                out[sl] = jac @ grads["x"]
            elif b == "likelihood_weights":
                v1, v2 = theta[sl]
                out[sl] = np.array([[v2, 0, 0], [v1, 1, 0]]) @ grads["l"]
            elif b == "immediacy_discount":
                out[sl] = grads["t"][0]
            elif b == "benefit_weight":
                out[sl] = -float(r @ ben_sum[:, 0])
            elif b == "bias":
                out[sl] = float(np.sum(r))
        return value, out


def _ratio(lo: float, hi: float) -> float:
    return float(np.clip(lo / hi, 0.0, 1.0)) if hi > 0 else 1.0


def _prepare(trees: Sequence[HarmBenefitTree] | TreeFeatures, y: Sequence[Any] | np.ndarray,
             init: Params | None, free: Sequence[Block], featurizer: TreeFeaturizer | None,
             bias_bound: float) -> _Objective:
    fz = featurizer or TreeFeaturizer()
    features = trees if isinstance(trees, TreeFeatures) else fz.transform(trees)
    yv = as_labels(y, features.n)
    if len(np.unique(yv)) < 2:
        raise FitError("labels hold a single class; fitting needs both safe and unsafe examples")
    unknown = [b for b in free if b not in ALL_BLOCKS]
    if unknown:
        raise FitError(f"unknown parameter blocks {unknown}; choose from {', '.join(ALL_BLOCKS)}")
    obj = _Objective(features, yv, init or default_params(), free, fz, bias_bound)
    if obj.dim == 0:
        raise FitError("no free parameters: pass at least one block in `free`")
    return obj


def fit_lbfgs(trees: Sequence[HarmBenefitTree] | TreeFeatures, y: Sequence[Any] | np.ndarray,
              init: Params | None = None, free: Sequence[Block] = DEFAULT_FREE, maxiter: int = 500,
              bias_bound: float = 5.0, featurizer: TreeFeaturizer | None = None) -> FitResult:
    """Fit by L-BFGS-B with exact gradients, starting from ``init`` (default priors). Non-free blocks,
    the threshold and any category overrides keep their ``init`` values."""
    t0 = time.perf_counter()
    obj = _prepare(trees, y, init, free, featurizer, bias_bound)
    res = optimize.minimize(obj.value_and_grad, obj.pack(obj.init), jac=True, method="L-BFGS-B",
                            bounds=obj.bounds, options={"maxiter": maxiter})
    params = obj.unpack(np.asarray(res.x))
    return FitResult(params, "lbfgs", float(res.fun), time.perf_counter() - t0, obj.n_evals, int(res.nit),
                     bool(res.success), str(res.message))


def fit_de(trees: Sequence[HarmBenefitTree] | TreeFeatures, y: Sequence[Any] | np.ndarray,
           init: Params | None = None, free: Sequence[Block] = DEFAULT_FREE, seed: int = 0,
           maxiter: int = 200, popsize: int = 15, tol: float = 1e-6, polish: bool = False,
           bias_bound: float = 5.0, featurizer: TreeFeaturizer | None = None) -> FitResult:
    """Fit by scipy's differential evolution (the paper's method): seeded, box-bounded, whole population
    scored in one vectorised pass. ``init`` seeds one member of the initial population."""
    t0 = time.perf_counter()
    obj = _prepare(trees, y, init, free, featurizer, bias_bound)
    rng = np.random.default_rng(seed)
    n_pop = max(5, popsize * obj.dim)
    lo, hi = np.array(obj.bounds).T
    pop = lo + rng.random((n_pop, obj.dim)) * (hi - lo)
    pop[0] = obj.pack(obj.init)
    res = optimize.differential_evolution(obj.population, obj.bounds, maxiter=maxiter, tol=tol, seed=seed,
                                          polish=polish, init=pop, vectorized=True, updating="deferred")
    params = obj.unpack(np.asarray(res.x))
    return FitResult(params, "de", float(res.fun), time.perf_counter() - t0, obj.n_evals, int(res.nit),
                     bool(res.success), str(res.message))
