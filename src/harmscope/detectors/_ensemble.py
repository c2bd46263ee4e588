"""Several detectors combined: weighted mean of their calibrated logits."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors._base import BaseDetector, _class_for
from harmscope.detectors._calibration import logit, sigmoid
from harmscope.detectors._features import encode
from harmscope.errors import HarmscopeError
from harmscope.types import Neighbour

DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = ({"type": "knn", "params": {}}, {"type": "probe-lr", "params": {}})


class EnsembleDetector(BaseDetector):
    """Members given as specs ``[{"type": "knn", "params": {...}}, ...]`` (or bare type names).

    Score: ``sigmoid(sum_i w_i * logit(p_i) / sum_i w_i)`` over the members' calibrated P(unsafe)
    (clipped to [1e-6, 1 - 1e-6]); a confident member moves the result more than a hesitant one, and no
    second-level model has to be fitted, so it needs no held-out data. Categories: weighted mean of the
    members' category scores over the union of their categories. Members without their own
    ``representation`` get the ensemble's; texts are encoded once per distinct representation.
    """

    kind = "ensemble"
    _explain_k_param = None

    def __init__(self, *, members: list[Any] | None = None, weights: list[float] | None = None,
                 representation: str = "minilm", threshold: float = 0.5) -> None:
        self.members = members
        self.weights = weights
        self.representation = representation
        self.threshold = threshold

    def _specs(self) -> list[dict[str, Any]]:
        """Members as normalised ``{type, params}`` dicts, with the representation filled in."""
        raw = list(DEFAULT_MEMBERS) if self.members is None else self.members
        if isinstance(raw, (str, dict)) or not isinstance(raw, (list, tuple)):
            raise TypeError("members must be a list of specs such as [{'type': 'knn', 'params': {}}]")
        if not raw:
            raise ValueError("members is empty; give at least one detector spec")
        specs = []
        for i, spec in enumerate(raw):
            kind, params = parse_spec(spec, f"members[{i}]")
            if kind == "ensemble":
                raise ValueError(f"members[{i}]: an ensemble cannot contain an ensemble")
            cls = _class_for(kind)
            if "representation" in cls._param_names() and "representation" not in params:
                params["representation"] = self.representation
            specs.append({"type": kind, "params": params})
        return specs

    def _validate_params(self) -> None:
        super()._validate_params()
        specs = self._specs()
        if self.weights is not None:
            if isinstance(self.weights, (str, dict)) or not isinstance(self.weights, (list, tuple)):
                raise TypeError("weights must be a list of non-negative numbers, one per member")
            if len(self.weights) != len(specs):
                raise ValueError(f"got {len(self.weights)} weights for {len(specs)} members")
            w = np.asarray(self.weights, dtype=np.float64)
            if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise ValueError("weights must be non-negative, finite and not all zero")

    # -- encoding: once per distinct representation -------------------------------------------------
    def _encode(self, texts: list[str]) -> Any:
        members = getattr(self, "members_", None)
        reps = ([m.representation_ for m in members] if members is not None
                else [s["params"].get("representation") for s in self._specs()])
        return {r: encode(r, texts) for r in dict.fromkeys(r for r in reps if r is not None)}

    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        specs = self._specs()
        self.members_: list[BaseDetector] = []
        for spec in specs:
            member = _class_for(spec["type"])(**copy.deepcopy(spec["params"]))
            features = X[spec["params"]["representation"]]
            member._fit_encoded(features, y, self.categories_, category_index, texts)
            self.members_.append(member)
        w = np.ones(len(specs)) if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        self.weights_ = w / w.sum()

    def _member_features(self, X: dict[str, NDArray[np.float64]], member: BaseDetector) -> NDArray[np.float64]:
        return X[str(member.representation_)]

    def _member_proba(self, X: Any) -> NDArray[np.float64]:
        """Members' P(unsafe), shape (n_members, n)."""
        return np.stack([m._proba_arrays(self._member_features(X, m)) for m in self.members_])

    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        return sigmoid(self.weights_ @ logit(self._member_proba(X)))

    def _category_arrays(self, X: Any) -> NDArray[np.float64]:
        n = next(iter(X.values())).shape[0]
        total = np.zeros((n, len(self.categories_)))
        for w, m in zip(self.weights_, self.members_):
            if m.categories_:
                total += w * m._category_arrays(self._member_features(X, m))
        sums = total.sum(axis=1, keepdims=True)
        out: NDArray[np.float64] = total / np.where(sums > 0, sums, 1.0)
        return out

    def _explain_arrays(self, X: Any, proba: NDArray[np.float64]
                        ) -> tuple[list[tuple[Neighbour, ...]], list[dict[str, float]]]:
        member_p = self._member_proba(X)
        n = member_p.shape[1]
        neighbours: list[tuple[Neighbour, ...]] = [()] * n
        # Evidence from the first member that keeps training prompts (kNN keeps them by design).
        for m in sorted(self.members_, key=lambda m: m.kind != "knn"):
            if getattr(m, "bank_", None) is not None:
                neighbours, _ = m._explain_arrays(self._member_features(X, m), proba)
                break
        names = [f"member{i}:{m.kind}" for i, m in enumerate(self.members_)]
        return neighbours, [{name: float(member_p[j, i]) for j, name in enumerate(names)} for i in range(n)]

    # -- persistence -------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        return {"n_members_": len(self.members_)}, {"weights_": self.weights_}

    def _save_extra(self, directory: Path) -> None:
        for i, m in enumerate(self.members_):
            m.save(directory / f"member-{i}")

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        self.weights_ = np.asarray(arrays["weights_"], np.float64)
        self.members_ = [BaseDetector.load(directory / f"member-{i}") for i in range(int(meta["n_members_"]))]


def parse_spec(spec: Any, where: str = "spec") -> tuple[str, dict[str, Any]]:
    """``"knn"`` or ``{"type": "knn", "params": {...}}`` -> (type, a deep copy of params)."""
    if isinstance(spec, str):
        return spec, {}
    if not isinstance(spec, dict):
        raise TypeError(f"{where} must be a detector name or a dict {{'type': ..., 'params': {{...}}}}, "
                        f"got {type(spec).__name__}")
    unknown = set(spec) - {"type", "params"}
    if unknown:
        raise HarmscopeError(f"{where} has unknown keys {sorted(unknown)}; a spec has only 'type' and 'params'")
    kind = spec.get("type")
    if not isinstance(kind, str):
        raise HarmscopeError(f"{where} needs a 'type' naming a detector (e.g. 'knn')")
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise TypeError(f"{where}['params'] must be a dict, got {type(params).__name__}")
    return kind, copy.deepcopy(params)
