"""Latent Prototype Moderator: Mahalanobis distance to class prototypes under one shared covariance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors._base import BaseDetector, check_int, check_positive
from harmscope.detectors._calibration import Platt, fit_platt, sigmoid
from harmscope.detectors._heads import softmax


class PrototypeDetector(BaseDetector):
    """Class means (safe, unsafe) and one shared covariance, shrunk by Ledoit-Wolf (or a fixed
    ``shrinkage`` in [0, 1]) and estimated from the within-class residuals.

    Raw score: ``s = (d2_safe - d2_unsafe) / 2`` with ``d2_c`` the squared Mahalanobis distance to class
    mean c; ``softmax(-d2 / 2)`` over the two classes is ``sigmoid(s)``. With ``calibrate=True`` the
    probability is ``sigmoid(a * s + b)``, a Platt fit on out-of-fold raw scores (``cv`` stratified folds,
    each refitting means and covariance); otherwise ``sigmoid(s / temperature)``.
    Categories (``category_prototypes=True``): one prototype per harm category (mean of its unsafe texts),
    scores ``softmax(-d2_c / (2 * temperature))`` under the same covariance.
    """

    kind = "prototype"

    def __init__(self, *, representation: str = "minilm", shrinkage: float | None = None,
                 category_prototypes: bool = True, temperature: float = 1.0, calibrate: bool = True,
                 cv: int = 5, random_state: int | None = 0, explain_k: int = 3, threshold: float = 0.5) -> None:
        self.representation = representation
        self.shrinkage = shrinkage
        self.category_prototypes = category_prototypes
        self.temperature = temperature
        self.calibrate = calibrate
        self.cv = cv
        self.random_state = random_state
        self.explain_k = explain_k
        self.threshold = threshold

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.shrinkage is not None:
            if isinstance(self.shrinkage, bool) or not isinstance(self.shrinkage, (int, float)):
                raise TypeError(f"shrinkage must be None (Ledoit-Wolf) or a number in [0, 1], got {self.shrinkage!r}")
            if not 0.0 <= float(self.shrinkage) <= 1.0:
                raise ValueError(f"shrinkage must be in [0, 1], got {self.shrinkage}")
        check_positive("temperature", self.temperature)
        check_int("cv", self.cv, 2)
        check_int("explain_k", self.explain_k, 0)

    # -- fit -------------------------------------------------------------------------------------
    def _estimate(self, X: NDArray[np.float64], y: NDArray[np.int64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        """Class means (2, dim), shared precision (dim, dim) and the shrinkage used."""
        # The function forms, not the estimators: those also compute a pseudo-inverse we do not use.
        from sklearn.covariance import ledoit_wolf_shrinkage, shrunk_covariance

        means = np.stack([X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)])
        residuals = X - means[y]
        shrink = (float(ledoit_wolf_shrinkage(residuals, assume_centered=True)) if self.shrinkage is None
                  else float(self.shrinkage))
        empirical = residuals.T @ residuals / residuals.shape[0]
        return means, _inverse(shrunk_covariance(empirical, shrinkage=shrink)), shrink

    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        self.means_, self.precision_, self.shrinkage_ = self._estimate(X, y)
        has = category_index >= 0
        if self.category_prototypes and self.categories_ and has.any():
            present = np.zeros(len(self.categories_), dtype=bool)
            present[np.unique(category_index[has])] = True
            self.category_means_: NDArray[np.float64] | None = np.stack([
                X[category_index == c].mean(axis=0) if present[c] else np.full(X.shape[1], np.nan)
                for c in range(len(self.categories_))
            ])
        else:
            self.category_means_ = None
        self.platt_: Platt | None = fit_platt(self._oof_raw(X, y), y) if self.calibrate else None
        self._keep_bank(X, y, category_index, texts)

    def _oof_raw(self, X: NDArray[np.float64], y: NDArray[np.int64]) -> NDArray[np.float64]:
        """Out-of-fold raw scores (n,); in-sample if a class is too small to split."""
        folds = min(int(self.cv), int(np.bincount(y, minlength=2).min()))
        if folds < 2:
            return _raw(X, self.means_, self.precision_)
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        raw = np.empty(y.shape[0])
        for train, test in splitter.split(X, y):
            means, precision, _ = self._estimate(X[train], y[train])
            raw[test] = _raw(X[test], means, precision)
        return raw

    # -- scoring -----------------------------------------------------------------------------------
    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        raw = _raw(X, self.means_, self.precision_)
        return self.platt_.apply(raw) if self.platt_ is not None else sigmoid(raw / float(self.temperature_))

    def _fit_encoded(self, X: Any, y: NDArray[np.int64], categories: list[str],
                     category_index: NDArray[np.int64], texts: list[str]) -> None:
        self.temperature_ = float(self.temperature)
        super()._fit_encoded(X, y, categories, category_index, texts)

    def _category_arrays(self, X: Any) -> NDArray[np.float64]:
        if self.category_means_ is None:
            return np.zeros((X.shape[0], len(self.categories_)))
        d2 = _sq_mahalanobis(X, self.category_means_, self.precision_)
        return softmax(np.where(np.isnan(d2), -np.inf, -d2 / (2.0 * self.temperature_)))

    def _explain_arrays(self, X: Any, proba: NDArray[np.float64]
                        ) -> tuple[list[tuple[Any, ...]], list[dict[str, float]]]:
        neighbours, _ = super()._explain_arrays(X, proba)
        d2 = _sq_mahalanobis(X, self.means_, self.precision_)
        return neighbours, [{"d2_safe": float(a), "d2_unsafe": float(b), "raw": float((a - b) / 2)}
                            for a, b in d2]

    # -- persistence -------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        meta = {"shrinkage_": self.shrinkage_, "temperature_": self.temperature_,
                "platt_": None if self.platt_ is None else [self.platt_.slope, self.platt_.intercept]}
        arrays = {"means_": self.means_, "precision_": self.precision_}
        if self.category_means_ is not None:
            arrays["category_means_"] = self.category_means_
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        self.shrinkage_ = float(meta["shrinkage_"])
        self.temperature_ = float(meta["temperature_"])
        platt = meta["platt_"]
        self.platt_ = None if platt is None else Platt(float(platt[0]), float(platt[1]))
        self.means_ = np.asarray(arrays["means_"], np.float64)
        self.precision_ = np.asarray(arrays["precision_"], np.float64)
        self.category_means_ = arrays.get("category_means_")


def _inverse(cov: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of a symmetric positive (semi)definite matrix; pseudo-inverse if singular (shrinkage 0)."""
    from scipy import linalg

    try:
        c, lower = linalg.cho_factor(cov)
        inv = linalg.cho_solve((c, lower), np.eye(cov.shape[0]))
    except linalg.LinAlgError:
        inv = linalg.pinvh(cov)
    out: NDArray[np.float64] = (inv + inv.T) / 2.0
    return out


def _sq_mahalanobis(X: NDArray[np.float64], means: NDArray[np.float64],
                    precision: NDArray[np.float64]) -> NDArray[np.float64]:
    """Squared Mahalanobis distances (n, n_means): x'Px - 2 x'P m + m'P m, one matmul with P."""
    XP = X @ precision
    xpx = np.einsum("ij,ij->i", XP, X)
    mp = means @ precision
    mpm = np.einsum("ij,ij->i", mp, means)
    d2 = xpx[:, None] - 2.0 * (XP @ means.T) + mpm[None, :]
    out: NDArray[np.float64] = np.maximum(d2, 0.0)
    return out


def _raw(X: NDArray[np.float64], means: NDArray[np.float64], precision: NDArray[np.float64]) -> NDArray[np.float64]:
    d2 = _sq_mahalanobis(X, means, precision)
    out: NDArray[np.float64] = (d2[:, 0] - d2[:, 1]) / 2.0
    return out

