"""Strict validation (every problem, with its path) and the tolerant parser on malformed LLM output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harmscope.detectors.harm_benefit import (
    HarmBenefitTree,
    TreeValidationError,
    merge_trees,
    parse_tree,
    validate_tree,
)


def _effect(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"effect": "Death", "immediacy": True, "extent": "major", "likelihood": "high"}
    base.update(kw)
    return base


VALID = [
    {"stakeholder": "user", "harms": [{"action": "Violent Acts", "effects": [_effect()]}],
     "benefits": [{"action": "Access to accurate information",
                   "effects": [_effect(effect="Gain of accurate information access", immediacy=False,
                                       extent="minor", likelihood="medium")]}]},
    {"name": "public", "harms": [{"action": "Privacy", "effects": [_effect(effect="Social harm")]}]},
]


def test_valid_tree_passes() -> None:
    report = validate_tree(VALID)
    assert report.ok and report.tree is not None
    assert [s.name for s in report.tree.stakeholders] == ["user", "public"]
    assert validate_tree({"stakeholders": VALID}).ok
    assert report.raise_if_invalid() is report.tree


def test_every_problem_is_reported_with_its_path() -> None:
    data = [
        VALID[0],
        VALID[1],
        {"stakeholder": "x", "harms": [{"action": "Violent Acts", "effects": [
            _effect(), _effect(extent="huge", likelihood="often", immediacy="soon", effect="Deaht")]}]},
        {"name": "", "harms": [{"action": "Content Safety Risks", "effects": []}], "foo": 1},
        7,
    ]
    report = validate_tree(data)
    assert not report.ok and report.tree is None
    lines = [str(i) for i in report.issues]
    assert ("stakeholders[2].harms[0].effects[1].extent: 'huge' is not one of minor, significant, substantial, "
            "major") in lines
    assert "stakeholders[2].harms[0].effects[1].likelihood: 'often' is not one of low, medium, high" in lines
    assert "stakeholders[2].harms[0].effects[1].immediacy: 'soon' is not a boolean (true or false)" in lines
    assert any(line.startswith("stakeholders[2].harms[0].effects[1].effect: 'Deaht'") and "Death" in line
               for line in lines)
    assert any(line.startswith("stakeholders[3].foo: unknown key") for line in lines)
    assert any(line.startswith("stakeholders[3].name:") for line in lines)
    assert any(line.startswith("stakeholders[3].harms[0].action: 'Content Safety Risks'") and "Violence" in line
               for line in lines)
    assert "stakeholders[4]: expected an object, got int" in lines
    assert len(lines) == 8
    with pytest.raises(TreeValidationError, match="8 problem"):
        report.raise_if_invalid()


def test_strict_rejects_what_the_parser_repairs() -> None:
    data = [{"Stakeholder": "u", "harms": [{"action": "violent acts", "effects": [_effect(extent="Major")]}]}]
    lines = [str(i) for i in validate_tree(data).issues]
    assert len(lines) == 3
    assert parse_tree(json.dumps(data)).complete


def _one_effect(result_tree: HarmBenefitTree) -> tuple[str, bool, str, str]:
    (ref,) = result_tree.iter_effects()
    e = ref.effect
    return e.effect, e.immediacy, e.extent, e.likelihood


# (raw LLM output, expected single effect after repair)
MALFORMED = [
    # code fence + chatter + trailing comma
    (('Here you go:\n```json\n[{"stakeholder": "u", "harms": [{"action": "Violent Acts", "effects": '
     '[{"effect": "Death", "immediacy": true, "extent": "major", "likelihood": "high"},]}]}]\n```\nHope it helps'),
     ("Death", True, "major", "high")),
    # truncated output (unclosed brackets)
    (('[{"stakeholder": "u", "harms": [{"action": "Violent Acts", "effects": [{"effect": "Death", '
     '"immediacy": false, "extent": "minor", "likelihood": "low"}'),
     ("Death", False, "minor", "low")),
    # single quotes, Python booleans, capitalised keys and values, numbered categories
    (("[{'Stakeholder': 'u', 'Harms': [{'Action': '##Content Safety Risks## #Violence & Extremism# 9. Violent acts', "
     "'Effects': [{'Effect': '2. Physical health risks', 'Immediacy': 'True', 'Extent': 'Severe', "
     "'Likelihood': 'Likely'}]}]}]"),
     ("Physical health risks", True, "substantial", "high")),
    # synonyms, numeric likelihood, key synonyms
    (('{"stakeholders": [{"name": "u", "harmful_actions": [{"category": "Privacy", "effects": '
     '[{"type": "Social harm", "immediate": "long-term", "severity": "moderate", "probability": 0.5}]}]}]}'),
     ("Social harm", False, "significant", "medium")),
    # a single stakeholder object instead of a list, effect given by its number only
    (('{"stakeholder": "u", "harms": [{"action": "Fraud", "effects": [{"effect": "7", "immediacy": 1, '
     '"extent": "critical", "likelihood": "80%"}]}]}'),
     ("Financial property loss", True, "major", "high")),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_parser_recovers_malformed_output(text: str, expected: tuple[str, bool, str, str]) -> None:
    result = parse_tree(text)
    assert _one_effect(result.tree) == expected
    assert result.complete, result.dropped
    assert result.repairs  # every one of these needed a repair


def test_parser_drops_exactly_the_invalid_parts() -> None:
    text = json.dumps([
        {"stakeholder": "a", "harms": [
            {"action": "Violent Acts", "effects": [_effect(), _effect(extent="gigantic"), _effect(effect="zzz")]},
            {"action": "Content Safety Risks", "effects": [_effect()]},
            {"action": "cooking pasta", "effects": [_effect()]},
        ], "mood": "grim"},
        "not a stakeholder",
        {"stakeholder": "b", "benefits": [{"action": "teaching chemistry", "effects": [
            _effect(effect="Gain of accurate information access", likelihood=None)]}]},
    ])
    result = parse_tree(text)
    paths = {d.path: d.reason for d in result.dropped}
    assert set(paths) == {
        "stakeholders[0].harms[0].effects[1]", "stakeholders[0].harms[0].effects[2]",
        "stakeholders[0].harms[1]", "stakeholders[0].harms[2]", "stakeholders[0].mood", "stakeholders[1]",
        "stakeholders[2].benefits[0].effects[0]",
    }
    assert "gigantic" in paths["stakeholders[0].harms[0].effects[1]"]
    assert "too broad" in paths["stakeholders[0].harms[1]"]
    assert "missing likelihood" in paths["stakeholders[2].benefits[0].effects[0]"]
    tree = result.tree
    assert [s.name for s in tree.stakeholders] == ["a", "b"]
    assert len(tree.stakeholders[0].harms) == 1 and len(tree.stakeholders[0].harms[0].effects) == 1
    ben = tree.stakeholders[1].benefits[0]
    assert ben.action == "Education and skill building" and ben.text == "teaching chemistry" and not ben.effects


@pytest.mark.parametrize("text", ["", "I cannot help with that.", "42", "```\n```"])
def test_parser_without_json_returns_empty_tree(text: str) -> None:
    result = parse_tree(text)
    assert result.tree.stakeholders == () and not result.complete


def test_parser_flattens_harm_and_benefit_lists() -> None:
    harm = [{"stakeholder": "u", "harms": [{"action": "Fraud", "effects": [_effect()]}]}]
    ben = [{"stakeholder": "u", "benefits": [{"action": "Access to accurate information", "effects": [
        _effect(effect="Social gains")]}]}]
    result = parse_tree(json.dumps([harm, ben]))
    assert len(result.tree.stakeholders) == 2
    merged = merge_trees(result.tree)
    assert len(merged.stakeholders) == 1 and len(merged.iter_effects()) == 2


def test_tree_model_rejects_unknown_categories() -> None:
    with pytest.raises(ValueError, match="not a harmful action"):
        HarmBenefitTree.model_validate({"stakeholders": [{"name": "u", "harms": [{"action": "Nope"}]}]})
