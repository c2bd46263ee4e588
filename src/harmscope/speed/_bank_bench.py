"""Recall@k and query latency of the approximate bank indexes (HNSW, IVF) against exact search.

Random unit vectors are a poor proxy for sentence embeddings: in 384 dimensions they are all nearly
orthogonal, so every neighbour is equally far and recall says little. :func:`clustered_unit_vectors`
draws a two-level Gaussian mixture on the sphere instead (topics -> sub-clusters -> points, plus a shared
direction), which gives embedding-like structure: points of one sub-cluster have cosine ~0.5, two random
points ~0.09 (the average cosine of real sentence encoders is of that order, e.g. 0.09 for mpnet).
Used by ``benchmarks/bank_recall.py`` and the bank tests.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors._bank import ExactIndex, FaissIndex, HnswParams, IvfParams


def clustered_unit_vectors(n: int, dim: int = 384, *, seed: int = 0, points_per_cluster: int = 250,
                           topics: int = 64, chunk: int = 50_000) -> NDArray[np.float32]:
    """``n`` unit rows (float32) from a two-level Gaussian mixture on the sphere (see the module doc).

    The same ``seed`` and sizes give the same vectors; queries for a bank are drawn with another seed
    but the same mixture via :func:`clustered_queries`.
    """
    centres = _mixture(n, dim, seed, points_per_cluster, topics)
    return _sample(centres, n, dim, np.random.default_rng(seed + 1), chunk)


def clustered_queries(n_bank: int, n_queries: int, dim: int = 384, *, seed: int = 0,
                      points_per_cluster: int = 250, topics: int = 64) -> NDArray[np.float32]:
    """Fresh points of the same mixture as ``clustered_unit_vectors(n_bank, dim, seed=seed)``."""
    centres = _mixture(n_bank, dim, seed, points_per_cluster, topics)
    return _sample(centres, n_queries, dim, np.random.default_rng(seed + 1_000_003), 50_000)


def _mixture(n: int, dim: int, seed: int, points_per_cluster: int, topics: int) -> NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    shared = _unit(rng.normal(size=(1, dim)))
    topic = _unit(_unit(rng.normal(size=(topics, dim))) + 0.7 * shared)
    n_clusters = max(1, n // points_per_cluster)
    cluster = _unit(topic[rng.integers(0, topics, n_clusters)] + rng.normal(size=(n_clusters, dim)) / np.sqrt(dim))
    return cluster.astype(np.float32)


def _sample(centres: NDArray[np.float32], n: int, dim: int, rng: np.random.Generator,
            chunk: int) -> NDArray[np.float32]:
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        which = rng.integers(0, centres.shape[0], stop - start)
        noise = rng.standard_normal(size=(stop - start, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
        out[start:stop] = _unit(centres[which] + noise)
    return out


def _unit(x: NDArray[Any]) -> NDArray[Any]:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    result: NDArray[Any] = x / np.where(norms == 0, 1.0, norms)
    return result


def recall_at_k(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Mean share of each row's true top-k (``truth`` (m, k)) that ``found`` (m, k) returned."""
    if truth.size == 0:
        return 1.0
    hits = sum(len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) for f, t in zip(found, truth))
    return hits / float(np.count_nonzero(truth >= 0))


@dataclass(frozen=True)
class IndexFigures:
    """One index on one bank: build time, recall@k against exact search, single-query latency."""

    n_bank: int
    index: str
    build_s: float
    recall_at_k: float
    p50_ms: float
    p99_ms: float
    n_queries: int


@dataclass(frozen=True)
class BankBenchReport:
    """Every (bank size, index) measured, with the settings used."""

    dim: int
    k: int
    hnsw: HnswParams
    ivf: IvfParams
    rows: tuple[IndexFigures, ...]

    def to_json(self) -> dict[str, Any]:
        return {"dim": self.dim, "k": self.k, "hnsw": asdict(self.hnsw), "ivf": asdict(self.ivf),
                "rows": [asdict(r) for r in self.rows]}


