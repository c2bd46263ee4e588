"""A bank of known prompts (texts, labels, categories, unit vectors) and its similarity index.

Search is exact by default (chunked numpy matmul: every bank row is compared). Large banks can use an
approximate FAISS index instead (HNSW graph or IVF lists, inner product on the unit vectors = cosine),
chosen by ``index``: ``"exact"``, ``"hnsw"``, ``"ivf"`` or ``"auto"`` (HNSW from
:data:`AUTO_ANN_MIN_ROWS` rows up, exact below). Every index answers ``search(queries, k) -> Hits``.
FAISS is imported only when an approximate index is built or loaded. docs/speed.md has the recall and
latency measurements behind the defaults.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from harmscope._blas import single_threaded_blas
from harmscope._workers import thread_budget, worker_pool
from harmscope.detectors import _io
from harmscope.errors import HarmscopeError, MissingPackageError
from harmscope.types import Neighbour

# Similarity blocks are (chunk, n_bank) float32; keep each under ~64 MB.
_BLOCK_FLOATS = 16_000_000
SINGLE_THREAD_MAX_QUERIES = 256
"""Searches of 2 to this many queries (batch scoring) run numpy's BLAS on one thread (harmscope._blas),
split into parts searched side by side, one per thread of harmscope._workers.thread_budget (two by
default): next to the encoder, spinning BLAS threads cost throughput. A search of one query (a single prompt) keeps every BLAS thread:
its matrix-vector product over a 22k-row bank takes ~2.3 ms on one thread and ~1 ms on two, about 2 ms
off the single-prompt p50 (docs/speed.md)."""
_NEAR_TIE = 1e-5
"""Similarities this close to the k-th one are re-scored row by row before choosing (see ExactIndex)."""

IndexKind = Literal["auto", "exact", "hnsw", "ivf"]
INDEX_KINDS: Final[tuple[str, ...]] = ("auto", "exact", "hnsw", "ivf")
AUTO_ANN_MIN_ROWS: Final[int] = 200_000
"""``index="auto"`` switches from exact search to HNSW at this many bank rows. Below it exact search
costs a few ms per query (memory bound: ~1.5 KB read per 384-d row) and gives recall 1."""


@dataclass(frozen=True)
class Hits:
    """Top-k search results: ``index`` (m, k) int64 rows of the bank, ``similarity`` (m, k) float32,
    most similar first. Slots with no candidate (tiny banks, excluded self-matches) have index -1 and
    similarity -inf."""

    index: NDArray[np.int64]
    similarity: NDArray[np.float32]


@dataclass(frozen=True)
class HnswParams:
    """HNSW graph settings: ``m`` links per node, build-time and search-time beam widths."""

    m: int = 32
    ef_construction: int = 80
    ef_search: int = 128


@dataclass(frozen=True)
class IvfParams:
    """IVF settings: ``nlist`` = None picks ~4 * sqrt(n) lists; ``nprobe`` lists are scanned per query."""

    nlist: int | None = None
    nprobe: int = 32


def unit_rows(x: NDArray[np.float64], centre: NDArray[np.float64] | None = None) -> NDArray[np.float32]:
    """L2-normalised rows (after subtracting ``centre`` if given); zero rows stay zero. Shape as ``x``."""
    v = x - centre if centre is not None else x
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class IndexKindError(HarmscopeError, ValueError):
    """An unknown ``index`` kind (a bad hyperparameter, so also a ValueError as in scikit-learn)."""


def check_index_kind(kind: Any) -> str:
    """``kind`` if it is one of :data:`INDEX_KINDS`; IndexKindError naming the valid ones otherwise."""
    if not isinstance(kind, str) or kind not in INDEX_KINDS:
        raise IndexKindError(f"index must be one of {', '.join(INDEX_KINDS)}; got {kind!r}")
    return kind


def resolve_index_kind(kind: str, n_rows: int) -> str:
    """The concrete index for a bank of ``n_rows``: ``auto`` -> ``hnsw`` from :data:`AUTO_ANN_MIN_ROWS`
    rows up, else ``exact``; other kinds unchanged."""
    check_index_kind(kind)
    if kind == "auto":
        return "hnsw" if n_rows >= AUTO_ANN_MIN_ROWS else "exact"
    return kind


class VectorIndex(Protocol):
    """What every index offers: top-k inner-product search over its unit rows."""

    kind: str

    def search(self, queries: NDArray[np.float32], k: int) -> Hits: ...


# -- exact -------------------------------------------------------------------------------------------

_TILE = 64
"""Columns per tile in :func:`_candidates`."""


def _candidates(block: NDArray[np.float32], k: int
                ) -> tuple[NDArray[np.int64], NDArray[np.float32]] | None:
    """Per row of ``block`` (c, n), the columns that can be among its ``k`` largest values or tie with the
    k-th within ``_NEAR_TIE``, as ``(columns, values)`` (c, w), w >= k, padded with -1 / -inf; None when
    the bank has too few tiles for this to save work.

    Why: ``argpartition`` over every column was a third of a batch search. The k-th largest of the rows'
    tile maxima (tiles of ``_TILE`` columns) is a lower bound of the k-th largest value (k tiles each hold
    a value at least that large), and only a few hundred of ~23k values reach it.
    """
    c, n = block.shape
    full = n // _TILE
    if full < 4 * k:
        return None
    maxima = block[:, :full * _TILE].reshape(c, full, _TILE).max(axis=2)
    if full * _TILE < n:
        maxima = np.concatenate([maxima, block[:, full * _TILE:].max(axis=1, keepdims=True)], axis=1)
    floor = np.partition(maxima, maxima.shape[1] - k, axis=1)[:, maxima.shape[1] - k]
    if not np.isfinite(floor).all():  # a row with < k finite similarities (leave-one-out) would keep all n
        return None
    rows, cols = np.nonzero(block >= (floor - _NEAR_TIE)[:, None])
    counts = np.bincount(rows, minlength=c)
    slot = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    width = int(counts.max())
    columns = np.full((c, width), -1, dtype=np.int64)
    values = np.full((c, width), -np.inf, dtype=np.float32)
    columns[rows, slot] = cols
    values[rows, slot] = block[rows, cols]
    return columns, values


class ExactIndex:
    """Brute-force cosine search: each query is compared with every row (chunked to bound memory)."""

    kind = "exact"

    def __init__(self, vectors: NDArray[np.float32]) -> None:
        self.vectors = vectors

    def search(self, queries: NDArray[np.float32], k: int, *,
               groups: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None) -> Hits:
        """Top ``k`` rows per query. ``groups=(query_group, row_group)``: a row whose group equals the
        query's is never returned (leave-one-out search)."""
        m, n = queries.shape[0], self.vectors.shape[0]
        k = min(k, n)
        index = np.full((m, k), -1, dtype=np.int64)
        sims = np.full((m, k), -np.inf, dtype=np.float32)
        if m == 0 or k == 0:
            return Hits(index, sims)
        # per chunk: the (chunk, n) similarities and the (chunk, k, dim) rows re-scored below
        chunk = max(1, _BLOCK_FLOATS // max(n, k * self.vectors.shape[1], 1))
        if not 1 < m <= SINGLE_THREAD_MAX_QUERIES:
            self._search_chunks(queries, k, groups, chunk, index, sims)
            return Hits(index, sims)
        workers = thread_budget()
        parts = [slice(i * m // workers, (i + 1) * m // workers) for i in range(workers)]
        with single_threaded_blas():
            # Parts of a batch side by side, each on one BLAS thread: the products are too small for
            # OpenBLAS's own threads to share well, and those spin afterwards (docs/speed.md).
            done = worker_pool("search", workers).map(
                lambda s: self._search_chunks(queries[s], k, None if groups is None else (groups[0][s], groups[1]),
                                              chunk, index[s], sims[s]),
                [s for s in parts if s.start < s.stop])
            list(done)  # re-raises a worker's error here
        return Hits(index, sims)

    def _search_chunks(self, queries: NDArray[np.float32], k: int,
                       groups: tuple[NDArray[np.int64], NDArray[np.int64]] | None, chunk: int,
                       index: NDArray[np.int64], sims: NDArray[np.float32]) -> None:
        """Fill ``index`` and ``sims`` (m, k) chunk by chunk of queries."""
        m, n = queries.shape[0], self.vectors.shape[0]
        for start in range(0, m, chunk):
            stop = min(start + chunk, m)
            queries_block = queries[start:stop]
            block = queries_block @ self.vectors.T
            if groups is not None:
                block[groups[0][start:stop, None] == groups[1][None, :]] = -np.inf
            if k < n:
                part = self._top_k(queries_block, block, k)
            else:
                part = np.broadcast_to(np.arange(n), (stop - start, n)).copy()
            part_sims = self._rescore(queries_block, part, np.take_along_axis(block, part, axis=1))
            order = np.lexsort((part, -part_sims), axis=1)  # equal similarity: lower row first
            top = np.take_along_axis(part, order, axis=1)
            top_sims = np.take_along_axis(part_sims, order, axis=1).astype(np.float32)
            index[start:stop] = np.where(np.isfinite(top_sims), top, -1)
            sims[start:stop] = top_sims

    def _top_k(self, queries: NDArray[np.float32], block: NDArray[np.float32], k: int) -> NDArray[np.int64]:
        """The columns of the ``k`` largest similarities in each row of ``block`` (c, n), k < n, unordered."""
        pre = _candidates(block, k)
        columns, values = pre if pre is not None else (None, block)
        width = values.shape[1]
        if k < width:
            chosen = np.argpartition(values, width - k, axis=1)[:, width - k:]  # the k largest, no negated copy
        else:
            chosen = np.broadcast_to(np.arange(width), (values.shape[0], width)).copy()
        part = chosen if columns is None else np.take_along_axis(columns, chosen, axis=1)
        # A matrix product rounds the last bits of a similarity differently for a query in a batch than
        # alone, so rows (nearly) tied at the k-th place could be picked differently. Such rows are
        # re-scored one by one (the same arithmetic alone or in a batch) and the lowest row numbers win
        # exact ties.
        kth = np.take_along_axis(values, chosen, axis=1).min(axis=1)
        near = values >= (kth - _NEAR_TIE)[:, None]
        for row in np.flatnonzero(near.sum(axis=1) > k):
            at = np.flatnonzero(near[row])
            candidates = at if columns is None else columns[row, at]
            rescored = self._rescore(queries[row:row + 1], candidates[None, :], values[row:row + 1, at])[0]
            part[row] = candidates[np.lexsort((candidates, -rescored))[:k]]
        return part

    def _rescore(self, queries: NDArray[np.float32], rows: NDArray[np.int64],
                 batch_sims: NDArray[np.float32]) -> NDArray[np.float32]:
        """Similarities of ``rows`` (m, c) to ``queries`` (m, dim) computed pair by pair, the same bits whatever
        else is searched with them (``einsum`` without ``optimize`` runs its own per-pair loop, no BLAS: ~6x
        faster than a product-then-sum at k = 80); excluded rows (-inf in ``batch_sims``) stay -inf."""
        exact = np.einsum("mcd,md->mc", self.vectors[rows], queries)
        return np.where(np.isfinite(batch_sims), exact, -np.inf).astype(np.float32)


# -- FAISS ---------------------------------------------------------------------------------------------

def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise MissingPackageError("faiss-cpu", "an approximate (hnsw/ivf) similarity index",
                                  "pip install faiss-cpu==1.15.1") from None
    return faiss


class FaissIndex:
    """An approximate FAISS index (``hnsw`` or ``ivf``) over unit rows, inner-product metric."""

    def __init__(self, kind: str, index: Any) -> None:
        self.kind = kind
        self.index = index

    @classmethod
    def build(cls, vectors: NDArray[np.float32], kind: str, *, hnsw: HnswParams | None = None,
              ivf: IvfParams | None = None) -> FaissIndex:
        """Build a ``kind`` index over ``vectors`` (n, dim) float32 unit rows."""
        faiss = _faiss()
        hnsw, ivf = hnsw or HnswParams(), ivf or IvfParams()
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = x.shape
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, hnsw.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = hnsw.ef_construction
            index.hnsw.efSearch = hnsw.ef_search
        elif kind == "ivf":
            nlist = ivf.nlist or max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = x if n <= 64 * nlist else x[np.sort(rng.choice(n, 64 * nlist, replace=False))]
            index.train(sample)
            index.nprobe = min(ivf.nprobe, nlist)
        else:
            raise HarmscopeError(f"FaissIndex builds 'hnsw' or 'ivf', not {kind!r}")
        if n:
            index.add(x)
        return cls(kind, index)

    def search(self, queries: NDArray[np.float32], k: int) -> Hits:
        m = queries.shape[0]
        k = min(k, int(self.index.ntotal))
        if m == 0 or k == 0:
            return Hits(np.full((m, k), -1, dtype=np.int64), np.full((m, k), -np.inf, dtype=np.float32))
        sims, index = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        index = index.astype(np.int64, copy=False)
        sims = np.where(index >= 0, sims, -np.inf).astype(np.float32, copy=False)
        return Hits(index, sims)

    def serialize(self) -> NDArray[np.uint8]:
        """FAISS's own binary format as a uint8 array (stored in ``arrays.npz``; no pickle)."""
        return np.asarray(_faiss().serialize_index(self.index), dtype=np.uint8)

    @classmethod
    def deserialize(cls, kind: str, data: NDArray[np.uint8]) -> FaissIndex:
        return cls(kind, _faiss().deserialize_index(np.asarray(data, dtype=np.uint8)))


def build_index(vectors: NDArray[np.float32], kind: str) -> ExactIndex | FaissIndex:
    """The index named ``kind`` (``auto`` resolved by the row count) over ``vectors``."""
    concrete = resolve_index_kind(kind, vectors.shape[0])
    if concrete == "exact":
        return ExactIndex(vectors)
    return FaissIndex.build(vectors, concrete)


# -- the bank ------------------------------------------------------------------------------------------

class Bank:
    """Training prompts as evidence: ``vectors`` (n, dim) float32 unit rows, ``y`` (n,) int64,
    ``category_index`` (n,) int64 into the detector's ``categories_`` (-1 = none).

    ``index`` picks the search structure (see the module doc). The index is built on the first search
    (or restored from a saved one). The last search result is remembered, so explaining a prompt (score,
    category and neighbours of the same query) searches once.
    """

    def __init__(self, texts: list[str], y: NDArray[np.int64], category_index: NDArray[np.int64],
                 vectors: NDArray[np.float32], *, index: str = "auto") -> None:
        self.texts = texts
        self.y = y
        self.category_index = category_index
        self.vectors = vectors
        self.index_kind = check_index_kind(index)
        # Identical texts share an id so leave-one-out search can drop a text's own duplicates too.
        _, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        self._text_id = inverse.astype(np.int64).reshape(-1)
        self._index: ExactIndex | FaissIndex | None = None
        self._build_lock = threading.Lock()
        self._last: tuple[tuple[Any, ...], Hits] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def index(self) -> ExactIndex | FaissIndex:
        """The search index (built now if needed)."""
        found = self._index
        if found is None:
            with self._build_lock:
                if self._index is None:
                    self._index = build_index(self.vectors, self.index_kind)
                found = self._index
        return found

    def search(self, queries: NDArray[np.float32], k: int, *, leave_one_out: bool = False) -> Hits:
        """The ``k`` most cosine-similar bank rows for each unit-norm query row (m, dim).

        ``leave_one_out=True`` means the queries ARE the bank rows (same order): each row's own text and
        exact duplicates of it are excluded, which gives honest out-of-sample scores for calibration.
        The returned arrays are read-only (they may be shared with the next identical search).
        """
        q = np.ascontiguousarray(queries, dtype=np.float32)
        key = (k, leave_one_out, q.shape, hashlib.blake2b(q.tobytes(), digest_size=16).digest())
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        hits = self._search(q, k, leave_one_out)
        hits.index.setflags(write=False)
        hits.similarity.setflags(write=False)
        self._last = (key, hits)
        return hits

    def _search(self, queries: NDArray[np.float32], k: int, leave_one_out: bool) -> Hits:
        index = self.index
        if isinstance(index, ExactIndex):
            groups = (self._text_id[:queries.shape[0]], self._text_id) if leave_one_out else None
            return index.search(queries, k, groups=groups)
        if not leave_one_out:
            return index.search(queries, k)
        # Approximate leave-one-out: ask for enough extra rows to cover a text's duplicates, drop them.
        m, n = queries.shape[0], len(self)
        k = min(k, n)
        extra = int(np.bincount(self._text_id).max()) if n else 0
        wide = index.search(queries, min(n, k + extra))
        keep = (wide.index >= 0) & (self._text_id[np.maximum(wide.index, 0)] != self._text_id[:m, None])
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # kept slots first, in similarity order
        top = np.take_along_axis(wide.index, order, axis=1)
        top_keep = np.take_along_axis(keep, order, axis=1)
        top_sims = np.take_along_axis(wide.similarity, order, axis=1)
        return Hits(np.where(top_keep, top, -1), np.where(top_keep, top_sims, -np.inf).astype(np.float32))

    def neighbours(self, hits: Hits, row: int, categories: list[str], limit: int | None = None
                   ) -> tuple[Neighbour, ...]:
        """The hits of query ``row`` (the first ``limit`` of them, nearest first) as :class:`Neighbour` records."""
        out = []
        for j, s in zip(hits.index[row][:limit], hits.similarity[row][:limit]):
            if j < 0:
                continue
            c = int(self.category_index[j])
            out.append(Neighbour(text=self.texts[j], similarity=float(s),
                                 label="unsafe" if self.y[j] == 1 else "safe",
                                 category=categories[c] if c >= 0 else None, index=int(j)))
        return tuple(out)

    # -- persistence -------------------------------------------------------------------------------
    def arrays(self, prefix: str = "bank_") -> dict[str, NDArray[Any]]:
        """Arrays to save: the vectors, the index kind and, for a FAISS index, the built index itself
        (so loading does not rebuild it)."""
        out: dict[str, NDArray[Any]] = {f"{prefix}vectors": self.vectors,
                                        f"{prefix}index_kind": np.asarray(self.index_kind)}
        index = self.index if resolve_index_kind(self.index_kind, len(self)) != "exact" else None
        if isinstance(index, FaissIndex):
            out[f"{prefix}faiss_{index.kind}"] = index.serialize()
        return out

    def save_texts(self, directory: Path) -> None:
        _io.write_lines(directory / _io.BANK_FILE, [
            {"text": t, "y": int(y), "category_index": int(c)}
            for t, y, c in zip(self.texts, self.y, self.category_index)
        ])

    @classmethod
    def restore(cls, directory: Path, arrays: dict[str, NDArray[Any]], prefix: str = "bank_") -> Bank:
        rows = _io.read_lines(directory / _io.BANK_FILE)
        kind_array = arrays.get(f"{prefix}index_kind")
        bank = cls(
            texts=[str(r["text"]) for r in rows],
            y=np.asarray([int(r["y"]) for r in rows], dtype=np.int64),
            category_index=np.asarray([int(r["category_index"]) for r in rows], dtype=np.int64),
            vectors=np.asarray(arrays[f"{prefix}vectors"], dtype=np.float32),
            index="auto" if kind_array is None else str(kind_array),
        )
        concrete = resolve_index_kind(bank.index_kind, len(bank))
        saved = arrays.get(f"{prefix}faiss_{concrete}")
        if saved is not None:
            bank._index = FaissIndex.deserialize(concrete, saved)
        return bank

    def set_index(self, kind: str) -> None:
        """Use index ``kind`` from now on (a saved index of another kind is dropped; built on next search)."""
        kind = check_index_kind(kind)
        if kind != self.index_kind:
            self.index_kind = kind
            self._index = None
            self._last = None
