"""Steering with policy files: changes named weights, never refits, validates names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmscope.detectors.harm_benefit import (
    Action,
    Effect,
    HarmBenefitModel,
    HarmBenefitTree,
    PolicyError,
    Stakeholder,
    apply_policy,
    load_policy,
    random_params,
)


def _tree(*actions: str, benefit: bool = False) -> HarmBenefitTree:
    eff = Effect(effect="Societal disruption", immediacy=True, extent="major", likelihood="high")
    ben = (Action(action="Access to accurate information",
                  effects=(Effect(effect="Social gains", immediacy=False, extent="minor", likelihood="low"),)),)
    return HarmBenefitTree(stakeholders=(Stakeholder(
        name="voters", harms=tuple(Action(action=a, effects=(eff,)) for a in actions),
        benefits=ben if benefit else ()),))


def test_zero_weight_flips_only_prompts_whose_harms_lie_in_that_category() -> None:
    params = random_params(11)
    only_political = [_tree("Political Persuasion"), _tree("Political Usage", "Influencing Politics", benefit=True)]
    other = [_tree("Fraud"), _tree("Violent Acts", benefit=True), _tree("Privacy", "Harassment")]
    mixed = [_tree("Political Persuasion", "Fraud")]
    before = HarmBenefitModel(params)
    assert before.predict(only_political).all() and before.predict(other).all()
    steered = HarmBenefitModel(apply_policy(params, {"action_weights": {"Political Usage": 0}}))
    assert not steered.predict(only_political).any()
    assert np.array_equal(steered.scores(other), before.scores(other))  # untouched prompts: same score
    assert steered.predict(mixed).all() and steered.scores(mixed)[0] < before.scores(mixed)[0]


def test_policy_changes_nothing_else() -> None:
    params = random_params(2)
    out = apply_policy(params, {"action_weights": {"Political Usage": 0}, "threshold": 0.4})
    assert out.threshold == 0.4 and out.action_weights["Political Usage"] == 0
    same = {k: v for k, v in out.action_weights.items() if k != "Political Usage"}
    assert same == {k: v for k, v in params.action_weights.items() if k != "Political Usage"}
    assert out.with_changes(action_weights=params.action_weights, threshold=params.threshold) == params


def test_top_level_name_sets_its_children_and_low_level_overrides() -> None:
    params = random_params(4)
    out = apply_policy(params, {"action_weights": {"Societal Risks": 0.1, "Fraud": 0.9}})
    for mid in ("Political Usage", "Economic Harm", "Deception", "Manipulation", "Defamation"):
        assert out.action_weights[mid] == 0.1
    assert out.action_weights["Fraud"] == 0.9 and out.action_weights["Privacy"] == params.action_weights["Privacy"]
    fraud, other = _tree("Fraud"), _tree("Mis/disinformation")
    m = HarmBenefitModel(out)
    assert m.explain(fraud).contributions[0].value == pytest.approx(
        0.9 * params.effect_weights["Collective harm"])
    assert m.explain(other).contributions[0].value == pytest.approx(0.1 * params.effect_weights["Collective harm"])


def test_unknown_names_list_close_matches(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="'Politcal Usage'.*did you mean: Political Usage"):
        apply_policy(random_params(0), {"action_weights": {"Politcal Usage": 0}})
    with pytest.raises(PolicyError, match="did you mean: action_weights"):
        apply_policy(random_params(0), {"action_weight": {"Political Usage": 0}})
    with pytest.raises(PolicyError, match="unknown level 'huge'"):
        apply_policy(random_params(0), {"extent_weights": {"huge": 1}})
    with pytest.raises(PolicyError, match="must not decrease"):
        apply_policy(random_params(0), {"extent_weights": {"minor": 1.0, "significant": 0.1}})


def test_load_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("name: lenient politics\ndescription: allow persuasion\n"
                    "action_weights:\n  Political Usage: 0\nthreshold: 0.25\n")
    policy = load_policy(path)
    assert policy.name == "lenient politics"
    out = apply_policy(random_params(0), policy)
    assert out.action_weights["Political Usage"] == 0 and out.threshold == 0.25