def _latencies(search: Any, queries: NDArray[np.float32], k: int) -> tuple[float, float]:
    search(queries[:1], k)  # warm-up
    times = []
    for i in range(queries.shape[0]):
        start = time.perf_counter()
        search(queries[i:i + 1], k)
        times.append((time.perf_counter() - start) * 1000.0)
    p50, p99 = np.percentile(times, [50, 99])
    return float(p50), float(p99)


def bench_bank(n: int, *, dim: int = 384, k: int = 10, n_queries: int = 200, exact_latency_queries: int = 100,
               indexes: tuple[str, ...] = ("exact", "hnsw", "ivf"), hnsw: HnswParams | None = None,
               ivf: IvfParams | None = None, seed: int = 0, ef_search: tuple[int, ...] = (),
               nprobe: tuple[int, ...] = ()) -> list[IndexFigures]:
    """Build each of ``indexes`` over ``n`` clustered vectors and measure it against exact search.

    Recall uses ``n_queries`` fresh queries of the same mixture; latency is per single query (batch of
    one), over ``n_queries`` queries (``exact_latency_queries`` for exact search, which is slow on big banks).
    """
    vectors = clustered_unit_vectors(n, dim, seed=seed)
    queries = clustered_queries(n, n_queries, dim, seed=seed)
    return bench_vectors(vectors, queries, k=k, exact_latency_queries=exact_latency_queries, indexes=indexes,
                         hnsw=hnsw, ivf=ivf, ef_search=ef_search, nprobe=nprobe)


def held_out_split(vectors: NDArray[np.float32], n_queries: int, *, seed: int = 0
                   ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(bank, queries): ``n_queries`` random rows of ``vectors`` held out as queries (for a real bank, e.g.
    a saved detector's, whose rows would otherwise find themselves)."""
    rng = np.random.default_rng(seed)
    picked = np.zeros(vectors.shape[0], dtype=bool)
    picked[rng.choice(vectors.shape[0], min(n_queries, vectors.shape[0] - 1), replace=False)] = True
    return np.ascontiguousarray(vectors[~picked]), np.ascontiguousarray(vectors[picked])


def bench_vectors(vectors: NDArray[np.float32], queries: NDArray[np.float32], *, k: int = 10,
                  exact_latency_queries: int = 100, indexes: tuple[str, ...] = ("exact", "hnsw", "ivf"),
                  hnsw: HnswParams | None = None, ivf: IvfParams | None = None,
                  ef_search: tuple[int, ...] = (), nprobe: tuple[int, ...] = ()) -> list[IndexFigures]:
    """:func:`bench_bank` on given unit ``vectors`` (the bank) and ``queries``. ``ef_search`` / ``nprobe``:
    more search settings to time on the same built HNSW / IVF index (rows named ``hnsw ef=128``...)."""
    hnsw, ivf = hnsw or HnswParams(), ivf or IvfParams()
    n, n_queries = vectors.shape[0], queries.shape[0]
    exact = ExactIndex(vectors)
    truth = exact.search(queries, k).index
    rows = []
    for kind in indexes:
        if kind == "exact":
            p50, p99 = _latencies(exact.search, queries[:exact_latency_queries], k)
            rows.append(IndexFigures(n, "exact", 0.0, 1.0, p50, p99, min(n_queries, exact_latency_queries)))
            continue
        start = time.perf_counter()
        built = FaissIndex.build(vectors, kind, hnsw=hnsw, ivf=ivf)
        build_s = time.perf_counter() - start
        found = built.search(queries, k).index
        p50, p99 = _latencies(built.search, queries, k)
        rows.append(IndexFigures(n, kind, build_s, recall_at_k(found, truth), p50, p99, n_queries))
        default = hnsw.ef_search if kind == "hnsw" else ivf.nprobe
        for value in (v for v in (ef_search if kind == "hnsw" else nprobe) if v != default):
            if kind == "hnsw":
                built.index.hnsw.efSearch = value
            else:
                built.index.nprobe = value
            found = built.search(queries, k).index
            p50, p99 = _latencies(built.search, queries, k)
            label = f"{kind} {'ef' if kind == 'hnsw' else 'nprobe'}={value}"
            rows.append(IndexFigures(n, label, build_s, recall_at_k(found, truth), p50, p99, n_queries))
        del built
    return rows
