"""A bank of known prompts (texts, labels, categories, unit vectors) with exact chunked cosine search."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors import _io
from harmscope.types import Neighbour

# Similarity blocks are (chunk, n_bank) float32; keep each under ~64 MB.
_BLOCK_FLOATS = 16_000_000


@dataclass(frozen=True)
class Hits:
    """Top-k search results: ``index`` (m, k) int64 rows of the bank, ``similarity`` (m, k) float32,
    most similar first. Slots with no candidate (tiny banks, excluded self-matches) have index -1 and
    similarity -inf."""

    index: NDArray[np.int64]
    similarity: NDArray[np.float32]


def unit_rows(x: NDArray[np.float64], centre: NDArray[np.float64] | None = None) -> NDArray[np.float32]:
    """L2-normalised rows (after subtracting ``centre`` if given); zero rows stay zero. Shape as ``x``."""
    v = x - centre if centre is not None else x
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class Bank:
    """Training prompts as evidence: ``vectors`` (n, dim) float32 unit rows, ``y`` (n,) int64,
    ``category_index`` (n,) int64 into the detector's ``categories_`` (-1 = none)."""

    def __init__(self, texts: list[str], y: NDArray[np.int64], category_index: NDArray[np.int64],
                 vectors: NDArray[np.float32]) -> None:
        self.texts = texts
        self.y = y
        self.category_index = category_index
        self.vectors = vectors
        # Identical texts share an id so leave-one-out search can drop a text's own duplicates too.
        _, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        self._text_id = inverse.astype(np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.texts)

    def search(self, queries: NDArray[np.float32], k: int, *, leave_one_out: bool = False) -> Hits:
        """The ``k`` most cosine-similar bank rows for each unit-norm query row (m, dim).

        ``leave_one_out=True`` means the queries ARE the bank rows (same order): each row's own text and
        exact duplicates of it are excluded, which gives honest out-of-sample scores for calibration.
        """
        m, n = queries.shape[0], len(self)
        k = min(k, n)
        index = np.full((m, k), -1, dtype=np.int64)
        sims = np.full((m, k), -np.inf, dtype=np.float32)
        if m == 0 or k == 0:
            return Hits(index, sims)
        chunk = max(1, _BLOCK_FLOATS // max(n, 1))
        for start in range(0, m, chunk):
            stop = min(start + chunk, m)
            block = queries[start:stop] @ self.vectors.T
            if leave_one_out:
                block[self._text_id[start:stop, None] == self._text_id[None, :]] = -np.inf
            if k < n:
                part = np.argpartition(-block, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(n), (stop - start, n)).copy()
            part_sims = np.take_along_axis(block, part, axis=1)
            order = np.argsort(-part_sims, axis=1, kind="stable")
            top = np.take_along_axis(part, order, axis=1)
            top_sims = np.take_along_axis(part_sims, order, axis=1)
            index[start:stop] = np.where(np.isfinite(top_sims), top, -1)
            sims[start:stop] = top_sims
        return Hits(index, sims)

    def neighbours(self, hits: Hits, row: int, categories: list[str]) -> tuple[Neighbour, ...]:
        """The hits of query ``row`` as typed :class:`Neighbour` records."""
        out = []
        for j, s in zip(hits.index[row], hits.similarity[row]):
            if j < 0:
                continue
            c = int(self.category_index[j])
            out.append(Neighbour(text=self.texts[j], similarity=float(s),
                                 label="unsafe" if self.y[j] == 1 else "safe",
                                 category=categories[c] if c >= 0 else None, index=int(j)))
        return tuple(out)

    # -- persistence -------------------------------------------------------------------------------
    def arrays(self, prefix: str = "bank_") -> dict[str, NDArray[Any]]:
        return {f"{prefix}vectors": self.vectors}

    def save_texts(self, directory: Path) -> None:
        _io.write_lines(directory / _io.BANK_FILE, [
            {"text": t, "y": int(y), "category_index": int(c)}
            for t, y, c in zip(self.texts, self.y, self.category_index)
        ])

    @classmethod
    def restore(cls, directory: Path, arrays: dict[str, NDArray[Any]], prefix: str = "bank_") -> Bank:
        rows = _io.read_lines(directory / _io.BANK_FILE)
        return cls(
            texts=[str(r["text"]) for r in rows],
            y=np.asarray([int(r["y"]) for r in rows], dtype=np.int64),
            category_index=np.asarray([int(r["category_index"]) for r in rows], dtype=np.int64),
            vectors=np.asarray(arrays[f"{prefix}vectors"], dtype=np.float32),
        )
