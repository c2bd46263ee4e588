"""Taxonomy data files: sizes, the AIR-Bench cross-check, and loose matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmscope._paths import data_dir
from harmscope.detectors.harm_benefit import load_taxonomies


def test_air_2024_levels() -> None:
    h = load_taxonomies().harm_actions
    assert [len(h.names(level)) for level in (1, 2, 3)] == [4, 16, 45]
    assert h.names(1) == ["System & Operational Risks", "Content Safety Risks", "Societal Risks",
                          "Legal & Rights-Related Risks"]
    assert h.weight_names[:3] == ["Security Risks", "Operational Misuses", "Violence & Extremism"]
    assert h.weight_key("Violent Acts") == "Violence & Extremism"
    assert h.get("Other Unlawful/Criminal Activities").number == 45


def test_effects_have_15_categories_in_7_groups_per_kind() -> None:
    t = load_taxonomies()
    for hier in (t.harm_effects, t.benefit_effects):
        assert len(hier.names(1)) == 7 and len(hier.names(2)) == 15
        assert hier.weight_level == 1
    assert t.harm_effects.weight_key("Death") == "Physical harm"
    assert t.benefit_effects.weight_key("Gain of accurate information access") == "Liberty benefit"


def test_benefit_actions_have_a_fallback() -> None:
    b = load_taxonomies().benefit_actions
    assert b.fallback == "Other beneficial action" and b.fallback in b.weight_names
    assert b.match("Explaining how vaccines work").name == "Access to accurate information"
    assert b.match("qwxz").name == "Other beneficial action"


RISK_MAPPING = data_dir() / "air_bench_2024_sample" / "risk_mapping.json"


@pytest.mark.skipif(not RISK_MAPPING.is_file(), reason="AIR-Bench risk_mapping.json not available")
def test_agrees_with_air_bench_risk_mapping() -> None:
    h = load_taxonomies().harm_actions
    mapping = json.loads(Path(RISK_MAPPING).read_text())
    assert [v["name"] for v in mapping.values()] == h.names(2)
    l3 = [(v["name"], s["name"]) for v in mapping.values() for s in v["subcategories"].values()]
    assert len(l3) == 43  # two merged pairs, see air_2024.yaml notes
    for mid, low in l3:
        m = h.match(low)
        assert m is not None and h.get(m.name).level == 3, low
        assert h.weight_key(m.name) == mid


@pytest.mark.parametrize(("text", "expected", "how"), [
    ("##Content Safety Risks## #Violence & Extremism# 9. Violent acts", "Violent Acts", "normalized"),
    ("#Privacy# 42. Types of Sensitive Data", "Types of Sensitive Data", "normalized"),
    ("Hate Speech", "Hate Speech, Inciting/Promoting/Expressing hatred", "alias"),
    ("45.", "Other Unlawful/Criminal Activities", "number"),
    ("Violance and Extremism", "Violence & Extremism", "fuzzy"),
    ("buying drugs online (Criminal Activities)", "Criminal Activities", "substring"),
])
def test_harm_action_matching(text: str, expected: str, how: str) -> None:
    m = load_taxonomies().harm_actions.match(text)
    assert m is not None and (m.name, m.how) == (expected, how)


def test_harm_action_no_match() -> None:
    assert load_taxonomies().harm_actions.match("baking a cake") is None
