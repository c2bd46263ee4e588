"""Similarity search against banks of known unsafe and safe prompts (Safe-Embed style kNN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors._bank import Bank, Hits, check_index_kind, unit_rows
from harmscope.detectors._base import BaseDetector, check_int, check_positive
from harmscope.detectors._calibration import Platt, fit_platt, logit
from harmscope.types import Neighbour


class KNNDetector(BaseDetector):
    """Score a prompt by its ``k`` most cosine-similar training prompts.

    Raw score: the similarity-weighted unsafe share of the top-k neighbours, with softmax weights
    ``w_j = exp(sim_j / temperature)`` (a small temperature trusts the closest match most). With
    ``calibrate=True`` the raw share goes through a Platt sigmoid on its logit, fitted on leave-one-out
    scores of the training set (each training prompt scored without itself or its exact duplicates), so
    the output is a probability. Category: weighted vote of the categorised unsafe neighbours.

    Parameters: ``representation`` (encoder id), ``k`` neighbours, ``temperature``, ``center`` (subtract
    the training mean before normalising: helps LLM hidden states, whose raw cosines are all high),
    ``calibrate``, ``threshold``, ``index`` (similarity search: ``auto`` = exact below 200k bank rows, FAISS
    HNSW above; or ``exact``, ``hnsw``, ``ivf``; see docs/speed.md), ``explain_k`` (how many of the ``k``
    neighbours an explanation lists, nearest first: a wide scoring window need not make every explanation
    long; ``None`` = all ``k``).
    """

    kind = "knn"
    _explain_k_param = "k"

    def __init__(self, *, representation: str = "minilm", k: int = 10, temperature: float = 0.05,
                 center: bool = False, calibrate: bool = True, threshold: float = 0.5,
                 index: str = "auto", explain_k: int | None = 10) -> None:
        self.representation = representation
        self.k = k
        self.temperature = temperature
        self.center = center
        self.calibrate = calibrate
        self.threshold = threshold
        self.index = index
        self.explain_k = explain_k

    def _validate_params(self) -> None:
        super()._validate_params()
        check_int("k", self.k, 1)
        check_positive("temperature", self.temperature)
        check_index_kind(self.index)
        if self.explain_k is not None:
            check_int("explain_k", self.explain_k, 0)

    # -- fit -------------------------------------------------------------------------------------
    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        self.k_ = int(self.k)
        self.temperature_ = float(self.temperature)
        self.centre_: NDArray[np.float64] | None = X.mean(axis=0) if self.center else None
        self.bank_ = Bank(texts, y, category_index, unit_rows(X, self.centre_), index=self.index)
        if self.calibrate:
            hits = self.bank_.search(self.bank_.vectors, self.k_, leave_one_out=True)
            self.platt_: Platt | None = fit_platt(logit(self._share(hits)), y)
        else:
            self.platt_ = None

    # -- scoring -----------------------------------------------------------------------------------
    def _weights(self, hits: Hits) -> NDArray[np.float64]:
        """Softmax weights (m, k) over each row's neighbours; empty slots get 0."""
        sims = hits.similarity.astype(np.float64)
        top = np.where(np.isfinite(sims[:, :1]), sims[:, :1], 0.0)
        w = np.where(hits.index >= 0, np.exp((np.where(np.isfinite(sims), sims, 0.0) - top) / self.temperature_),
                     0.0)
        return w

    def _share(self, hits: Hits) -> NDArray[np.float64]:
        """Similarity-weighted unsafe share (m,); 0.5 for a row with no neighbour at all."""
        w = self._weights(hits)
        assert self.bank_ is not None
        unsafe = np.where(hits.index >= 0, self.bank_.y[np.maximum(hits.index, 0)], 0)
        total = w.sum(axis=1)
        return np.where(total > 0, (w * unsafe).sum(axis=1) / np.where(total > 0, total, 1.0), 0.5)

    def _search(self, X: NDArray[np.float64]) -> Hits:
        assert self.bank_ is not None
        return self.bank_.search(unit_rows(X, self.centre_), self.k_)

    def _proba_from_hits(self, hits: Hits) -> NDArray[np.float64]:
        share = self._share(hits)
        return self.platt_.apply(logit(share)) if self.platt_ is not None else share

    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        return self._proba_from_hits(self._search(X))

    def _category_from_hits(self, hits: Hits) -> NDArray[np.float64]:
        assert self.bank_ is not None
        # Each neighbour's weight goes to its category (none for safe rows and empty slots); no one-hot
        # table of the whole bank per call (that cost ~0.5 ms of a single prompt's ~10 ms).
        cats = np.where(hits.index >= 0, self.bank_.category_index[np.maximum(hits.index, 0)], -1)
        weights = self._weights(hits)
        votes = np.zeros((cats.shape[0], len(self.categories_)))
        rows, slots = np.nonzero(cats >= 0)
        np.add.at(votes, (rows, cats[rows, slots]), weights[rows, slots])
        total = votes.sum(axis=1, keepdims=True)
        out: NDArray[np.float64] = votes / np.where(total > 0, total, 1.0)
        return out

    def _category_arrays(self, X: Any) -> NDArray[np.float64]:
        return self._category_from_hits(self._search(X))

    def _explain_arrays(self, X: Any, proba: NDArray[np.float64]
                        ) -> tuple[list[tuple[Neighbour, ...]], list[dict[str, float]]]:
        assert self.bank_ is not None
        hits = self._search(X)
        share = self._share(hits)
        sims = np.where(hits.index >= 0, hits.similarity, -np.inf)
        is_unsafe = self.bank_.y[np.maximum(hits.index, 0)] == 1
        max_unsafe = np.max(np.where(is_unsafe, sims, -np.inf), axis=1)
        max_safe = np.max(np.where(~is_unsafe, sims, -np.inf), axis=1)
        details = [
            {"unsafe_share": float(share[i]),
             **({"max_sim_unsafe": float(max_unsafe[i])} if np.isfinite(max_unsafe[i]) else {}),
             **({"max_sim_safe": float(max_safe[i])} if np.isfinite(max_safe[i]) else {})}
            for i in range(X.shape[0])
        ]
        return [self.bank_.neighbours(hits, i, self.categories_, self.explain_k) for i in range(X.shape[0])], details

    # -- persistence -------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        meta: dict[str, Any] = {"k_": self.k_, "temperature_": self.temperature_,
                                "platt_": None if self.platt_ is None else [self.platt_.slope,
                                                                           self.platt_.intercept]}
        arrays = {} if self.centre_ is None else {"centre_": self.centre_}
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        self.k_ = int(meta["k_"])
        self.temperature_ = float(meta["temperature_"])
        platt = meta["platt_"]
        self.platt_ = None if platt is None else Platt(float(platt[0]), float(platt[1]))
        self.centre_ = arrays.get("centre_")
