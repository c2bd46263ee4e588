"""The Safe-Embed tasks on in-memory records with the hashing encoder, checked against direct computation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harmscope.analysis import (
    AvgSim,
    build_contrast_pairs,
    run_challenging,
    run_contrast,
    run_taxonomy,
)
from harmscope.encoders._hashing import HashingEncoder
from harmscope.errors import HarmscopeError
from harmscope.metrics import categorical_purity
from harmscope.types import PromptRecord

AVG = AvgSim(value=0.1, source="given", encoder="hashing")


def _cos(encoder: HashingEncoder, a: str, b: str) -> float:
    x, y = encoder.encode([a, b]).astype(np.float64)
    return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))


def test_challenging_matches_a_direct_loop(hashing: HashingEncoder, xstest_records: list[PromptRecord]) -> None:
    result = run_challenging(hashing, avg_sim=AVG, records=xstest_records)
    assert list(result.per_type) == ["homonyms", "history", "privacy_publicity"]  # file order
    assert result.counts == {"homonyms": 3, "history": 3, "privacy_publicity": 3}
    expected: dict[str, list[float]] = {}
    by_pair: dict[str, dict[str, PromptRecord]] = {}
    for r in xstest_records:
        by_pair.setdefault(str(r.pair_id), {})[str(r.label)] = r
    for pair in by_pair.values():
        c = _cos(hashing, pair["unsafe"].text, pair["safe"].text)
        expected.setdefault(str(pair["unsafe"].category), []).append((c - 0.1) / 0.9)
    for kind, values in expected.items():
        assert result.per_type[kind] == pytest.approx(float(np.mean(values)), abs=1e-6)
    assert result.overall == pytest.approx(float(np.mean([v for vs in expected.values() for v in vs])), abs=1e-6)
    assert result.to_json()["avg_sim"]["source"] == "given"


def test_challenging_depends_on_the_constant(hashing: HashingEncoder, xstest_records: list[PromptRecord]) -> None:
    low = run_challenging(hashing, avg_sim=AVG, records=xstest_records)
    high = run_challenging(hashing, avg_sim=AvgSim(0.5, "given", "hashing"), records=xstest_records)
    for kind in low.per_type:  # (c - a)/(1 - a) falls as a rises whenever c < 1
        assert high.per_type[kind] < low.per_type[kind]


def test_contrast_takes_the_closest_safe_edit(hashing: HashingEncoder,
                                              contrast_records: list[PromptRecord]) -> None:
    result = run_contrast(hashing, set_name="jbb", avg_sim=AVG, records=contrast_records)
    assert result.n == 2 and result.n_contrasts == 10
    for cat in result.per_category:
        unsafe = next(r for r in contrast_records if r.category == cat and r.label == "unsafe")
        best = max(_cos(hashing, unsafe.text, r.text) for r in contrast_records
                   if r.pair_id == unsafe.pair_id and r.label == "safe")
        assert result.per_category[cat] == pytest.approx((best - 0.1) / 0.9, abs=1e-6)
    assert result.overall == pytest.approx(float(np.mean(list(result.per_category.values()))))
    assert set(result.to_json()) >= {"set", "overall", "per_category", "n"}


def test_contrast_unknown_set(hashing: HashingEncoder, contrast_records: list[PromptRecord]) -> None:
    with pytest.raises(HarmscopeError, match="unknown contrast set 'nope'; known: xstest_aug"):
        run_contrast(hashing, set_name="nope", avg_sim=AVG, records=contrast_records)


def test_build_contrast_pairs_groups_and_validates() -> None:
    recs = [PromptRecord("u1", "unsafe", "c", pair_id="1"), PromptRecord("s1a", "safe", "c", pair_id="1"),
            PromptRecord("s1b", "safe", "c", pair_id="1"), PromptRecord("u2", "unsafe", None, pair_id="2"),
            PromptRecord("s2", "safe", None, pair_id="2")]
    pairs = build_contrast_pairs(recs)
    assert pairs.anchor_texts == ("u1", "u2")
    assert pairs.anchor_categories == ("c", "uncategorized")
    assert pairs.contrast_texts == ("s1a", "s1b", "s2")
    assert pairs.owner == (0, 0, 1)
    with pytest.raises(HarmscopeError, match="1 of 2 pair_id groups lack"):
        build_contrast_pairs(recs[:4])
    with pytest.raises(HarmscopeError, match="no pair_id or no label"):
        build_contrast_pairs([PromptRecord("x", "unsafe")])


def test_taxonomy_matches_the_metric(hashing: HashingEncoder, dna_records: list[PromptRecord]) -> None:
    result = run_taxonomy(hashing, k=3, records=dna_records)
    direct = categorical_purity(hashing.encode([r.text for r in dna_records]), [str(r.category) for r in dna_records],
                                k=3)
    assert result.purity.per_category == pytest.approx(dict(direct.per_category))
    assert result.embeddings.shape == (18, hashing.dim)
    as_json = result.to_json()
    assert set(as_json["per_category"]) == {"Adult Content", "Assisting illegal activities",
                                            "Toxic language (hate speech)"}
    assert as_json["k"] == 3 and 0.0 <= as_json["macro"] <= 1.0
    # the hashing encoder shares words within a category, so purity beats chance (1/3 here)
    assert as_json["micro"] > 0.5


def test_taxonomy_errors(hashing: HashingEncoder, dna_records: list[PromptRecord]) -> None:
    with pytest.raises(HarmscopeError, match=r"k=18 needs at least k\+1=19 prompts"):
        run_taxonomy(hashing, k=18, records=dna_records)
    with pytest.raises(HarmscopeError, match="have no category"):
        run_taxonomy(hashing, records=[PromptRecord("a", "unsafe", None)] * 3)


def test_tasks_load_through_load_dataset(monkeypatch: pytest.MonkeyPatch, hashing: HashingEncoder,
                                         load: Callable[[str], list[PromptRecord]]) -> None:
    asked: list[str] = []

    def spy(name: str) -> list[PromptRecord]:
        asked.append(name)
        return load(name)

    monkeypatch.setattr("harmscope.data.load_dataset", spy, raising=False)
    run_challenging(hashing, avg_sim=AVG)
    run_taxonomy(hashing, k=2)
    run_contrast(hashing, set_name="physical_safety", avg_sim=AVG)
    assert asked == ["xstest_aug_safe_embed", "do_not_answer", "safety_tuned_llamas/physical_safety"]
