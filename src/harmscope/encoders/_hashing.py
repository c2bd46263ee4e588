"""A deterministic, dependency-free encoder for tests and pure-logic checks (not for real use)."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.encoders._base import BatchedEncoder


class HashingEncoder(BatchedEncoder):
    """Bag of hashed word unigrams and bigrams, L2-normalised. Similar wording -> similar vectors."""

    def __init__(self, *, dim: int = 256, use_cache: bool = False) -> None:
        super().__init__(use_cache=use_cache)
        self._dim = dim
        self.id = f"hashing-{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = text.lower().split()
            for token in words + [a + " " + b for a, b in itertools.pairwise(words)]:
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                out[row, h % self._dim] += 1.0 if (h >> 63) else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def hashing(**kwargs: Any) -> HashingEncoder:
    return HashingEncoder(**kwargs)
