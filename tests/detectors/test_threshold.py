"""select_threshold: the choices are optimal by brute force, and honest about what they achieve."""

from __future__ import annotations

import numpy as np
import pytest

from harmscope.detectors import select_threshold
from harmscope.errors import HarmscopeError


def _stats(y: np.ndarray, s: np.ndarray, t: float) -> tuple[float, float, float]:
    pred = (s >= t).astype(int)
    tp, fp, fn = np.sum(pred & y), np.sum(pred & (1 - y)), np.sum((1 - pred) & y)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return float(f1), float(np.mean(pred[y == 1])), float(np.mean(pred[y == 0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_f1_is_best_over_all_cutoffs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 120)
    s = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.2, 120), 0, 1), 2)  # ties on purpose
    choice = select_threshold(y, s)
    best = max(_stats(y, s, t)[0] for t in np.r_[np.unique(s), 1.0])
    f1, recall, fpr = _stats(y, s, choice.threshold)
    assert choice.f1 == pytest.approx(best) == pytest.approx(f1)
    assert choice.recall == pytest.approx(recall) and choice.fpr == pytest.approx(fpr)
    assert (choice.n_safe, choice.n_unsafe) == (int((y == 0).sum()), int(y.sum()))


@pytest.mark.parametrize("target", [0.0, 0.05, 0.2])
def test_target_fpr_maximises_recall_within_budget(target: float) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    s = np.clip(0.25 * y + rng.normal(0.4, 0.15, 200), 0, 1)
    choice = select_threshold(y, s, method="target_fpr", target_fpr=target)
    _, recall, fpr = _stats(y, s, choice.threshold)
    assert fpr <= target and choice.fpr == pytest.approx(fpr) and choice.target_fpr == target
    feasible = [_stats(y, s, t)[1] for t in np.r_[np.unique(s), 1.0] if _stats(y, s, t)[2] <= target]
    assert recall == pytest.approx(max(feasible))


def test_accepts_string_labels_and_rejects_bad_input() -> None:
    choice = select_threshold(["safe", "unsafe", "unsafe", "safe"], [0.1, 0.9, 0.8, 0.2])
    assert choice.f1 == 1.0 and 0.2 < choice.threshold <= 0.8
    with pytest.raises(HarmscopeError, match="safe and unsafe"):
        select_threshold([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        select_threshold([0, 1], [0.2, 1.3])
    with pytest.raises(ValueError, match="method"):
        select_threshold([0, 1], [0.2, 0.3], method="youden")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one label per score"):
        select_threshold([0, 1, 1], [0.2, 0.3])
