"""The detector contract: a small scikit-learn-style base class, input checks, save/load and cloning.

Every detector is an estimator: ``__init__`` only stores keyword hyperparameters, ``fit`` learns state in
attributes ending in ``_`` and returns ``self``, ``get_params``/``set_params`` introspect ``__init__``.
Only ``threshold`` is read live at predict time; other parameter changes take effect on the next fit.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors import _io
from harmscope.detectors._bank import Bank, unit_rows
from harmscope.detectors._features import encode
from harmscope.errors import HarmscopeError
from harmscope.types import CategoryPrediction, CategoryScore, Explanation, Neighbour

D = TypeVar("D", bound="BaseDetector")


class NotFittedError(HarmscopeError, ValueError, AttributeError):
    """A detector was used before ``fit`` (or ``load``). Same bases as scikit-learn's NotFittedError."""


@runtime_checkable
class Detector(Protocol):
    """What every detector offers (see :class:`BaseDetector`)."""

    threshold: float

    def fit(self, texts: Sequence[str], labels: Sequence[Any], /, *,
            categories: Sequence[str | None] | None = None) -> Detector: ...

    def predict_proba(self, texts: Sequence[str], /) -> NDArray[np.float64]: ...

    def predict(self, texts: Sequence[str], /) -> NDArray[np.int64]: ...

    def score(self, texts: Sequence[str], /) -> NDArray[np.float64]: ...

    def predict_category(self, texts: Sequence[str], /) -> list[CategoryPrediction]: ...

    def explain(self, texts: Sequence[str], /) -> list[Explanation]: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Detector: ...

    def save(self, directory: str | Path, /) -> Path: ...


# -- input checks ------------------------------------------------------------------------------------

def check_texts(texts: Any, what: str = "texts") -> list[str]:
    """``texts`` as a list of str; TypeError naming the first bad item otherwise."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of strings, not a single {type(texts).__name__}; "
                        "wrap it in a list")
    if not isinstance(texts, Sequence) and not isinstance(texts, np.ndarray):
        raise TypeError(f"{what} must be a sequence of strings (list, tuple), got {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] is {type(t).__name__}, expected str")
    return out


def as_binary_labels(values: Any, n: int, *, what: str = "labels", per: str = "text") -> NDArray[np.int64]:
    """0/1 ints, bools or "safe"/"unsafe" -> (n,) int64 in {0, 1}; one clear error per bad item."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{what} must be a sequence of 0/1 or 'safe'/'unsafe', got {type(values).__name__}")
    items = list(values)
    if len(items) != n:
        raise ValueError(f"got {n} {per}s but {len(items)} {what}; give one label per {per}")
    y = np.empty(n, dtype=np.int64)
    for i, v in enumerate(items):
        if isinstance(v, str):
            if v not in ("safe", "unsafe"):
                raise ValueError(f"{what}[{i}] is {v!r}; use 'safe'/'unsafe' or 0/1")
            y[i] = 1 if v == "unsafe" else 0
        elif isinstance(v, (bool, int, float, np.integer, np.floating, np.bool_)) and float(v) in (0.0, 1.0):
            y[i] = int(v)
        else:
            raise ValueError(f"{what}[{i}] is {v!r}; use 'safe'/'unsafe' or 0/1")
    return y


def check_labels(labels: Any, n: int) -> NDArray[np.int64]:
    """Training labels -> (n,) int64 in {0, 1}; both classes required."""
    y = as_binary_labels(labels, n)
    if n and (y.min() == y.max()):
        only = "unsafe" if y[0] == 1 else "safe"
        raise ValueError(f"all {n} training labels are {only!r}; fit needs both safe and unsafe examples")
    return y


