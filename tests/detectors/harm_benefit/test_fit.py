"""Fitting: exact gradients, L-BFGS-B and differential evolution on synthetic trees with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from harmscope.detectors.harm_benefit import (
    FitError,
    SyntheticData,
    TreeFeatures,
    default_params,
    evaluate,
    fit_de,
    fit_lbfgs,
)
from harmscope.detectors.harm_benefit._fit import ALL_BLOCKS, _prepare


def test_gradient_matches_finite_differences(synth: SyntheticData, synth_features: TreeFeatures) -> None:
    init = synth.true_params.with_changes(action_weights={**synth.true_params.action_weights, "Fraud": 0.3})
    obj = _prepare(synth_features, synth.labels, init, ALL_BLOCKS, None, 5.0)
    theta = np.random.default_rng(0).uniform(0.1, 0.9, obj.dim)
    _, grad = obj.value_and_grad(theta)
    eps = 1e-6
    numeric = np.array([(obj.value_and_grad(theta + h)[0] - obj.value_and_grad(theta - h)[0]) / (2 * eps)
                        for h in np.eye(obj.dim) * eps])
    assert np.max(np.abs(numeric - grad)) < 1e-7
    assert obj.population(np.stack([theta, theta], axis=1)) == pytest.approx([obj.value_and_grad(theta)[0]] * 2)


def _split(synth: SyntheticData, f: TreeFeatures) -> tuple[TreeFeatures, np.ndarray, TreeFeatures, np.ndarray]:
    return f.rows(range(400)), synth.labels[:400], f.rows(range(400, 600)), synth.labels[400:]


def test_lbfgs_fit_improves_on_the_priors(synth: SyntheticData, synth_features: TreeFeatures) -> None:
    xtr, ytr, xva, yva = _split(synth, synth_features)
    prior = evaluate(default_params(), xva, yva)
    res = fit_lbfgs(xtr, ytr)
    fitted = evaluate(res.params, xva, yva)
    assert res.converged and res.method == "lbfgs"
    assert res.nll < evaluate(default_params(), xtr, ytr).nll
    assert fitted.nll < prior.nll and fitted.f1 > 0.75
    x, lk = res.params.extent_weights, res.params.likelihood_weights
    assert 0 <= x["minor"] <= x["significant"] <= x["substantial"] <= x["major"] == 1.0
    assert 0 <= lk["low"] <= lk["medium"] <= lk["high"] == 1.0
    assert all(0 <= v <= 1 for v in res.params.action_weights.values())


def test_de_fit_is_seeded_and_bounded(synth: SyntheticData, synth_features: TreeFeatures) -> None:
    xtr, ytr, _xva, _yva = _split(synth, synth_features)
    free = ("extent_weights", "likelihood_weights", "immediacy_discount", "benefit_weight")
    a = fit_de(xtr, ytr, free=free, seed=5, maxiter=15, popsize=8)
    b = fit_de(xtr, ytr, free=free, seed=5, maxiter=15, popsize=8)
    assert a.params == b.params and a.method == "de"
    assert a.nll <= evaluate(default_params(), xtr, ytr).nll + 1e-12  # the init is in the population
    x = a.params.extent_weights
    assert 0 <= x["minor"] <= x["significant"] <= x["substantial"] <= x["major"] == 1.0
    assert a.params.action_weights == default_params().action_weights  # not free: untouched


def test_fixed_overrides_stay_fixed(synth: SyntheticData, synth_features: TreeFeatures) -> None:
    init = default_params().with_changes(action_weights={**default_params().action_weights, "Fraud": 0.0})
    res = fit_lbfgs(synth_features, synth.labels, init=init, free=("action_weights",), maxiter=30)
    assert res.params.action_weights["Fraud"] == 0.0


def test_fit_input_errors(synth: SyntheticData, synth_features: TreeFeatures) -> None:
    with pytest.raises(FitError, match="labels for"):
        fit_lbfgs(synth_features, synth.labels[:10])
    with pytest.raises(FitError, match="single class"):
        fit_lbfgs(synth_features, np.ones(synth_features.n, dtype=int))
    with pytest.raises(FitError, match="unknown parameter blocks"):
        fit_lbfgs(synth_features, synth.labels, free=("weights",))
    with pytest.raises(FitError, match="'maybe'"):
        fit_lbfgs(synth.trees[:3], ["safe", "unsafe", "maybe"])
