"""Synthetic harm-benefit trees with known parameters, for tests, benchmarks and fit sanity checks (no model).

``synthetic_trees`` draws trees whose labels come from a hidden parameter set (plus label noise), so a fit
can be checked against the truth. ``SyntheticTreeGenerator`` is a deterministic ``TreeGenerator``: the
same prompt always gets the same tree (seeded by a SHA-256 of the prompt), with no meaning behind it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harmscope.detectors.harm_benefit._aggregate import Params, TreeFeaturizer, default_params
from harmscope.detectors.harm_benefit._generator import TreeResult
from harmscope.detectors.harm_benefit._taxonomy import load_taxonomies
from harmscope.detectors.harm_benefit._tree import (
    EXTENTS,
    LIKELIHOODS,
    Action,
    Effect,
    HarmBenefitTree,
    Stakeholder,
)


def random_params(seed: int = 0) -> Params:
    """A parameter set with random category weights in [0, 1] and random monotone extent/likelihood weights."""
    rng = np.random.default_rng(seed)
    base = default_params()
    tables = {t: {n: float(rng.uniform(0.05, 1.0)) for n in getattr(base, t)}
              for t in ("action_weights", "effect_weights", "benefit_action_weights", "benefit_effect_weights")}
    ext = np.sort(rng.uniform(0.05, 1.0, 3))
    lik = np.sort(rng.uniform(0.05, 1.0, 2))
    return base.with_changes(
        **tables,
        extent_weights=dict(zip(EXTENTS, [*ext.tolist(), 1.0], strict=True)),
        likelihood_weights=dict(zip(LIKELIHOODS, [*lik.tolist(), 1.0], strict=True)),
        immediacy_discount=float(rng.uniform(0.3, 0.9)),
        benefit_weight=float(rng.uniform(0.3, 0.9)),
    )


def _random_tree(rng: np.random.Generator, harmful: bool) -> HarmBenefitTree:
    tax = load_taxonomies()
    harm_actions = tax.harm_actions.slots
    # trees of harmful prompts name more harms, and harsher ones; benign ones more benefits
    n_harm, n_ben = (3.0, 1.5) if harmful else (0.8, 3.0)
    ext_p = np.array([0.1, 0.2, 0.3, 0.4]) if harmful else np.array([0.45, 0.3, 0.15, 0.1])
    stakeholders = []
    for s in range(int(rng.integers(1, 4))):
        def actions(kind: str, mean: float) -> tuple[Action, ...]:
            names = harm_actions if kind == "harm" else tax.benefit_actions.slots
            effs = tax.effects(kind).slots  # type: ignore[arg-type]
            out = []
            for _ in range(int(rng.poisson(mean / 2))):
                effects = tuple(
                    Effect(effect=str(rng.choice(effs)), immediacy=bool(rng.random() < 0.5),
                           extent=EXTENTS[int(rng.choice(4, p=ext_p))],
                           likelihood=LIKELIHOODS[int(rng.integers(0, 3))])
                    for _ in range(int(rng.integers(1, 4))))
                out.append(Action(action=str(rng.choice(names)), effects=effects))
            return tuple(out)
        stakeholders.append(Stakeholder(name=f"stakeholder {s + 1}", harms=actions("harm", n_harm),
                                        benefits=actions("benefit", n_ben)))
    return HarmBenefitTree(stakeholders=tuple(stakeholders))


@dataclass(frozen=True)
class SyntheticData:
    """Trees, labels (1 = unsafe) and the parameters that generated the labels."""

    trees: list[HarmBenefitTree]
    labels: np.ndarray
    """(n,) int 0/1"""
    true_params: Params


def synthetic_trees(n: int, seed: int = 0, params: Params | None = None, noise: float = 0.05) -> SyntheticData:
    """``n`` random trees, labelled unsafe when their score under ``params`` (default ``random_params(seed)``)
    is above the median score, with a fraction ``noise`` of labels flipped."""
    rng = np.random.default_rng(seed)
    true = params or random_params(seed)
    trees = [_random_tree(rng, bool(rng.random() < 0.5)) for _ in range(n)]
    scores = TreeFeaturizer().scores(TreeFeaturizer().transform(trees), true)
    # centre so that labels are balanced, and record the centre as the true bias
    centre = float(np.median(scores))
    true = true.with_changes(bias=true.bias - centre)
    labels = (scores - centre > 0).astype(int)
    flip = rng.random(n) < noise
    labels[flip] = 1 - labels[flip]
    return SyntheticData(trees, labels, true)


class SyntheticTreeGenerator:
    """A deterministic stand-in ``TreeGenerator`` (tests and demos only: its trees do not read the prompt's
    meaning)."""

    id = "synthetic"

    def __init__(self, harmful_fraction: float = 0.5) -> None:
        self.harmful_fraction = harmful_fraction

    def generate(self, prompts: Sequence[str]) -> list[TreeResult]:
        out = []
        for prompt in prompts:
            seed = int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            out.append(TreeResult(_random_tree(rng, bool(rng.random() < self.harmful_fraction)), self.id))
        return out
