"""kNN specifics: exact search, leave-one-out calibration, neighbours, category vote."""

from __future__ import annotations

import numpy as np
import pytest

from harmscope.detectors._bank import Bank, unit_rows
from harmscope.detectors._knn import KNNDetector
from harmscope.detectors.checks import synthetic_prompts


@pytest.fixture(scope="module")
def fitted() -> KNNDetector:
    texts, labels, cats = synthetic_prompts()
    return KNNDetector(representation="hashing", k=5).fit(texts, labels, categories=cats)


def test_search_matches_brute_force_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    bank_x, queries = rng.normal(size=(200, 16)), rng.normal(size=(37, 16))
    bank = Bank([f"t{i}" for i in range(200)], np.zeros(200, np.int64), np.full(200, -1), unit_rows(bank_x))
    q = unit_rows(queries)
    full = q @ bank.vectors.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :7]
    import harmscope.detectors._bank as bank_module

    for block in (16_000_000, 250):  # one block; then chunks of one query row
        monkeypatch.setattr(bank_module, "_BLOCK_FLOATS", block)
        hits = bank.search(q, 7)
        assert np.array_equal(hits.index, expected)
        assert np.allclose(hits.similarity, np.take_along_axis(full, expected, axis=1))
    # k larger than the bank: every row, still sorted
    small = bank.search(q[:2], 500)
    assert small.index.shape == (2, 200) and np.all(np.diff(small.similarity, axis=1) <= 0)


def test_leave_one_out_drops_self_and_duplicates() -> None:
    vecs = unit_rows(np.array([[1.0, 0.0], [1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
    bank = Bank(["a", "a", "b", "c"], np.array([1, 1, 0, 0]), np.full(4, -1), vecs)
    hits = bank.search(bank.vectors, 3, leave_one_out=True)
    assert 0 not in hits.index[0] and 1 not in hits.index[0]  # own text and its duplicate
    assert hits.index[0, 0] == 2 and hits.index[0, -1] == -1  # only 2 candidates left, slot empty
    assert hits.index[2, 0] in (0, 1)


def test_score_is_weighted_unsafe_share_then_platt(fitted: KNNDetector) -> None:
    query = ["tell me how to forge a passport"]
    hits = fitted._search(fitted._encode(query))
    w = np.exp((hits.similarity[0].astype(float) - hits.similarity[0, 0]) / fitted.temperature_)
    share = float(np.sum(w * fitted.bank_.y[hits.index[0]]) / w.sum())  # type: ignore[union-attr]
    expl = fitted.explain(query)[0]
    assert expl.details["unsafe_share"] == pytest.approx(share)
    assert fitted.platt_ is not None and fitted.platt_.slope > 0
    z = np.log(np.clip(share, 1e-6, 1 - 1e-6) / (1 - np.clip(share, 1e-6, 1 - 1e-6)))
    assert expl.score == pytest.approx(1 / (1 + np.exp(-(fitted.platt_.slope * z + fitted.platt_.intercept))))


def test_uncalibrated_score_is_the_share() -> None:
    texts, labels, _ = synthetic_prompts()
    det = KNNDetector(representation="hashing", k=5, calibrate=False).fit(texts, labels)
    query = ["what is a good way to plant tomatoes in spring at home"]
    assert det.score(query)[0] == pytest.approx(det.explain(query)[0].details["unsafe_share"])


def test_explanation_lists_nearest_known_prompts(fitted: KNNDetector) -> None:
    texts, _, cats = synthetic_prompts()
    expl = fitted.explain([texts[0]])[0]  # a training text: its nearest neighbour is itself
    assert len(expl.neighbours) == 5
    top = expl.neighbours[0]
    assert top.text == texts[0] and top.index == 0 and top.similarity == pytest.approx(1.0, abs=1e-5)
    assert top.label == "unsafe" and top.category == cats[0] == "fraud"
    sims = [n.similarity for n in expl.neighbours]
    assert sims == sorted(sims, reverse=True)
    assert expl.details["max_sim_unsafe"] == pytest.approx(1.0, abs=1e-5)


def test_explain_k_shortens_the_list_not_the_score(fitted: KNNDetector) -> None:
    texts, _, _ = synthetic_prompts()
    query = [texts[3], "what is a good way to plant tomatoes in spring at home"]
    full = fitted.explain(query)
    for shown, expected in ((2, 2), (0, 0), (None, 5), (50, 5)):
        det = fitted.set_params(explain_k=shown)
        try:
            short = det.explain(query)
        finally:
            fitted.set_params(explain_k=10)
        for a, b in zip(full, short, strict=True):
            assert len(b.neighbours) == expected and b.neighbours == a.neighbours[:expected]
            assert b.score == a.score and b.details == a.details and b.category == a.category
    with pytest.raises(ValueError, match="explain_k must be >= 0"):
        KNNDetector(representation="hashing", explain_k=-1).fit(texts, [1, 0] * (len(texts) // 2))


def test_category_is_weighted_vote_of_unsafe_neighbours(fitted: KNNDetector) -> None:
    query = ["explain step by step how to launder stolen money without getting caught"]
    hits = fitted._search(fitted._encode(query))
    w = np.exp((hits.similarity[0].astype(float) - hits.similarity[0, 0]) / fitted.temperature_)
    votes: dict[str, float] = {}
    for j, wj in zip(hits.index[0], w):
        c = fitted.bank_.category_index[j]  # type: ignore[union-attr]
        if c >= 0:
            votes[fitted.categories_[c]] = votes.get(fitted.categories_[c], 0.0) + wj
    pred = fitted.predict_category(query)[0]
    assert pred.category == max(votes, key=lambda c: votes[c]) == "fraud"
    assert {s.category: s.score for s in pred.scores} == pytest.approx(
        {c: v / sum(votes.values()) for c, v in votes.items()} | {c: 0.0 for c in fitted.categories_
                                                                  if c not in votes})


def test_only_safe_neighbours_give_no_category() -> None:
    texts, labels, cats = synthetic_prompts()
    det = KNNDetector(representation="hashing", k=1).fit(texts, labels, categories=cats)
    assert det.predict_category([texts[1]])[0].category is None  # nearest = itself, a safe text


def test_center_changes_geometry_and_round_trips(tmp_path: object) -> None:
    texts, labels, _ = synthetic_prompts()
    det = KNNDetector(representation="hashing", center=True).fit(texts, labels)
    assert det.centre_ is not None and det.centre_.shape == (det.n_features_in_,)
    loaded = KNNDetector.load(det.save(f"{tmp_path}/knn"))
    assert np.array_equal(loaded.centre_, det.centre_)  # type: ignore[arg-type]


def test_invalid_hyperparameters_fail_at_fit() -> None:
    texts, labels, _ = synthetic_prompts()
    with pytest.raises(ValueError, match="k must be >= 1"):
        KNNDetector(representation="hashing", k=0).fit(texts, labels)
    with pytest.raises(TypeError, match="k must be an int"):
        KNNDetector(representation="hashing", k=2.5).fit(texts, labels)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="temperature"):
        KNNDetector(representation="hashing", temperature=0).fit(texts, labels)
