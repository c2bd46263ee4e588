"""Layer sweep: which hidden layer of a small LM best separates unsafe from safe prompts?

For every layer of ``lm`` a detector (``probe-lr`` by default) is fitted on that layer's pooled hidden
states of a capped, seeded, label-stratified subset of ``pool.train`` and scored on a capped subset of
``pool.val``. Each text passes through the LM once (:func:`hidden_states_all_layers` returns every layer
and fills the per-layer embedding caches), so a sweep costs one forward pass per text plus one small fit
per layer. Only training-side data is used: the sweep picks a representation, it is not an evaluation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from harmscope.errors import HarmscopeError

if TYPE_CHECKING:
    from harmscope.detectors._default import PoolExampleLike, PoolLike

DEFAULT_LM = "smollm2-135m"
DEFAULT_DETECTOR = "probe-lr"
DEFAULT_MAX_TRAIN = 1200
"""Training texts per sweep (seeded, label-stratified): ~1 minute of smollm2-135m forward passes on 2 cores."""
DEFAULT_MAX_VAL = 600

FeatureFn = Callable[[list[str]], NDArray[np.float32]]
"""texts -> (n_layers + 1, n, width) hidden states, like :func:`hidden_states_all_layers`."""


@dataclass(frozen=True)
class LayerScore:
    """Validation figures of the detector fitted on one layer."""

    layer: int
    f1: float
    """F1 at the detector's own threshold (0.5 unless the spec sets one)."""
    precision: float
    recall: float
    best_f1: float
    """Best F1 over all thresholds on the same validation texts (optimistic: the threshold is tuned on them)."""
    auprc: float | None


