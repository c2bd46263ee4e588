"""Explicit registries: name -> ``"module:attr"``, imported only when used.

Each table is a plain constant. A name may be exact (``"minilm"``) or a prefix scheme ending in ``":"``
(``"st:"``, ``"openai:"``, ``"hs:"``); the factory of a scheme receives the text after the prefix.
Nothing here imports a heavy library.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harmscope.errors import UnknownNameError


@dataclass(frozen=True)
class Registry:
    """A read-only table of named factories."""

    kind: str
    """What the table holds ("encoder", "dataset", "detector"), used in error messages."""
    entries: Mapping[str, str]
    """Exact names -> ``"module:attr"``."""
    schemes: Mapping[str, str]
    """Prefixes such as ``"st:"`` -> ``"module:attr"`` of a factory taking the rest of the name."""

    def names(self) -> list[str]:
        """Exact names, then schemes as ``prefix<...>``."""
        return sorted(self.entries) + [f"{p}<...>" for p in sorted(self.schemes)]

    def resolve(self, name: str) -> tuple[Any, str | None]:
        """The factory for ``name`` and, for a scheme, the argument after the prefix."""
        if name in self.entries:
            return _import(self.entries[name]), None
        for prefix, target in self.schemes.items():
            if name.startswith(prefix):
                return _import(target), name[len(prefix):]
        raise UnknownNameError(self.kind, name, self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name in self.entries or any(name.startswith(p) for p in self.schemes)
        )


def _import(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


ENCODERS = Registry(
    kind="encoder",
    entries={
        "minilm": "harmscope.encoders._sentence:minilm",
        "mpnet": "harmscope.encoders._sentence:mpnet",
        "minilm-int8": "harmscope.encoders._onnx:minilm_int8",
        "paraphrase-l3": "harmscope.encoders._onnx:paraphrase_l3",
        "e5-small": "harmscope.encoders._e5:e5_small",
        "hashing": "harmscope.encoders._hashing:hashing",
    },
    schemes={
        "st:": "harmscope.encoders._sentence:from_path",
        "openai:": "harmscope.encoders._remote:openai_embeddings",
        "hs:": "harmscope.encoders._hidden_states:hidden_states",
    },
)

# Owned by harmscope.data: one entry per dataset (and named subset) in ../shared/data, plus the
# path-based loaders of benchmarks that are not shipped (their factories take the PATH).
DATASETS = Registry(
    kind="dataset",
    entries={},
    schemes={},
)

# Detectors: scikit-learn style estimators (harmscope.detectors).
DETECTORS = Registry(
    kind="detector",
    entries={
        "knn": "harmscope.detectors._knn:KNNDetector",
        "probe-lr": "harmscope.detectors._probe:LogisticProbe",
        "probe-mlp": "harmscope.detectors._probe:MLPProbe",
        "prototype": "harmscope.detectors._prototype:PrototypeDetector",
        "ensemble": "harmscope.detectors._ensemble:EnsembleDetector",
    },
    schemes={},
)
