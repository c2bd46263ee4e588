"""Pick a decision threshold on validation scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harmscope.detectors._base import as_binary_labels
from harmscope.errors import HarmscopeError

Method = Literal["max_f1", "target_fpr"]


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and what it achieves on the data it was chosen on (unsafe iff score >= threshold)."""

    threshold: float
    method: Method
    target_fpr: float | None
    """The FPR budget for ``method="target_fpr"``, else None."""
    precision: float
    recall: float
    f1: float
    fpr: float
    """Measured false-positive rate at ``threshold`` (may exceed the target only if every safe text
    scores 1.0, when no threshold in [0, 1] can do better)."""
    n_safe: int
    n_unsafe: int



def select_threshold(y_true: Any, scores: Any, *, method: Method = "max_f1",
                     target_fpr: float = 0.05) -> ThresholdChoice:
    """Choose a threshold on validation data, among the observed scores (and 1.0).

    ``max_f1``: the threshold with the best F1 (ties -> the highest threshold, fewer flags).
    ``target_fpr``: the lowest threshold whose false-positive rate is <= ``target_fpr``, i.e. the best
    recall within the FPR budget. ``y_true``: (n,) 0/1 or "safe"/"unsafe"; ``scores``: (n,) P(unsafe).
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = as_binary_labels(y_true, s.shape[0], what="y_true", per="score")
    if method not in ("max_f1", "target_fpr"):
        raise ValueError(f"method must be 'max_f1' or 'target_fpr', got {method!r}")
    if method == "target_fpr" and not 0.0 <= float(target_fpr) <= 1.0:
        raise ValueError(f"target_fpr must be in [0, 1], got {target_fpr}")
    if not np.all(np.isfinite(s)) or (s.size and (s.min() < 0.0 or s.max() > 1.0)):
        raise ValueError("scores must be probabilities P(unsafe) in [0, 1] (no NaN/inf); "
                         "pass detector.score(texts)")
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        raise HarmscopeError(
            f"select_threshold needs safe and unsafe validation examples (got {n_neg} safe, {n_pos} unsafe)"
        )
    # Candidates: each distinct score (flag everything >= it), plus "flag nothing below 1.0 exclusive".
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tp = np.cumsum(y_sorted)[last_of_run].astype(np.float64)
    fp = np.cumsum(1 - y_sorted)[last_of_run].astype(np.float64)
    thresholds = s_sorted[last_of_run]
    if thresholds[0] < 1.0:  # "flag only scores >= 1.0": nothing flagged when no score reaches 1
        thresholds = np.r_[1.0, thresholds]
        tp, fp = np.r_[0.0, tp], np.r_[0.0, fp]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = tp / n_pos
    f1 = np.divide(2 * tp, 2 * tp + fp + (n_pos - tp), out=np.zeros_like(tp), where=tp > 0)
    fpr = fp / n_neg
    if method == "max_f1":
        i = int(np.argmax(f1))  # first max in descending-threshold order = highest threshold
    else:
        ok = np.nonzero(fpr <= target_fpr + 1e-12)[0]
        i = int(ok[-1]) if ok.size else 0
    return ThresholdChoice(
        threshold=float(thresholds[i]), method=method,
        target_fpr=float(target_fpr) if method == "target_fpr" else None,
        precision=float(precision[i]), recall=float(recall[i]), f1=float(f1[i]), fpr=float(fpr[i]),
        n_safe=n_neg, n_unsafe=n_pos,
    )
