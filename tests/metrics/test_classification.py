"""Classification metrics: equal to scikit-learn, invariant to order, defined on degenerate sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from harmscope.metrics._classification import (
    BinaryReport,
    auprc,
    binary_report,
    f1,
    fpr,
    macro_f1,
    precision,
    recall,
)


@pytest.fixture(params=[0, 1, 2])
def data(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(request.param)
    y = rng.integers(0, 2, 300)
    return y, np.clip(0.3 * y + rng.uniform(0, 0.7, 300), 0, 1)


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_equal_to_sklearn(data: tuple[np.ndarray, np.ndarray], threshold: float) -> None:
    y, s = data
    pred = (s >= threshold).astype(int)
    assert precision(y, s, threshold=threshold) == pytest.approx(skm.precision_score(y, pred, zero_division=0))
    assert recall(y, s, threshold=threshold) == pytest.approx(skm.recall_score(y, pred))
    assert f1(y, s, threshold=threshold) == pytest.approx(skm.f1_score(y, pred))
    tn, fp, _, _ = skm.confusion_matrix(y, pred).ravel()
    assert fpr(y, s, threshold=threshold) == pytest.approx(fp / (fp + tn))
    assert auprc(y, s) == pytest.approx(skm.average_precision_score(y, s))
    report = binary_report(y, s, threshold)
    assert isinstance(report, BinaryReport)
    assert (report.n, report.n_unsafe, report.threshold) == (300, int(y.sum()), threshold)
    assert report.f1 == f1(y, s, threshold=threshold) and report.auprc == auprc(y, s)


def test_shuffling_changes_nothing(data: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = data
    perm = np.random.default_rng(9).permutation(y.size)
    assert binary_report(y, s, 0.5) == binary_report(y[perm], s[perm], 0.5)


def test_string_labels_equal_int_labels(data: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = data
    words = ["unsafe" if v else "safe" for v in y]
    assert binary_report(words, s, 0.4) == binary_report(y, s, 0.4)


def test_single_class_and_empty_sets() -> None:
    only_unsafe = binary_report([1, 1, 1], [0.9, 0.2, 0.7], 0.5)
    assert only_unsafe.fpr is None and only_unsafe.auprc is None
    assert only_unsafe.recall == pytest.approx(2 / 3) and only_unsafe.precision == 1.0
    only_safe = binary_report(["safe"] * 4, [0.9, 0.2, 0.7, 0.1], 0.5)
    assert only_safe.fpr == 0.5 and only_safe.auprc is None
    assert only_safe.precision == only_safe.recall == only_safe.f1 == 0.0
    empty = binary_report([], [], 0.5)
    assert empty == BinaryReport(n=0, n_unsafe=0, threshold=0.5, f1=0.0, precision=0.0, recall=0.0,
                                 fpr=None, auprc=None)
    assert precision([0, 1], [0.1, 0.2]) == 0.0  # nothing flagged


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="must match"):
        f1([0, 1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="y_true\\[1\\]"):
        f1([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        auprc([0, 1], [0.2, float("nan")])
    with pytest.raises(TypeError):
        recall("01", [0.2, 0.3])


def test_macro_f1_equals_sklearn() -> None:
    rng = np.random.default_rng(4)
    cats = ["fraud", "weapons", "hate", "self-harm"]
    truth = [cats[i] for i in rng.integers(0, 4, 200)]
    pred = [t if rng.random() < 0.6 else cats[rng.integers(0, 4)] for t in truth]
    assert macro_f1(truth, pred) == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    perm = rng.permutation(200)
    assert macro_f1([truth[i] for i in perm], [pred[i] for i in perm]) == pytest.approx(macro_f1(truth, pred))


def test_macro_f1_degenerate() -> None:
    assert macro_f1([], []) == 0.0
    assert macro_f1(["a", "a"], ["a", "a"]) == 1.0
    # None = no prediction: wrong, but not a class of its own in the average
    assert macro_f1(["a", "b"], ["a", None]) == pytest.approx((1.0 + 0.0) / 2)
    assert macro_f1(["a", "b"], ["a", "a"], labels=["a", "b"]) == pytest.approx((2 / 3 + 0.0) / 2)
    with pytest.raises(ValueError, match="must match"):
        macro_f1(["a"], [])
