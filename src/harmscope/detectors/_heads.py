"""Pieces shared by the probes: a standardiser and a multinomial category head, both as plain arrays.

scikit-learn fits them; prediction is numpy on the stored coefficients, so a fitted and a re-loaded
detector compute exactly the same numbers and nothing is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Standardiser:
    """``(x - mean) / scale`` per feature; ``mean``/``scale`` shape (dim,); zero-variance features keep scale 1."""

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]

    @classmethod
    def fit(cls, X: NDArray[np.float64]) -> Standardiser:
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def apply(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = (X - self.mean) / self.scale
        return out


@dataclass(frozen=True)
class CategoryHead:
    """Softmax scores over categories: ``softmax(Z @ coef.T + intercept)``; coef (n_cat, dim)."""

    coef: NDArray[np.float64]
    intercept: NDArray[np.float64]

    def scores(self, Z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Category probabilities (n, n_cat), rows sum to 1."""
        return softmax(Z @ self.coef.T + self.intercept)


def softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def fit_category_head(Z: NDArray[np.float64], category_index: NDArray[np.int64], n_categories: int, *,
                      C: float, random_state: int | None, max_iter: int) -> CategoryHead | None:
    """Multinomial logistic regression on the rows with a category (index >= 0); None without categories.

    One category -> a constant head (that category always scores 1). Categories absent from the rows
    get a very low bias, so they never win.
    """
    if n_categories == 0:
        return None
    rows = category_index >= 0
    dim = Z.shape[1]
    present = np.unique(category_index[rows])
    coef = np.zeros((n_categories, dim))
    intercept = np.full(n_categories, -30.0)
    if present.size == 1:
        intercept[present[0]] = 0.0
        return CategoryHead(coef, intercept)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)
    model.fit(Z[rows], category_index[rows])
    classes = model.classes_.astype(np.int64)
    if classes.size == 2:  # sklearn stores one row for two classes; spread it so softmax == sigmoid
        w, b = model.coef_[0], float(model.intercept_[0])
        coef[classes[0]], coef[classes[1]] = -w / 2, w / 2
        intercept[classes[0]], intercept[classes[1]] = -b / 2, b / 2
    else:
        coef[classes] = model.coef_
        intercept[classes] = model.intercept_
    return CategoryHead(coef, intercept)


def head_arrays(head: CategoryHead | None) -> dict[str, NDArray[Any]]:
    return {} if head is None else {"cat_coef_": head.coef, "cat_intercept_": head.intercept}


def head_from_arrays(arrays: dict[str, NDArray[Any]]) -> CategoryHead | None:
    if "cat_coef_" not in arrays:
        return None
    return CategoryHead(np.asarray(arrays["cat_coef_"], np.float64), np.asarray(arrays["cat_intercept_"], np.float64))
