"""``HarmBenefitTree.to_records`` gives plain JSON data that the strict validator turns back into the same tree."""

from __future__ import annotations

import json
from typing import Any

from harmscope.detectors.harm_benefit import (
    Action,
    Effect,
    HarmBenefitTree,
    Stakeholder,
    SyntheticData,
    merge_trees,
    validate_tree,
)

TREE = HarmBenefitTree(stakeholders=(
    Stakeholder(
        name="user",
        harms=(Action(action="Violent Acts", effects=(
            Effect(effect="Death", immediacy=True, extent="major", likelihood="high"),
            Effect(effect="Social harm", immediacy=False, extent="minor", likelihood="low"),
        )),),
        benefits=(Action(action="Access to accurate information", text="explains the history of the event",
                         effects=(Effect(effect="Gain of accurate information access", immediacy=False,
                                         extent="significant", likelihood="medium"),)),),
    ),
    Stakeholder(name="public", harms=(Action(action="Privacy"),)),  # an action without effects
    Stakeholder(name="bystanders"),  # a stakeholder without actions
))


def test_hand_built_tree_round_trips() -> None:
    records: Any = TREE.to_records()
    report = validate_tree(records)
    assert report.ok, str(report)
    assert report.tree == TREE
    assert records[0]["benefits"][0]["text"] == "explains the history of the event"
    assert "text" not in records[0]["harms"][0]  # None fields are left out


def test_records_are_plain_json_types() -> None:
    records: Any = TREE.to_records()
    # Lists, not tuples, all the way down: a JSON round trip changes nothing.
    assert json.loads(json.dumps(records)) == records
    assert isinstance(records[0]["harms"], list)
    assert isinstance(records[0]["harms"][0]["effects"], list)


def test_empty_and_merged_trees_round_trip() -> None:
    assert validate_tree(HarmBenefitTree().to_records()).tree == HarmBenefitTree()
    harm_only = HarmBenefitTree(stakeholders=(Stakeholder(name="user", harms=TREE.stakeholders[0].harms),))
    benefit_only = HarmBenefitTree(stakeholders=(Stakeholder(name="user", benefits=TREE.stakeholders[0].benefits),))
    merged = merge_trees(harm_only, benefit_only)
    assert validate_tree(merged.to_records()).tree == merged


def test_synthetic_trees_round_trip(synth: SyntheticData) -> None:
    trees = synth.trees[:100]
    assert sum(len(t.iter_effects()) for t in trees) > 100  # the sample really has effects to check
    failures = [str(r) for t in trees if (r := validate_tree(t.to_records())).tree != t]
    assert not failures, failures[:3]