def check_categories(categories: Any, y: NDArray[np.int64]) -> tuple[list[str], NDArray[np.int64]]:
    """Per-text categories -> (sorted category names, (n,) int64 index, -1 = none).

    Categories of safe texts are ignored: a category says what KIND of unsafe a prompt is.
    """
    n = y.shape[0]
    if categories is None:
        return [], np.full(n, -1, dtype=np.int64)
    if isinstance(categories, (str, bytes)) or not isinstance(categories, (Sequence, np.ndarray)):
        raise TypeError(f"categories must be a sequence of str or None (one per text), "
                        f"got {type(categories).__name__}")
    values = list(categories)
    if len(values) != n:
        raise ValueError(f"got {n} texts but {len(values)} categories; give one per text (None for none)")
    for i, c in enumerate(values):
        if c is not None and not isinstance(c, str):
            raise TypeError(f"categories[{i}] is {type(c).__name__}, expected str or None")
    names = sorted({c for c, label in zip(values, y) if c is not None and c != "" and label == 1})
    lookup = {c: i for i, c in enumerate(names)}
    index = np.asarray([lookup.get(c, -1) if (label == 1 and c) else -1 for c, label in zip(values, y)],
                       dtype=np.int64)
    return names, index


def _check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"threshold must be a number in [0, 1], got {type(value).__name__}")
    t = float(value)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {t}")
    return t


