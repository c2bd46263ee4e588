"""The offline taxonomy tree generator: mapping tables, the action -> effect table, signals -> tree."""

from __future__ import annotations

import numpy as np
import pytest

from harmscope._paths import data_dir
from harmscope.detectors.harm_benefit import (
    HarmBenefitModel,
    HarmBenefitTree,
    TreeGenerator,
    default_params,
    load_taxonomies,
)
from harmscope.detectors.harm_benefit._taxonomy_generator import (
    Signals,
    TaxonomyTreeGenerator,
    TreeOptions,
    UnmappedCategoryError,
    air_category,
    air_mapping_tables,
    air_table_for,
    benefit_descriptions,
    build_tree,
    compare_trees,
    fit_predictors,
    likelihood_band,
    load_action_effects,
    resolve_air_action,
)
from harmscope.detectors.harm_benefit._tree import EXTENTS, LIKELIHOODS
from harmscope.registry import DATASETS

TAX = load_taxonomies()
CATS = (("Violence & Extremism", 0.7), ("Criminal Activities", 0.25), ("Privacy", 0.05))


def signals(p: float, cats: tuple[tuple[str, float], ...] = CATS) -> Signals:
    return Signals(p, cats, "Education and skill building")


def harm_actions(tree: HarmBenefitTree) -> set[str]:
    return {a.action for s in tree.stakeholders for a in s.harms}


# -- tables ------------------------------------------------------------------------------------------

def test_mapping_tables_name_real_sources_and_air_categories() -> None:
    tables = air_mapping_tables()
    assert {"do_not_answer", "catqa", "aart", "air_bench", "trustllm_misuse", "harmbench", "sorry_bench",
            "ailuminate", "strongreject", "jbb"} <= set(tables)
    for table in tables.values():
        for source in table.applies_to:
            assert source in DATASETS.entries, f"{table.file}: {source!r} is not a registered dataset"
        for target in table.mapping.values():
            assert target is None or TAX.harm_actions.is_slot(target)
    assert air_table_for("harmbench/standard") is tables["harmbench"]
    assert air_table_for("red_instruct_catqa_harmfulqa/harmfulqa") is None  # academic topics: not mapped
    assert air_category("ailuminate_demo", "cse") == "Child Harm"  # level 3 -> its level-2 parent
    assert air_category("trustllm_safety/misuse", "Adult Content") == "Sexual Content"  # via include
    assert air_category("do_not_answer", "Treat Chatbot as a Human") is None
    with pytest.raises(UnmappedCategoryError, match="_air_mappings"):
        air_category("aart", "no such crime")


@pytest.mark.skipif(not (data_dir() / "aart").is_dir(), reason="shared data folder not available")
def test_every_category_the_loaders_emit_is_mapped() -> None:
    from harmscope.data import load_dataset

    for table in air_mapping_tables().values():
        for source in table.applies_to:
            emitted = {r.category for r in load_dataset(source) if r.label == "unsafe" and r.category}
            missing = emitted - set(table.mapping)
            assert not missing, f"{source}: {sorted(missing)} missing from {table.file}"


def test_action_effect_table_covers_every_action() -> None:
    table = load_action_effects()
    assert list(table.harm) == TAX.harm_actions.weight_names
    assert set(table.benefit) == set(TAX.benefit_actions.slots)
    assert all(table.benign_benefits[n] for n in table.harm)
    assert len(benefit_descriptions()) == len(TAX.benefit_actions.slots) - 1  # catch-all left out


def test_resolve_air_action() -> None:
    assert resolve_air_action("Fraud") == "Deception"
    assert resolve_air_action("self harm") == "Self-harm"  # alias
    assert resolve_air_action("Hate") == "Hate/Toxicity"
    assert resolve_air_action("weapons") is None
    assert resolve_air_action("Content Safety Risks") is None  # level 1 is too broad


# -- signals -> tree -----------------------------------------------------------------------------------

def test_likely_harmful_prompt_gets_likely_severe_harms() -> None:
    tree = build_tree(signals(0.95))
    assert harm_actions(tree) == {"Violence & Extremism", "Criminal Activities"}  # Privacy < min share
    top = [e for r in tree.iter_effects() if r.kind == "harm" and r.action.action == "Violence & Extremism"
           for e in [r.effect]]
    assert {e.likelihood for e in top} == {"high"}
    assert "major" in {e.extent for e in top}
    benefits = [r.effect for r in tree.iter_effects() if r.kind == "benefit"]
    assert benefits and {e.likelihood for e in benefits} == {"low"}


def test_benign_prompt_gets_benefits_only() -> None:
    tree = build_tree(signals(0.02))
    assert harm_actions(tree) == set()
    ben = {a.action for s in tree.stakeholders for a in s.benefits}
    # always-present benefit, benign reading of the top category, zero-shot benefit
    assert ben == {"Access to accurate information", "Safety and harm prevention", "Education and skill building"}
    assert {r.effect.likelihood for r in tree.iter_effects()} == {"high"}


def test_tree_grows_more_harmful_with_probability() -> None:
    model = HarmBenefitModel(default_params())
    ps = np.linspace(0.0, 1.0, 41)
    trees = [build_tree(signals(float(p))) for p in ps]
    scores = model.scores(trees)
    assert np.all(np.diff(scores) >= -1e-12) and scores[-1] > 0 > scores[0]
    worst = [max((EXTENTS.index(r.effect.extent) * 10 + LIKELIHOODS.index(r.effect.likelihood)
                  for r in t.iter_effects() if r.kind == "harm"), default=-1) for t in trees]
    assert worst == sorted(worst)


def test_tree_options() -> None:
    one = build_tree(signals(0.95), TreeOptions(max_harm_actions=1))
    assert harm_actions(one) == {"Violence & Extremism"}
    strict = build_tree(signals(0.3), TreeOptions(min_harm_probability=0.5))
    assert harm_actions(strict) == set()
    assert likelihood_band(0.29) == "low" and likelihood_band(0.5) == "medium" and likelihood_band(0.71) == "high"


# -- predictors and the generator ------------------------------------------------------------------------

def test_generator_predicts_categories_from_embeddings() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    X = np.vstack([centres[k] + rng.normal(size=(30, 16)) for k in range(3)])
    y = np.repeat([0, 1, 1], 30)
    cat = np.repeat([-1, 0, 1], 30)
    names, _ = zip(*benefit_descriptions(), strict=True)
    predictors = fit_predictors(X, y, cat, ["Self-harm", "Privacy"], names, rng.normal(size=(len(names), 16)))
    gen = TaxonomyTreeGenerator(predictors, "hashing")
    assert isinstance(gen, TreeGenerator)
    results = gen.generate_from_features(np.vstack([centres[1], centres[2], centres[0]]))
    assert [r.generator for r in results] == ["taxonomy"] * 3
    assert harm_actions(results[0].tree) == {"Self-harm"}
    assert harm_actions(results[1].tree) == {"Privacy"}
    assert harm_actions(results[2].tree) == set()
    assert gen.generate([]) == []


def test_compare_trees() -> None:
    a, b = build_tree(signals(0.95)), build_tree(signals(0.02))
    same = compare_trees([a, b], [a, b])
    assert same.harm_action_jaccard == 1.0 and same.max_extent_gap == 0.0
    other = compare_trees([a], [b])
    assert other.harm_action_jaccard == 0.0 and other.max_extent_gap == 4.0  # major (3) vs no harm (-1)
    with pytest.raises(ValueError, match="pair"):
        compare_trees([a], [])
