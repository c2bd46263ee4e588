"""The encoder interface and the batching/caching machinery every encoder shares."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from harmscope._progress import progress
from harmscope.encoders._cache import EmbeddingCache

_CACHE_OFF: contextvars.ContextVar[bool] = contextvars.ContextVar("harmscope_embedding_cache_off", default=False)


@contextmanager
def embedding_cache_disabled() -> Iterator[None]:
    """Within this block (this thread/context only) encoders neither read nor write the SQLite cache.

    For batch scoring of unique prompts, where the cache only costs: a lookup per text that misses and
    about 2 KB written per MiniLM vector (2 GB per million prompts).
    """
    token = _CACHE_OFF.set(True)
    try:
        yield
    finally:
        _CACHE_OFF.reset(token)


@runtime_checkable
class Encoder(Protocol):
    """Text -> vectors. ``encode`` returns a float32 array of shape (n_texts, dim)."""

    id: str

    def encode(self, texts: Sequence[str], /) -> NDArray[np.float32]: ...


class BatchedEncoder:
    """Base class: subclasses implement ``_encode_batch``; this adds batching, progress and the cache.

    Texts already in the on-disk cache (keyed by encoder id + SHA-256 of the text) are not recomputed,
    so a second run of the same task only pays for loading the cache.
    """

    id: str = "base"
    batch_size: int = 32

    def __init__(self, *, use_cache: bool = True) -> None:
        self.use_cache = use_cache
        self._cache: EmbeddingCache | None = None

    # -- to implement -------------------------------------------------------------------------------
    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """Encode one batch; shape (len(texts), dim)."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------
    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = EmbeddingCache(self.id)
        return self._cache

    def encode(self, texts: Sequence[str], /) -> NDArray[np.float32]:
        """Encode ``texts``; array of shape (len(texts), dim), float32, row i for texts[i]."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        use_cache = self.use_cache and not _CACHE_OFF.get()
        cached = self.cache.get_many(texts) if use_cache else [None] * len(texts)
        # Batches of similar length waste little on padding: on mixed data (short questions next to
        # 500-token jailbreaks) this is several times faster than input order.
        missing = sorted({t for t, v in zip(texts, cached) if v is None}, key=lambda t: (len(t), t))
        fresh: dict[str, NDArray[np.float32]] = {}
        if missing:
            batches = [missing[i:i + self.batch_size] for i in range(0, len(missing), self.batch_size)]
            for batch in progress(batches, total=len(batches), desc=f"encode {self.id}", unit="batch"):
                vectors = np.asarray(self._encode_batch(batch), dtype=np.float32)
                if vectors.shape[0] != len(batch):
                    raise RuntimeError(f"encoder {self.id} returned {vectors.shape[0]} rows for {len(batch)}")
                batch_vectors = dict(zip(batch, vectors))
                fresh.update(batch_vectors)
                if use_cache:
                    # Written per batch, so an interrupted long run keeps what it computed.
                    self.cache.put_many(batch_vectors)
        rows = [v if v is not None else fresh[t] for t, v in zip(texts, cached)]
        return np.stack(rows).astype(np.float32, copy=False)

    @property
    def dim(self) -> int:
        """Vector width; subclasses that know it without a forward pass override this."""
        return int(self._encode_batch(["dimension probe"]).shape[1])


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of strings, not one string; wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"encode(): item {i} is {type(t).__name__}, expected str")
    return out
