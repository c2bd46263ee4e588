"""Platt scaling: a 1-D logistic map from a raw detector score to P(unsafe)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Platt:
    """``P(unsafe) = sigmoid(slope * raw + intercept)``."""

    slope: float
    intercept: float

    def apply(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probabilities, same shape as ``raw``."""
        return sigmoid(self.slope * raw + self.intercept)


def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))
    return out


def logit(p: NDArray[np.float64], eps: float = 1e-6) -> NDArray[np.float64]:
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    out: NDArray[np.float64] = np.log(q) - np.log1p(-q)
    return out


def fit_platt(raw: NDArray[np.float64], y: NDArray[np.int64], *, iterations: int = 100) -> Platt:
    """Fit Platt's (1999) sigmoid by Newton's method on ``raw`` (n,) against labels ``y`` (n,) in {0, 1}.

    Uses Platt's smoothed targets ((N+ + 1)/(N+ + 2) and 1/(N- + 2)) so that perfectly separated scores
    give a finite slope instead of diverging; deterministic and free of scikit-learn.
    """
    raw = np.asarray(raw, dtype=np.float64)
    n_pos = int(np.sum(y == 1))
    n_neg = int(y.shape[0] - n_pos)
    target = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    # Standardise the input so one Newton setup works for any raw scale; undone at the end.
    centre = float(raw.mean()) if raw.size else 0.0
    spread = float(raw.std()) if raw.size else 1.0
    spread = spread if spread > 1e-12 else 1.0
    x = (raw - centre) / spread
    a, b = 0.0, float(np.log((n_pos + 1.0) / (n_neg + 1.0)))
    ridge = 1e-6
    for _ in range(iterations):
        p = sigmoid(a * x + b)
        w = p * (1.0 - p)
        grad = np.array([np.dot(p - target, x) + ridge * a, np.sum(p - target)])
        hess = np.array([[np.dot(w, x * x) + ridge, np.dot(w, x)], [np.dot(w, x), np.sum(w) + ridge]])
        step = np.linalg.solve(hess, grad)
        a, b = a - float(step[0]), b - float(step[1])
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return Platt(slope=a / spread, intercept=b - a * centre / spread)