def check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {low}, got {type(value).__name__}")
    if int(value) < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__}")
    if not (np.isfinite(value) and float(value) > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return float(value)


# -- the base class -----------------------------------------------------------------------------------

class BaseDetector:
    """Shared estimator machinery. Subclasses set ``kind`` and implement the ``_fit_arrays``,
    ``_proba_arrays`` (and optionally ``_category_arrays``, ``_explain_arrays``, ``_get_state``,
    ``_set_state``) hooks, which work on feature matrices X of shape (n, dim)."""

    kind: ClassVar[str] = "base"
    #: Detectors that keep a bank of training prompts for explanations set this to the bank's size param.
    _explain_k_param: ClassVar[str | None] = "explain_k"

    # -- parameters (scikit-learn BaseEstimator semantics) --------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        names = []
        for p in sig.parameters.values():
            if p.name == "self":
                continue
            if p.kind is not p.KEYWORD_ONLY:
                raise TypeError(f"{cls.__name__}.__init__ must take keyword-only parameters ({p.name})")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (``deep`` is accepted for scikit-learn compatibility;
        nested specs such as ensemble members are plain data, so deep and shallow are the same)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters; returns self. Only ``threshold`` affects a fitted detector without refit."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- fitting -----------------------------------------------------------------------------------
    def _validate_params(self) -> None:
        """Check hyperparameters at fit time (scikit-learn style); subclasses extend."""
        _check_threshold(self.threshold)  # type: ignore[attr-defined]

    def _encode(self, texts: list[str]) -> Any:
        """Feature matrix (n, dim) float64 for ``texts`` under the fitted (or configured) representation."""
        rep = getattr(self, "representation_", None) or self.representation  # type: ignore[attr-defined]
        return encode(rep, texts)

    def fit(self, texts: Sequence[str], labels: Sequence[Any], /, *,
            categories: Sequence[str | None] | None = None) -> Self:
        """Learn from ``texts`` with ``labels`` (0/1 or "safe"/"unsafe") and optional per-text
        ``categories`` (harm category of each unsafe text, None otherwise). Returns self."""
        self._validate_params()
        text_list = check_texts(texts)
        if not text_list:
            raise ValueError("fit needs at least one safe and one unsafe text; got none")
        y = check_labels(labels, len(text_list))
        names, cat_index = check_categories(categories, y)
        self._reset()
        self.representation_ = getattr(self, "representation", None)
        X = self._encode(text_list)
        self._fit_encoded(X, y, names, cat_index, text_list)
        return self

    def _reset(self) -> None:
        for name in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, name)

    def _fit_encoded(self, X: Any, y: NDArray[np.int64], categories: list[str],
                     category_index: NDArray[np.int64], texts: list[str]) -> None:
        """Fit on already-encoded features (used by ``fit`` and by ensembles that share encodings)."""
        self._validate_params()
        self.representation_ = getattr(self, "representation", None)
        self.categories_ = list(categories)
        self.n_features_in_ = int(X.shape[1]) if isinstance(X, np.ndarray) else 0
        self.n_train_ = int(y.shape[0])
        self._fit_arrays(X, y, category_index, texts)

    def _keep_bank(self, X: NDArray[np.float64], y: NDArray[np.int64], category_index: NDArray[np.int64],
                   texts: list[str], centre: NDArray[np.float64] | None = None) -> None:
        """Keep the training prompts (unit vectors) as evidence for ``explain`` when ``explain_k`` > 0."""
        k = getattr(self, self._explain_k_param, 0) if self._explain_k_param else 0
        self.bank_: Bank | None = (
            Bank(texts, y, category_index, unit_rows(X, centre)) if k > 0 else None
        )

    # -- hooks -------------------------------------------------------------------------------------
    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        raise NotImplementedError

    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        """P(unsafe), shape (n,)."""
        raise NotImplementedError

    def _category_arrays(self, X: Any) -> NDArray[np.float64]:
        """Category scores (n, len(categories_)), rows sum to 1 or are all zero (no evidence)."""
        return np.zeros((X.shape[0], len(self.categories_)))

    def _explain_arrays(self, X: Any, proba: NDArray[np.float64]
                        ) -> tuple[list[tuple[Neighbour, ...]], list[dict[str, float]]]:
        """Per row: nearest bank prompts and detector-specific details."""
        n = X.shape[0]
        bank = getattr(self, "bank_", None)
        if bank is None:
            return [()] * n, [{} for _ in range(n)]
        k = getattr(self, self._explain_k_param or "", 0)
        hits = bank.search(unit_rows(X), k)
        return [bank.neighbours(hits, i, self.categories_) for i in range(n)], [{} for _ in range(n)]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """Learned state as (JSON-ready scalars, arrays)."""
        raise NotImplementedError

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        raise NotImplementedError

    # -- prediction --------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_train_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(texts, labels) first "
                f"or load a saved detector with {type(self).__name__}.load(folder)"
            )

    def _prepare(self, texts: Sequence[str]) -> tuple[list[str], Any]:
        self._check_fitted()
        text_list = check_texts(texts)
        if not text_list:
            return text_list, None
        X = self._encode(text_list)
        if isinstance(X, np.ndarray) and self.n_features_in_ and X.shape[1] != self.n_features_in_:
            raise HarmscopeError(
                f"features have width {X.shape[1]} but the detector was fitted on width {self.n_features_in_}; "
                "use the representation it was fitted with, or refit"
            )
        return text_list, X

    def predict_proba(self, texts: Sequence[str], /) -> NDArray[np.float64]:
        """Shape (n, 2) float64: column 0 = P(safe), column 1 = P(unsafe)."""
        text_list, X = self._prepare(texts)
        if not text_list:
            return np.zeros((0, 2), dtype=np.float64)
        p = np.clip(self._proba_arrays(X).astype(np.float64), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def decision_scores(self, texts: Sequence[str], /) -> NDArray[np.float64]:
        """P(unsafe), shape (n,)."""
        return self.predict_proba(texts)[:, 1]

    def score(self, texts: Sequence[str], /) -> NDArray[np.float64]:
        """P(unsafe), shape (n,). NOTE: unlike scikit-learn's ``score(X, y)`` this is not an accuracy."""
        return self.decision_scores(texts)

    def predict(self, texts: Sequence[str], /) -> NDArray[np.int64]:
        """Shape (n,) int64: 1 (unsafe) where P(unsafe) >= ``threshold``, else 0."""
        threshold = _check_threshold(self.threshold)  # type: ignore[attr-defined]
        return (self.decision_scores(texts) >= threshold).astype(np.int64)

    def predict_category(self, texts: Sequence[str], /) -> list[CategoryPrediction]:
        """Most likely harm category per text (assuming it is unsafe), with all category scores."""
        text_list, X = self._prepare(texts)
        if not text_list:
            return []
        if not self.categories_:
            return [CategoryPrediction(None)] * len(text_list)
        return self._category_predictions(self._category_arrays(X))

    def _category_predictions(self, scores: NDArray[np.float64]) -> list[CategoryPrediction]:
        out = []
        for row in scores:
            if not np.any(row > 0):
                out.append(CategoryPrediction(None))
                continue
            order = np.argsort(-row, kind="stable")
            out.append(CategoryPrediction(
                category=self.categories_[int(order[0])],
                scores=tuple(CategoryScore(self.categories_[int(j)], float(row[j])) for j in order),
            ))
        return out

    def explain(self, texts: Sequence[str], /) -> list[Explanation]:
        """One :class:`Explanation` per text: score, threshold, verdict, category and evidence."""
        text_list, X = self._prepare(texts)
        if not text_list:
            return []
        threshold = _check_threshold(self.threshold)  # type: ignore[attr-defined]
        p = np.clip(self._proba_arrays(X).astype(np.float64), 0.0, 1.0)
        cats = (self._category_predictions(self._category_arrays(X)) if self.categories_
                else [CategoryPrediction(None)] * len(text_list))
        neighbours, details = self._explain_arrays(X, p)
        return [
            Explanation(detector=self.kind, score=float(p[i]), threshold=threshold,
                        verdict="unsafe" if p[i] >= threshold else "safe", category=cats[i],
                        neighbours=neighbours[i], details=details[i])
            for i in range(len(text_list))
        ]

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: str | Path, /) -> Path:
        """Write the fitted detector to ``directory`` (created): ``detector.json`` (type, parameters,
        scalar state), ``arrays.npz`` (learned arrays) and ``bank.jsonl`` (training prompts, if kept).
        No pickle. The encoder is not saved, only its id."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        params = _io.encode_json(self.get_params(deep=False), "params")
        meta, arrays = self._get_state()
        bank = getattr(self, "bank_", None)
        if bank is not None:
            arrays = {**arrays, **bank.arrays()}
            bank.save_texts(path)
        _io.write_meta(path, {
            "type": self.kind,
            "params": params,
            "state": _io.encode_json({
                "representation_": self.representation_, "categories_": self.categories_,
                "n_features_in_": self.n_features_in_, "n_train_": self.n_train_,
                "has_bank": bank is not None, **meta,
            }, "state"),
        })
        _io.write_arrays(path, arrays)
        self._save_extra(path)
        return path

    def _save_extra(self, directory: Path) -> None:
        """Hook for detectors with nested parts (ensemble members)."""

    @classmethod
    def load(cls, directory: str | Path, /) -> Self:
        """Load a detector written by :meth:`save`; ``BaseDetector.load`` picks the class from the file."""
        path = Path(directory)
        meta = _io.read_meta(path)
        target = _class_for(str(meta.get("type")))
        if not issubclass(target, cls):
            raise HarmscopeError(f"{path} holds a {meta.get('type')!r} detector, not a {cls.__name__}; "
                                 "load it with harmscope.detectors.load_detector(folder)")
        detector = target(**_io.decode_json(meta["params"]))
        state = _io.decode_json(meta["state"])
        arrays = _io.read_arrays(path)
        detector.representation_ = state.pop("representation_")
        detector.categories_ = list(state.pop("categories_"))
        detector.n_features_in_ = int(state.pop("n_features_in_"))
        detector.n_train_ = int(state.pop("n_train_"))
        has_bank = bool(state.pop("has_bank"))
        detector.bank_ = Bank.restore(path, arrays) if has_bank else None
        detector._set_state(state, arrays, path)
        return detector


def _class_for(kind: str) -> type[BaseDetector]:
    from harmscope.registry import DETECTORS

    factory, _ = DETECTORS.resolve(kind)
    if not (isinstance(factory, type) and issubclass(factory, BaseDetector)):
        raise HarmscopeError(f"detector type {kind!r} is not a BaseDetector class")
    return factory


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):  # arrays and odd objects: show them
        return False


def clone(detector: D) -> D:
    """A new, unfitted detector of the same class with deep copies of the same parameters."""
    if not isinstance(detector, BaseDetector):
        raise TypeError(f"clone() takes a harmscope detector, got {type(detector).__name__}")
    return type(detector)(**copy.deepcopy(detector.get_params(deep=False)))
