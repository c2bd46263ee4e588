"""The aggregation formula, explanations that sum to the score, and parameter files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harmscope.detectors.harm_benefit import (
    HarmBenefitModel,
    HarmBenefitTree,
    Params,
    ParamsError,
    SyntheticData,
    TreeFeatures,
    TreeFeaturizer,
    default_params,
    load_params,
    random_params,
    render_tree,
    save_params,
)
from harmscope.errors import DataNotFoundError


def _tree() -> HarmBenefitTree:
    return HarmBenefitTree.model_validate({"stakeholders": [
        {"name": "user", "harms": [
            {"action": "Violent Acts", "effects": [
                {"effect": "Death", "immediacy": True, "extent": "major", "likelihood": "medium"},
                {"effect": "Transient emotional changes", "immediacy": False, "extent": "minor",
                 "likelihood": "high"}]},
            {"action": "Privacy", "effects": [
                {"effect": "Social deficits", "immediacy": False, "extent": "significant", "likelihood": "low"}]}],
         "benefits": [{"action": "Safety and harm prevention", "effects": [
             {"effect": "Prevention of death", "immediacy": True, "extent": "substantial", "likelihood": "high"}]}]},
    ]})


def _params() -> Params:
    return random_params(7).with_changes(action_weights={**random_params(7).action_weights, "Violent Acts": 0.25})


def test_score_matches_the_formula_by_hand() -> None:
    p = _params()
    x, lk, d, beta = p.extent_weights, p.likelihood_weights, p.immediacy_discount, p.benefit_weight
    a, e, b, f = p.action_weights, p.effect_weights, p.benefit_action_weights, p.benefit_effect_weights
    expected = (
        a["Violent Acts"] * e["Physical harm"] * x["major"] * lk["medium"] * 1.0
        + a["Violent Acts"] * e["Psychological harm"] * x["minor"] * lk["high"] * d
        + a["Privacy"] * e["Social harm"] * x["significant"] * lk["low"] * d
        - beta * b["Safety and harm prevention"] * f["Physical benefit"] * x["substantial"] * lk["high"]
    )
    model = HarmBenefitModel(p)
    assert model.scores([_tree()])[0] == pytest.approx(expected, abs=1e-12)
    assert model.explain(_tree()).score == pytest.approx(expected, abs=1e-12)


def test_level3_override_and_effect_override() -> None:
    p = _params()
    model = HarmBenefitModel(p)
    base = model.scores([_tree()])[0]
    p2 = p.with_changes(effect_weights={**p.effect_weights, "Death": 0.0})
    delta = p.action_weights["Violent Acts"] * p.effect_weights["Physical harm"] * p.likelihood_weights["medium"]
    assert HarmBenefitModel(p2).scores([_tree()])[0] == pytest.approx(base - delta, abs=1e-12)


def test_contributions_sum_exactly_to_the_score(synth: SyntheticData, synth_features: TreeFeatures) -> None:
    p = synth.true_params  # has a non-zero bias
    assert p.bias != 0.0
    model = HarmBenefitModel(p)
    scores = model.scores(synth_features)
    for tree, score in zip(synth.trees[:200], scores[:200], strict=True):
        ex = model.explain(tree)
        assert abs(math.fsum(c.value for c in ex.contributions) - score) < 1e-9
        assert abs(ex.score - score) < 1e-9
        assert all(c.value <= 0 for c in ex.contributions if c.kind == "benefit")
        assert all(c.value >= 0 for c in ex.contributions if c.kind == "harm")
        assert [c.kind for c in ex.contributions].count("bias") == 1
        assert ex.verdict == ("unsafe" if score > p.threshold else "safe")


def test_explanation_json() -> None:
    ex = HarmBenefitModel(_params()).explain(_tree())
    data = json.loads(json.dumps(ex.to_json()))
    assert set(data) >= {"verdict", "score", "threshold", "contributions"}
    assert data["verdict"] in ("safe", "unsafe")
    assert len(data["contributions"]) == 4 and not any(c["kind"] == "bias" for c in data["contributions"])
    assert set(data["contributions"][0]) >= {"stakeholder", "kind", "action", "effect", "value"}
    assert ex.totals("action")["Violent Acts"] > 0 > ex.totals("kind")["benefit"]


def test_render_tree_shows_every_effect_with_its_value() -> None:
    from rich.console import Console

    ex = HarmBenefitModel(_params()).explain(_tree())
    console = Console(width=160, record=True, color_system=None)
    console.print(render_tree(_tree(), ex))
    text = console.export_text()
    assert ex.verdict.upper() in text and "user" in text and "Social deficits" in text
    for c in ex.contributions:
        assert f"{c.value:+.4f}" in text


def test_predict_and_probabilities() -> None:
    model = HarmBenefitModel(default_params())
    empty = HarmBenefitTree()
    assert model.scores([empty])[0] == 0.0 and not model.predict([empty])[0]
    assert model.probabilities([empty])[0] == pytest.approx(0.5)
    assert model.predict([_tree()])[0] == (model.scores([_tree()])[0] > 0)


def test_featurizer_shapes_and_batches_are_compatible(synth: SyntheticData) -> None:
    fz = TreeFeaturizer()
    assert fz.shape("harm") == (61, 22, 4, 3, 2) and fz.shape("benefit") == (12, 22, 4, 3, 2)
    whole = fz.transform(synth.trees[:50])
    parts = [fz.transform(synth.trees[:20]), fz.transform(synth.trees[20:50])]
    p = synth.true_params
    assert np.allclose(fz.scores(whole, p), np.concatenate([fz.scores(x, p) for x in parts]))


def test_params_yaml_round_trip(tmp_path: Path) -> None:
    p = _params().with_changes(bias=-0.125, threshold=0.3)
    path = save_params(p, tmp_path / "w.yaml", comment="fitted on synthetic trees")
    text = path.read_text()
    assert text.startswith("# fitted on synthetic trees\n")
    assert "Security Risks:" in text and "immediacy_discount:" in text and "Violent Acts:" in text
    assert load_params(path) == p


def test_default_params_are_valid_and_complete() -> None:
    p = default_params()
    assert len(p.action_weights) == 16 and len(p.effect_weights) == 7 and len(p.benefit_action_weights) == 12
    assert p.extent_weights["major"] == 1.0 and p.likelihood_weights["high"] == 1.0


def test_params_validation_lists_every_problem() -> None:
    p = default_params()
    bad = p.to_dict()
    bad["action_weights"] = {**bad["action_weights"], "Violent Act": 0.5, "Privacy": -1}
    del bad["action_weights"]["Defamation"]
    bad["extent_weights"] = {"minor": 0.9, "significant": 0.3, "substantial": 0.6, "major": 1.0}
    bad["immediacy_discount"] = 2
    with pytest.raises(ParamsError) as err:
        Params.from_dict(bad)
    msg = str(err.value)
    for part in ("missing Defamation", "'Violent Act'", "Violent Acts", "Privacy: -1", "must not decrease",
                 "immediacy_discount"):
        assert part in msg
    with pytest.raises(ParamsError, match="unknown keys"):
        Params.from_dict({**p.to_dict(), "temperature": 1})
    with pytest.raises(DataNotFoundError):
        load_params("/nonexistent/weights.yaml")
