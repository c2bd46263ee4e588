"""The harmscope -> OpenAI category table: complete, valid, and used the documented way."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmscope.data.taxonomy import CATEGORY_IDS
from harmscope.detectors.harm_benefit import load_taxonomies
from harmscope.errors import DataFormatError
from harmscope.service import OPENAI_CATEGORIES, load_category_table, resolve_categories


def test_table_covers_every_harmscope_and_air_category() -> None:
    table = load_category_table()
    assert set(table.harmscope) == set(CATEGORY_IDS)
    assert set(table.air_2024) == set(load_taxonomies().harm_actions.weight_names)
    assert len(OPENAI_CATEGORIES) == 13
    assert table.harmscope["child_sexual_exploitation"] == ("sexual/minors", "sexual")
    assert table.harmscope["jailbreak"] == ()


def test_air_level3_names_resolve_through_level2() -> None:
    mapping = resolve_categories(["Fraud", "suicide_self_harm", "made-up"])
    assert mapping.targets["Fraud"] == ("illicit",)  # Fraud -> Deception -> illicit
    assert mapping.targets["suicide_self_harm"] == ("self-harm",)
    assert mapping.unmapped == ("made-up",) and mapping.targets["made-up"] == ()


def test_scores_and_flags() -> None:
    mapping = resolve_categories(["violent_crimes", "non_violent_crimes", "cyber"])
    scores = mapping.scores(0.8, {"violent_crimes": 0.5, "non_violent_crimes": 0.25, "cyber": 0.25})
    assert list(scores) == list(OPENAI_CATEGORIES)
    assert scores["violence"] == pytest.approx(0.4)
    assert scores["illicit"] == pytest.approx(0.4)  # two categories feed illicit: 0.8 * (0.25 + 0.25)
    assert scores["hate"] == 0.0
    flags = mapping.flags(True, "violent_crimes")
    assert {k for k, on in flags.items() if on} == {"violence", "illicit/violent"}
    assert not any(mapping.flags(False, "violent_crimes").values())
    assert not any(mapping.flags(True, None).values())


@pytest.mark.parametrize("text, needle", [
    ("harmscope:\n  hate: [hateful]\n", "not OpenAI categories"),
    ("harmscope:\n  hate: hate\n", "expected a list"),
    ("openai_categories: [hate]\n", "must list exactly"),
    ("- just a list\n", "expected a mapping"),
])
def test_bad_tables_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "table.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=needle) as info:
        load_category_table(path)
    assert str(path) in str(info.value)
