"""Light classifiers on a representation (the "Maybe I Should Not Answer That" probes).

Both probes standardise the features, fit a scikit-learn model, keep only its coefficients and predict
with numpy, so save/load is exact and pickle-free. Their probabilities come straight from the model
(logistic regression is calibrated by its loss; no extra calibration step). Categories: a multinomial
logistic-regression head fitted on the unsafe training texts that carry a category.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors._base import BaseDetector, check_int, check_positive
from harmscope.detectors._calibration import sigmoid
from harmscope.detectors._heads import (
    CategoryHead,
    Standardiser,
    fit_category_head,
    head_arrays,
    head_from_arrays,
)


class _Probe(BaseDetector):
    """Shared parts: standardiser, category head, bank for explanations, state I/O."""

    scaler_: Standardiser
    category_head_: CategoryHead | None

    def _fit_common(self, X: NDArray[np.float64], y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str], C: float) -> NDArray[np.float64]:
        self.scaler_ = Standardiser.fit(X)
        Z = self.scaler_.apply(X)
        self.category_head_ = fit_category_head(Z, category_index, len(self.categories_), C=C,
                                                random_state=self.random_state,  # type: ignore[attr-defined]
                                                max_iter=1000)
        self._keep_bank(X, y, category_index, texts)
        return Z

    def _category_arrays(self, X: Any) -> NDArray[np.float64]:
        if self.category_head_ is None:
            return np.zeros((X.shape[0], len(self.categories_)))
        return self.category_head_.scores(self.scaler_.apply(X))

    def _common_arrays(self) -> dict[str, NDArray[Any]]:
        return {"mean_": self.scaler_.mean, "scale_": self.scaler_.scale, **head_arrays(self.category_head_)}

    def _set_common(self, arrays: dict[str, NDArray[Any]]) -> None:
        self.scaler_ = Standardiser(np.asarray(arrays["mean_"], np.float64), np.asarray(arrays["scale_"], np.float64))
        self.category_head_ = head_from_arrays(arrays)


class LogisticProbe(_Probe):
    """Logistic regression on standardised features: ``P(unsafe) = sigmoid(z @ coef + intercept)``.

    Parameters: ``representation``, ``C`` (inverse L2 strength), ``class_weight`` (None or "balanced"),
    ``max_iter``, ``random_state``, ``explain_k`` (nearest training prompts in explanations; 0 = keep no
    bank), ``threshold``.
    """

    kind = "probe-lr"

    def __init__(self, *, representation: str = "minilm", C: float = 1.0, class_weight: str | None = None,
                 max_iter: int = 1000, random_state: int | None = 0, explain_k: int = 3,
                 threshold: float = 0.5) -> None:
        self.representation = representation
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state
        self.explain_k = explain_k
        self.threshold = threshold

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive("C", self.C)
        check_int("max_iter", self.max_iter, 1)
        check_int("explain_k", self.explain_k, 0)
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")

    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        from sklearn.linear_model import LogisticRegression

        Z = self._fit_common(X, y, category_index, texts, C=float(self.C))
        model = LogisticRegression(C=float(self.C), class_weight=self.class_weight, max_iter=self.max_iter,
                                   random_state=self.random_state)
        model.fit(Z, y)
        self.coef_: NDArray[np.float64] = model.coef_[0].astype(np.float64)
        self.intercept_ = float(model.intercept_[0])

    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        return sigmoid(self.scaler_.apply(X) @ self.coef_ + self.intercept_)

    def _explain_arrays(self, X: Any, proba: NDArray[np.float64]
                        ) -> tuple[list[tuple[Any, ...]], list[dict[str, float]]]:
        neighbours, _ = super()._explain_arrays(X, proba)
        z = self.scaler_.apply(X) @ self.coef_ + self.intercept_
        return neighbours, [{"logit": float(v)} for v in z]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        return {"intercept_": self.intercept_}, {**self._common_arrays(), "coef_": self.coef_}

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        self._set_common(arrays)
        self.coef_ = np.asarray(arrays["coef_"], np.float64)
        self.intercept_ = float(meta["intercept_"])


class MLPProbe(_Probe):
    """A small MLP (scikit-learn ``MLPClassifier``, adam, seeded) on standardised features.

    ``early_stopping`` holds out 10% for validation and is only used with at least 50 training texts
    (smaller sets cannot spare a stratified validation split). Parameters: ``representation``,
    ``hidden_layer_sizes``, ``activation`` ("relu"/"tanh"), ``alpha`` (L2), ``learning_rate_init``,
    ``max_iter``, ``early_stopping``, ``random_state``, ``category_C`` (category head), ``explain_k``,
    ``threshold``.
    """

    kind = "probe-mlp"
    _MIN_FOR_EARLY_STOPPING = 50

    def __init__(self, *, representation: str = "minilm", hidden_layer_sizes: tuple[int, ...] = (64,),
                 activation: str = "relu", alpha: float = 1e-3, learning_rate_init: float = 1e-3,
                 max_iter: int = 300, early_stopping: bool = True, random_state: int | None = 0,
                 category_C: float = 1.0, explain_k: int = 3, threshold: float = 0.5) -> None:
        self.representation = representation
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.random_state = random_state
        self.category_C = category_C
        self.explain_k = explain_k
        self.threshold = threshold

    def _validate_params(self) -> None:
        super()._validate_params()
        sizes = self.hidden_layer_sizes
        if not isinstance(sizes, (tuple, list)) or not sizes:
            raise TypeError(f"hidden_layer_sizes must be a non-empty tuple of ints, got {sizes!r}")
        for s in sizes:
            check_int("hidden_layer_sizes item", s, 1)
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {self.activation!r}")
        check_positive("alpha", self.alpha)
        check_positive("learning_rate_init", self.learning_rate_init)
        check_positive("category_C", self.category_C)
        check_int("max_iter", self.max_iter, 1)
        check_int("explain_k", self.explain_k, 0)

    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        Z = self._fit_common(X, y, category_index, texts, C=float(self.category_C))
        early = bool(self.early_stopping) and y.shape[0] >= self._MIN_FOR_EARLY_STOPPING
        model = MLPClassifier(hidden_layer_sizes=tuple(self.hidden_layer_sizes), activation=self.activation,
                              alpha=self.alpha, learning_rate_init=self.learning_rate_init,
                              max_iter=self.max_iter, early_stopping=early, random_state=self.random_state)
        with warnings.catch_warnings():
            # max_iter is the intended budget; stopping there is not an error for a probe.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Z, y)
        self.n_iter_ = int(model.n_iter_)
        self.coefs_ = [np.asarray(w, np.float64) for w in model.coefs_]
        self.intercepts_ = [np.asarray(b, np.float64) for b in model.intercepts_]

    def _logit(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        h = self.scaler_.apply(X)
        for w, b in zip(self.coefs_[:-1], self.intercepts_[:-1]):
            h = h @ w + b
            h = np.maximum(h, 0.0) if self.activation_ == "relu" else np.tanh(h)
        out: NDArray[np.float64] = (h @ self.coefs_[-1] + self.intercepts_[-1])[:, 0]
        return out

    def _fit_encoded(self, X: Any, y: NDArray[np.int64], categories: list[str],
                     category_index: NDArray[np.int64], texts: list[str]) -> None:
        self.activation_ = str(self.activation)
        super()._fit_encoded(X, y, categories, category_index, texts)

    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        return sigmoid(self._logit(X))

    def _explain_arrays(self, X: Any, proba: NDArray[np.float64]
                        ) -> tuple[list[tuple[Any, ...]], list[dict[str, float]]]:
        neighbours, _ = super()._explain_arrays(X, proba)
        return neighbours, [{"logit": float(v)} for v in self._logit(X)]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        arrays = self._common_arrays()
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            arrays[f"coef_{i}"], arrays[f"intercept_{i}"] = w, b
        return {"n_layers_": len(self.coefs_), "n_iter_": self.n_iter_, "activation_": self.activation_}, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        self._set_common(arrays)
        n = int(meta["n_layers_"])
        self.coefs_ = [np.asarray(arrays[f"coef_{i}"], np.float64) for i in range(n)]
        self.intercepts_ = [np.asarray(arrays[f"intercept_{i}"], np.float64) for i in range(n)]
        self.n_iter_ = int(meta["n_iter_"])
        self.activation_ = str(meta["activation_"])
