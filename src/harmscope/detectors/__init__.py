"""Detectors: scikit-learn-style estimators that score how likely a prompt is unsafe, and say why.

``build_detector("knn")`` or ``build_detector({"type": "knn", "params": {"k": 5}})`` builds any registered
detector (knn, probe-lr, probe-mlp, prototype, ensemble); ``load_detector(folder)`` loads a saved one.
Nothing heavy is imported here: scikit-learn loads when a detector is fitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harmscope.detectors._base import BaseDetector, Detector, NotFittedError, clone
from harmscope.detectors._default import (
    DEFAULT_SPEC,
    PRESETS,
    PoolFit,
    fit_and_validate,
    fit_on_pool,
    load_default,
)
from harmscope.detectors._threshold import ThresholdChoice, select_threshold
from harmscope.errors import HarmscopeError
from harmscope.registry import DETECTORS

__all__ = [
    "DEFAULT_SPEC",
    "PRESETS",
    "BaseDetector",
    "Detector",
    "NotFittedError",
    "PoolFit",
    "ThresholdChoice",
    "build_detector",
    "clone",
    "fit_and_validate",
    "fit_on_pool",
    "list_detectors",
    "load_default",
    "load_detector",
    "select_threshold",
]


def build_detector(spec: str | dict[str, Any], /) -> BaseDetector:
    """An unfitted detector from ``"knn"`` or ``{"type": "knn", "params": {"k": 5, ...}}``.

    Raises :class:`harmscope.errors.UnknownNameError` for an unknown type and HarmscopeError naming the
    valid parameters for an unknown parameter.
    """
    from harmscope.detectors._base import _class_for
    from harmscope.detectors._ensemble import parse_spec

    kind, params = parse_spec(spec)
    cls = _class_for(kind)
    valid = cls._param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise HarmscopeError(f"detector {kind!r} has no parameter(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(valid)}")
    return cls(**params)


def load_detector(directory: str | Path, /) -> BaseDetector:
    """Load any detector saved with ``detector.save(folder)``."""
    return BaseDetector.load(directory)


def list_detectors() -> list[str]:
    return DETECTORS.names()
