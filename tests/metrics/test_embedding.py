"""Safe-Embed metrics against hand-computed examples, row-order invariance and degenerate inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harmscope.metrics import (
    average_cross_cosine,
    categorical_purity,
    contrast_scores,
    cosine_matrix,
    group_means,
    l2_normalize,
    normalized_cosine,
)

# Five unit directions at 0°, 45°, 90°, 135°, 180°: the cosine of two of them is cos(angle difference).
FAN = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 1.0], [-1.0, 0.0]])
FAN_CATS = ["A", "A", "B", "B", "A"]


def test_normalized_cosine_hand_values() -> None:
    assert normalized_cosine(0.5, 0.2) == pytest.approx(0.375)  # (0.5-0.2)/(1-0.2)
    assert normalized_cosine(0.2, 0.2) == pytest.approx(0.0)
    assert normalized_cosine(1.0, 0.092) == pytest.approx(1.0)
    out = normalized_cosine(np.array([0.092, 0.546]), 0.092)
    np.testing.assert_allclose(out, [0.0, 0.454 / 0.908])


@pytest.mark.parametrize("avg", [1.0, 1.5, float("nan")])
def test_normalized_cosine_rejects_bad_avg(avg: float) -> None:
    with pytest.raises(ValueError, match="below 1"):
        normalized_cosine(0.3, avg)


def test_cosine_matrix_hand_values() -> None:
    sims = cosine_matrix(FAN)
    r = math.sqrt(0.5)
    assert sims[0, 1] == pytest.approx(r)
    assert sims[0, 2] == pytest.approx(0.0)
    assert sims[0, 4] == pytest.approx(-1.0)
    assert sims[1, 3] == pytest.approx(0.0)
    np.testing.assert_allclose(np.diag(sims), 1.0)


def test_categorical_purity_hand_example_k2() -> None:
    # k=2 neighbours (self excluded):
    #   p0(A): p1 A, p2 B -> 1/2     p1(A): p0 A, p2 B -> 1/2     p2(B): p1 A, p3 B -> 1/2
    #   p3(B): p2 B, p4 A -> 1/2     p4(A): p3 B, p2 B -> 0
    # A = (1/2 + 1/2 + 0)/3 = 1/3, B = 1/2, macro = 5/12, micro = 2/5.
    cp = categorical_purity(FAN, FAN_CATS, k=2)
    assert cp.per_prompt == pytest.approx((0.5, 0.5, 0.5, 0.5, 0.0))
    assert cp.per_category == pytest.approx({"A": 1 / 3, "B": 0.5})
    assert cp.macro == pytest.approx(5 / 12)
    assert cp.micro == pytest.approx(0.4)
    assert cp.counts == {"A": 3, "B": 2}
    assert list(cp.per_category) == ["A", "B"]  # order of first appearance
    assert cp.to_json()["k"] == 2


def test_categorical_purity_hand_example_k1_scale_free() -> None:
    # k=1: p0->p1 A(1), p1->p0 or p2 tie (A, B) -> 1/2, p2->p1 or p3 tie (A, B) -> 1/2, p3->p2 or p4 tie -> 1/2,
    # p4->p3 B (0). Scaling a row must not change anything (cosine).
    scaled = FAN * np.array([[3.0], [0.1], [7.0], [1.0], [2.0]])
    cp = categorical_purity(scaled, FAN_CATS, k=1)
    assert cp.per_prompt == pytest.approx((1.0, 0.5, 0.5, 0.5, 0.0))
    assert cp.per_category == pytest.approx({"A": 0.5, "B": 0.5})


def test_categorical_purity_ties_share_the_last_place() -> None:
    # q=(1,0) has two neighbours at cosine 0: r1 (same category) and r2 (other). k=1 -> 1/2 of a hit.
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    cp = categorical_purity(emb, ["X", "X", "Y"], k=1)
    assert cp.per_prompt == pytest.approx((0.5, 1.0, 0.0))
    assert cp.per_category == pytest.approx({"X": 0.75, "Y": 0.0})


def test_categorical_purity_invariant_to_row_shuffling() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(60, 8))
    cats = [f"c{i % 4}" for i in range(60)]
    base = categorical_purity(emb, cats, k=5)
    for _ in range(3):
        perm = rng.permutation(60)
        shuffled = categorical_purity(emb[perm], [cats[i] for i in perm], k=5)
        assert shuffled.per_category == pytest.approx(dict(base.per_category))
        assert shuffled.macro == pytest.approx(base.macro)
        assert shuffled.micro == pytest.approx(base.micro)
        np.testing.assert_allclose(np.asarray(shuffled.per_prompt), np.asarray(base.per_prompt)[perm])


def test_categorical_purity_with_duplicates_is_order_free() -> None:
    # Exact duplicates make exact ties; the result must not depend on which duplicate comes first.
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    a = categorical_purity(emb, ["A", "B", "A", "B"], k=1)
    b = categorical_purity(emb[[2, 1, 0, 3]], ["A", "B", "A", "B"], k=1)
    assert a.per_category == pytest.approx(dict(b.per_category))
    assert a.per_prompt[0] == pytest.approx(0.5)  # tied between the other A and the B duplicate


def test_categorical_purity_single_category_is_one() -> None:
    cp = categorical_purity(FAN, ["A"] * 5, k=3)
    assert cp.macro == 1.0 and cp.micro == 1.0 and cp.per_category == {"A": 1.0}


def test_categorical_purity_k_limits() -> None:
    # k = n-1: every other prompt is a neighbour. Each A sees the 2 other A of 4 (1/2), each B the other B (1/4).
    cp = categorical_purity(FAN, FAN_CATS, k=4)
    assert cp.per_category == pytest.approx({"A": 0.5, "B": 0.25})
    assert cp.micro == pytest.approx((3 * 0.5 + 2 * 0.25) / 5)
    with pytest.raises(ValueError, match="k=5 needs at least"):
        categorical_purity(FAN, FAN_CATS, k=5)
    with pytest.raises(ValueError, match="positive integer"):
        categorical_purity(FAN, FAN_CATS, k=0)
    with pytest.raises(ValueError, match="must match"):
        categorical_purity(FAN, FAN_CATS[:4], k=1)


def test_zero_vector_is_a_clear_error() -> None:
    emb = FAN.copy()
    emb[3] = 0.0
    with pytest.raises(ValueError, match=r"all-zero rows \(first: \[3\]\)"):
        categorical_purity(emb, FAN_CATS, k=1)
    with pytest.raises(ValueError, match="all-zero"):
        contrast_scores(emb[:2], emb[2:4], [0, 1], avg_sim=0.1)
    with pytest.raises(ValueError, match="NaN"):
        l2_normalize(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        l2_normalize(np.ones(3))


def test_contrast_scores_hand_example() -> None:
    anchors = np.array([[1.0, 0.0], [0.0, 1.0]])
    # anchor 0: contrasts (1,1) -> cos 0.70711 and (0,1) -> 0; anchor 1: (1,0) -> 0 and (3,4) -> 0.8
    contrasts = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [3.0, 4.0]])
    scores = contrast_scores(anchors, contrasts, [0, 0, 1, 1], avg_sim=0.2)
    assert scores.max_cosine == pytest.approx((0.7071068, 0.8))
    assert scores.normalized == pytest.approx(((0.7071068 - 0.2) / 0.8, 0.75))
    assert scores.n_contrasts == (2, 2)
    assert scores.mean == pytest.approx(((0.7071068 - 0.2) / 0.8 + 0.75) / 2)


def test_contrast_scores_invariant_to_shuffling() -> None:
    rng = np.random.default_rng(1)
    anchors = rng.normal(size=(10, 6))
    contrasts = rng.normal(size=(35, 6))
    owner = np.concatenate([np.arange(10), rng.integers(0, 10, size=25)])
    base = np.asarray(contrast_scores(anchors, contrasts, owner, avg_sim=0.1).normalized)
    pa, pc = rng.permutation(10), rng.permutation(35)
    inverse = np.argsort(pa)  # new index of old anchor i
    shuffled = contrast_scores(anchors[pa], contrasts[pc], inverse[owner[pc]], avg_sim=0.1)
    np.testing.assert_allclose(np.asarray(shuffled.normalized), base[pa])


def test_contrast_scores_errors() -> None:
    a = np.eye(3)
    with pytest.raises(ValueError, match="1 anchors have no contrast"):
        contrast_scores(a, a[:2], [0, 1], avg_sim=0.1)
    with pytest.raises(ValueError, match="must lie in"):
        contrast_scores(a, a, [0, 1, 3], avg_sim=0.1)
    with pytest.raises(ValueError, match="one integer anchor index"):
        contrast_scores(a, a, [0, 1], avg_sim=0.1)
    with pytest.raises(ValueError, match="width"):
        contrast_scores(a, np.ones((3, 2)), [0, 1, 2], avg_sim=0.1)


def test_average_cross_cosine_hand_example() -> None:
    # sims = [[1, r], [0, r]] with r = 1/sqrt(2); mean = (1 + 2r)/4.
    # row means (1+r)/2, r/2 -> var 1/8 ; column means 1/2, r -> var (r-1/2)^2/2 ;
    # residuals +-1/4 -> sum of squares 1/4.  var = (1/8)/2 + ((r-1/2)^2/2)/2 + (1/4)/4
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [1.0, 1.0]])
    r = math.sqrt(0.5)
    out = average_cross_cosine(a, b)
    assert out.mean == pytest.approx((1 + 2 * r) / 4)
    assert out.stderr == pytest.approx(math.sqrt(1 / 16 + (r - 0.5) ** 2 / 4 + 1 / 16))
    assert out.n_pairs == 4
    with pytest.raises(ValueError, match="at least 2"):
        average_cross_cosine(a[:1], b)


def test_average_cross_cosine_stderr_matches_resampling() -> None:
    # The estimated standard error should match the spread of the mean over independent prompt samples.
    rng = np.random.default_rng(2)
    topic = rng.normal(size=(5, 16))
    population = topic[rng.integers(0, 5, size=4000)] + rng.normal(size=(4000, 16))
    means, errors = [], []
    for _ in range(150):
        idx = rng.choice(4000, size=80, replace=False)
        est = average_cross_cosine(population[idx[:40]], population[idx[40:]])
        means.append(est.mean)
        errors.append(est.stderr)
    ratio = float(np.mean(errors)) / float(np.std(means, ddof=1))
    assert 0.75 < ratio < 1.35


def test_group_means() -> None:
    assert group_means([1.0, 2.0, 3.0, 5.0], ["b", "a", "b", "a"]) == {"b": 2.0, "a": 3.5}
    with pytest.raises(ValueError):
        group_means([1.0], ["a", "b"])