@dataclass(frozen=True)
class LayerSweepResult:
    """One row per swept layer, and what was swept."""

    lm: str
    detector: str | dict[str, Any]
    pooling: str
    chat: bool
    n_train: int
    n_train_unsafe: int
    n_val: int
    n_val_unsafe: int
    seed: int
    scores: tuple[LayerScore, ...]
    feature_seconds: float
    fit_seconds: float

    @property
    def best(self) -> LayerScore:
        """The layer with the highest F1 (ties: best AUPRC, then the lowest layer)."""
        return max(self.scores, key=lambda s: (s.f1, s.auprc or 0.0, -s.layer))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = [asdict(s) for s in self.scores]
        out["best_layer"] = self.best.layer
        return out

    def plot(self, ax: Any = None) -> Any:
        """Validation F1 (and best-threshold F1, AUPRC) against layer; returns the matplotlib Figure."""
        if ax is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            figure = Figure(figsize=(7.0, 4.0), layout="constrained")
            FigureCanvasAgg(figure)
            ax = figure.subplots()
        layers = [s.layer for s in self.scores]
        ax.plot(layers, [s.f1 for s in self.scores], marker="o", label="F1 @ threshold")
        ax.plot(layers, [s.best_f1 for s in self.scores], marker=".", linestyle="--", label="best F1 (tuned on val)")
        ax.plot(layers, [s.auprc if s.auprc is not None else np.nan for s in self.scores], marker=".",
                linestyle=":", label="AUPRC")
        best = self.best
        ax.axvline(best.layer, color="grey", linewidth=0.8)
        kind = self.detector if isinstance(self.detector, str) else str(self.detector.get("type", "detector"))
        ax.set_title(f"{self.lm} ({self.pooling}{', chat' if self.chat else ''}) + {kind}: "
                     f"best layer {best.layer}, F1 {best.f1:.3f}")
        ax.set_xlabel("layer (0 = token embeddings)")
        ax.set_ylabel(f"validation score (n={self.n_val})")
        ax.set_ylim(0.0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        return ax.figure

    def save_png(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.plot().savefig(target, dpi=120)
        return target


def stratified_sample(examples: Sequence[PoolExampleLike], cap: int | None, seed: int) -> list[PoolExampleLike]:
    """At most ``cap`` examples, each label kept in proportion (seeded); original order kept."""
    items = list(examples)
    if cap is None or len(items) <= cap:
        return items
    rng = random.Random(f"layer-sweep:{seed}")
    chosen: list[int] = []
    for label in (1, 0):
        idx = [i for i, e in enumerate(items) if int(e.y) == label]
        take = max(1, round(cap * len(idx) / len(items))) if idx else 0
        chosen.extend(rng.sample(idx, min(take, len(idx))))
    return [items[i] for i in sorted(chosen)]


def _representation(lm: str, layer: int, pooling: str, chat: bool) -> str:
    return f"hs:{lm}@{layer}:{pooling}" + (":chat" if chat else "")


def _check_cap(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 4):
        raise HarmscopeError(f"{name} must be an integer >= 4 (or None for no cap), got {value!r}")


def layer_sweep(
    lm: str = DEFAULT_LM,
    *,
    detector: str | dict[str, Any] = DEFAULT_DETECTOR,
    pool: PoolLike | None = None,
    layers: Sequence[int] | None = None,
    pooling: str = "last",
    chat: bool = False,
    max_train: int | None = DEFAULT_MAX_TRAIN,
    max_val: int | None = DEFAULT_MAX_VAL,
    seed: int = 0,
    features: FeatureFn | None = None,
) -> LayerSweepResult:
    """Fit ``detector`` on each layer's hidden states of (a sample of) ``pool.train``; score ``pool.val``.

    ``layers``: layer indices (negative from the end), default all ``0..n_layers``. ``features``: texts ->
    (n_layers + 1, n, width) array; default :func:`hidden_states_all_layers` of ``lm`` (tests pass a fake).
    ``pool`` defaults to ``harmscope.data.build_pool()``.
    """
    from harmscope.detectors import build_detector
    from harmscope.detectors._base import check_categories, check_labels
    from harmscope.detectors._ensemble import parse_spec
    from harmscope.encoders._lm import POOLINGS
    from harmscope.metrics._classification import binary_report

    if pooling not in POOLINGS:
        raise HarmscopeError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    _check_cap("max_train", max_train)
    _check_cap("max_val", max_val)
    kind, params = parse_spec(detector)
    if kind == "ensemble":
        raise HarmscopeError("layer-sweep fits one detector per layer; give a single type such as probe-lr, "
                             "knn or prototype, not an ensemble")
    if pool is None:
        from harmscope.data import build_pool

        pool = build_pool()
    train = stratified_sample(pool.train, max_train, seed)
    val = stratified_sample(pool.val, max_val, seed + 1)
    y_train = check_labels([int(e.y) for e in train], len(train))
    y_val = np.asarray([int(e.y) for e in val], dtype=np.int64)
    if len(set(y_val.tolist())) < 2:
        raise HarmscopeError("the validation sample needs safe and unsafe texts; raise max_val")

    texts = [e.text for e in train] + [e.text for e in val]
    feature_fn: FeatureFn
    if features is None:
        from harmscope.encoders._hidden_states import hidden_states_all_layers, normalize_layer

        n_layers = _n_layers(lm)
        chosen = sorted({normalize_layer(lm, int(x)) for x in layers} if layers is not None
                        else range(n_layers + 1))

        def feature_fn(batch: list[str]) -> NDArray[np.float32]:
            return hidden_states_all_layers(lm, batch, pooling, chat)
    else:
        feature_fn = features
        chosen = [] if layers is None else sorted({int(x) for x in layers})
    t0 = time.perf_counter()
    states = np.asarray(feature_fn(texts))
    feature_seconds = time.perf_counter() - t0
    if states.ndim != 3 or states.shape[1] != len(texts):
        raise HarmscopeError(f"hidden states have shape {states.shape}; expected (n_layers + 1, {len(texts)}, width)")
    if not chosen:
        chosen = list(range(states.shape[0]))
    bad = [x for x in chosen if not 0 <= x < states.shape[0]]
    if bad:
        raise HarmscopeError(f"layer(s) {bad} out of range 0..{states.shape[0] - 1}")

    names, cat_index = check_categories(None, y_train)
    n_train = len(train)
    rows: list[LayerScore] = []
    t1 = time.perf_counter()
    for layer in chosen:
        layer_params = dict(params)
        det = build_detector({"type": kind, "params": layer_params})
        valid = det.get_params()
        if "representation" in valid:
            layer_params["representation"] = _representation(lm, layer, pooling, chat)
        if "explain_k" in valid:
            layer_params["explain_k"] = 0  # no bank: the sweep never explains
        det = build_detector({"type": kind, "params": layer_params})
        X = states[layer].astype(np.float64)
        det._fit_encoded(X[:n_train], y_train, names, cat_index, [e.text for e in train])
        scores = np.clip(det._proba_arrays(X[n_train:]).astype(np.float64), 0.0, 1.0)
        report = binary_report(y_val, scores, threshold=float(getattr(det, "threshold", 0.5)))
        rows.append(LayerScore(layer=layer, f1=report.f1, precision=report.precision, recall=report.recall,
                               best_f1=_best_f1(y_val, scores), auprc=report.auprc))
    fit_seconds = time.perf_counter() - t1
    return LayerSweepResult(
        lm=lm, detector=detector, pooling=pooling, chat=chat, n_train=n_train, n_train_unsafe=int(y_train.sum()),
        n_val=len(val), n_val_unsafe=int(y_val.sum()), seed=seed, scores=tuple(rows),
        feature_seconds=feature_seconds, fit_seconds=fit_seconds,
    )


def _n_layers(lm: str) -> int:
    from harmscope.encoders._lm import lm_spec

    return lm_spec(lm).n_layers


def _best_f1(y: NDArray[np.int64], scores: NDArray[np.float64]) -> float:
    from harmscope.detectors._threshold import select_threshold

    return select_threshold(y, scores, method="max_f1").f1


__all__ = ["DEFAULT_MAX_TRAIN", "DEFAULT_MAX_VAL", "LayerScore", "LayerSweepResult", "layer_sweep",
           "stratified_sample"]
