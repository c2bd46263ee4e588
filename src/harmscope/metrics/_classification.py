"""Binary and category classification metrics, thin over scikit-learn and checked against it.

Every binary function takes ``(y_true, y_score, *, threshold)``: ``y_true`` (n,) 0/1 or "safe"/"unsafe",
``y_score`` (n,) P(unsafe); a text counts as flagged when ``y_score >= threshold``. Undefined ratios
follow scikit-learn's ``zero_division=0`` (precision with nothing flagged, recall with no unsafe text);
FPR and AUPRC are ``None`` where they are undefined (no safe text; a single-class set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class BinaryReport:
    """Headline numbers of a binary unsafe-prompt detector on one labelled set."""

    n: int
    n_unsafe: int
    threshold: float
    f1: float
    precision: float
    recall: float
    fpr: float | None
    """False-positive rate on safe texts; None when the set has no safe text."""
    auprc: float | None
    """Average precision (threshold-free); None for a single-class set."""


def _binary(y_true: Any, y_score: Any) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    if isinstance(y_true, (str, bytes)) or isinstance(y_score, (str, bytes)):
        raise TypeError("y_true and y_score must be sequences, not a single string")
    labels = list(y_true)
    scores = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if len(labels) != scores.shape[0]:
        raise ValueError(f"y_true has {len(labels)} items but y_score has {scores.shape[0]}; they must match")
    if not np.all(np.isfinite(scores)):
        raise ValueError("y_score contains NaN or infinite values")
    y = np.empty(len(labels), dtype=np.int64)
    for i, v in enumerate(labels):
        if isinstance(v, str):
            if v not in ("safe", "unsafe"):
                raise ValueError(f"y_true[{i}] is {v!r}; use 0/1 or 'safe'/'unsafe'")
            y[i] = int(v == "unsafe")
        elif isinstance(v, (bool, int, float, np.integer, np.floating, np.bool_)) and float(v) in (0.0, 1.0):
            y[i] = int(v)
        else:
            raise ValueError(f"y_true[{i}] is {v!r}; use 0/1 or 'safe'/'unsafe'")
    return y, scores


def _flags(y_score: NDArray[np.float64], threshold: float) -> NDArray[np.int64]:
    return (y_score >= float(threshold)).astype(np.int64)


def precision(y_true: Any, y_score: Any, *, threshold: float = 0.5) -> float:
    """Share of flagged texts that are unsafe (0.0 when nothing is flagged)."""
    from sklearn.metrics import precision_score

    y, s = _binary(y_true, y_score)
    if y.size == 0:
        return 0.0
    return float(precision_score(y, _flags(s, threshold), labels=[0, 1], zero_division=0))


def recall(y_true: Any, y_score: Any, *, threshold: float = 0.5) -> float:
    """Share of unsafe texts that are flagged (0.0 when there is no unsafe text)."""
    from sklearn.metrics import recall_score

    y, s = _binary(y_true, y_score)
    if y.size == 0:
        return 0.0
    return float(recall_score(y, _flags(s, threshold), labels=[0, 1], zero_division=0))


def f1(y_true: Any, y_score: Any, *, threshold: float = 0.5) -> float:
    """Harmonic mean of precision and recall on the unsafe class (0.0 when undefined)."""
    from sklearn.metrics import f1_score

    y, s = _binary(y_true, y_score)
    if y.size == 0:
        return 0.0
    return float(f1_score(y, _flags(s, threshold), labels=[0, 1], zero_division=0))


def fpr(y_true: Any, y_score: Any, *, threshold: float = 0.5) -> float | None:
    """Share of safe texts that are flagged; None when there is no safe text."""
    y, s = _binary(y_true, y_score)
    negatives = y == 0
    if not negatives.any():
        return None
    return float(np.mean(_flags(s[negatives], threshold)))


def auprc(y_true: Any, y_score: Any) -> float | None:
    """Average precision of the scores (area under the precision-recall curve, step-wise);
    None for an empty or single-class set, where it says nothing."""
    from sklearn.metrics import average_precision_score

    y, s = _binary(y_true, y_score)
    if y.size == 0 or y.min() == y.max():
        return None
    return float(average_precision_score(y, s))


def binary_report(y_true: Any, y_score: Any, threshold: float = 0.5) -> BinaryReport:
    """All binary metrics at once for scores ``y_score`` (n,) at ``threshold``."""
    y, s = _binary(y_true, y_score)
    return BinaryReport(
        n=int(y.size), n_unsafe=int(y.sum()), threshold=float(threshold),
        f1=f1(y, s, threshold=threshold), precision=precision(y, s, threshold=threshold),
        recall=recall(y, s, threshold=threshold), fpr=fpr(y, s, threshold=threshold), auprc=auprc(y, s),
    )


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str | None], *,
             labels: Sequence[str] | None = None) -> float:
    """Unweighted mean F1 over categories (``labels``, default: the categories in ``y_true``).

    A ``None`` prediction (no category) counts as wrong. 0.0 for empty input.
    """
    from sklearn.metrics import f1_score

    if isinstance(y_true, str) or isinstance(y_pred, str):
        raise TypeError("y_true and y_pred must be sequences of category names, not a single string")
    truth, pred = list(y_true), list(y_pred)
    if len(truth) != len(pred):
        raise ValueError(f"y_true has {len(truth)} items but y_pred has {len(pred)}; they must match")
    if not truth:
        return 0.0
    if any(not isinstance(t, str) for t in truth):
        raise TypeError("y_true must hold category names (str)")
    if any(p is not None and not isinstance(p, str) for p in pred):
        raise TypeError("y_pred must hold category names (str) or None")
    names = sorted(set(truth)) if labels is None else list(labels)
    # A sentinel class for "no prediction" that can never equal a real category name.
    none = "\x00none"
    return float(f1_score(truth, [none if p is None else p for p in pred], labels=names,
                          average="macro", zero_division=0))
