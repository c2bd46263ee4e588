"""Text -> feature matrix through any registered encoder, with one encoder object per id per process."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from harmscope.encoders import Encoder, get_encoder
from harmscope.errors import HarmscopeError

# Building an encoder can load a model (seconds, hundreds of MB); detectors, their clones and ensemble
# members that name the same representation share one instance.
_ENCODERS: dict[str, Encoder] = {}
_LOCK = threading.Lock()


def encoder_for(representation: str) -> Encoder:
    """The (shared) encoder for an encoder id such as ``"minilm"``, ``"hashing"`` or ``"hs:<lm>@<layer>"``."""
    if not isinstance(representation, str) or not representation:
        raise TypeError(
            f"representation must be an encoder id string (e.g. 'minilm', 'hashing'), "
            f"got {type(representation).__name__}"
        )
    with _LOCK:
        encoder = _ENCODERS.get(representation)
        if encoder is None:
            encoder = get_encoder(representation)
            _ENCODERS[representation] = encoder
    return encoder


def encode(representation: str, texts: Sequence[str]) -> NDArray[np.float64]:
    """Encode ``texts`` with ``representation``; float64 array of shape (len(texts), dim)."""
    vectors = np.asarray(encoder_for(representation).encode(list(texts)), dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise HarmscopeError(
            f"encoder {representation!r} returned shape {vectors.shape} for {len(texts)} texts"
        )
    if not np.all(np.isfinite(vectors)):
        raise HarmscopeError(f"encoder {representation!r} returned NaN or infinite values")
    return vectors
