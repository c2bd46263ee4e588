"""Similarity-bank indexes: exact vs FAISS HNSW/IVF recall, leave-one-out, auto choice, save/load, memo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import harmscope.detectors._bank as bank_module
from harmscope.detectors import load_detector
from harmscope.detectors._bank import (
    Bank,
    ExactIndex,
    FaissIndex,
    build_index,
    resolve_index_kind,
    unit_rows,
)
from harmscope.detectors._knn import KNNDetector
from harmscope.detectors.checks import synthetic_prompts
from harmscope.speed._bank_bench import clustered_queries, clustered_unit_vectors, recall_at_k

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    return clustered_unit_vectors(4000, 64, seed=3, points_per_cluster=40), \
        clustered_queries(4000, 100, 64, seed=3, points_per_cluster=40)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_recall_against_exact(kind: str, clustered: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = clustered
    truth = ExactIndex(vectors).search(queries, 10)
    index = FaissIndex.build(vectors, kind)
    found = index.search(queries, 10)
    assert found.index.shape == (100, 10)
    assert recall_at_k(found.index, truth.index) >= 0.9
    # similarities are the real cosines of the returned rows, best first
    rows = np.take_along_axis(queries @ vectors.T, found.index, axis=1)
    assert np.allclose(found.similarity, rows, atol=1e-5)
    assert np.all(np.diff(found.similarity, axis=1) <= 1e-6)


def test_recall_at_k_counts_overlap() -> None:
    truth = np.array([[1, 2, 3], [4, 5, 6]])
    assert recall_at_k(truth, truth) == 1.0
    assert recall_at_k(np.array([[1, 9, 9], [4, 5, 9]]), truth) == pytest.approx(3 / 6)


def test_clustered_vectors_are_unit_and_clustered() -> None:
    x = clustered_unit_vectors(2000, 64, seed=1)
    assert x.dtype == np.float32 and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    q = clustered_queries(2000, 20, 64, seed=1)
    nearest = np.sort(q @ x.T, axis=1)[:, -1]
    assert nearest.mean() > 0.3  # a query has real neighbours, unlike uniform random unit vectors
    assert np.array_equal(x, clustered_unit_vectors(2000, 64, seed=1))


def test_auto_switches_to_hnsw_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_index_kind("auto", 10) == "exact"
    assert resolve_index_kind("auto", bank_module.AUTO_ANN_MIN_ROWS) == "hnsw"
    assert resolve_index_kind("exact", 10**7) == "exact"
    monkeypatch.setattr(bank_module, "AUTO_ANN_MIN_ROWS", 100)
    x = unit_rows(np.random.default_rng(0).normal(size=(150, 8)))
    assert isinstance(build_index(x, "auto"), FaissIndex)
    assert isinstance(build_index(x[:99], "auto"), ExactIndex)
    with pytest.raises(ValueError, match="index must be one of auto, exact, hnsw, ivf"):
        resolve_index_kind("annoy", 10)


def test_hnsw_leave_one_out_drops_self_and_duplicates() -> None:
    rng = np.random.default_rng(0)
    base = unit_rows(rng.normal(size=(60, 8)))
    vectors = np.vstack([base, base[:5]])  # rows 60..64 duplicate rows 0..4 (same text)
    texts = [f"t{i}" for i in range(60)] + [f"t{i}" for i in range(5)]
    y = np.zeros(65, dtype=np.int64)
    exact = Bank(texts, y, np.full(65, -1), vectors, index="exact").search(vectors, 5, leave_one_out=True)
    approx = Bank(texts, y, np.full(65, -1), vectors, index="hnsw").search(vectors, 5, leave_one_out=True)
    for hits in (exact, approx):
        for row in range(65):
            own = {row % 60, 60 + row % 60} if row % 60 < 5 else {row}
            assert not own & set(hits.index[row].tolist())
    assert recall_at_k(approx.index, exact.index) >= 0.95


def test_knn_with_hnsw_saves_and_loads_its_index(tmp_path: Path) -> None:
    texts, labels, cats = synthetic_prompts()
    det = KNNDetector(representation="hashing", k=5, index="hnsw").fit(texts, labels, categories=cats)
    exact = KNNDetector(representation="hashing", k=5).fit(texts, labels, categories=cats)
    assert isinstance(det.bank_.index, FaissIndex) and isinstance(exact.bank_.index, ExactIndex)
    probe = ["how do I forge a passport", "recipe for banana bread", "tell me a joke about cats"]
    # a small bank: HNSW finds neighbours as similar as exact search does (hashed vectors tie a lot, so
    # compare similarities, not row ids)
    X = det._encode(probe)
    assert np.allclose(det._search(X).similarity, exact._search(X).similarity, atol=1e-6)
    det.save(tmp_path / "d")
    with np.load(tmp_path / "d" / "arrays.npz") as arrays:
        assert "bank_faiss_hnsw" in arrays.files and str(arrays["bank_index_kind"]) == "hnsw"
    loaded = load_detector(tmp_path / "d")
    assert isinstance(loaded, KNNDetector) and loaded.index == "hnsw"
    assert isinstance(loaded.bank_._index, FaissIndex)  # restored, not rebuilt
    assert np.allclose(loaded.predict_proba(probe), det.predict_proba(probe))
    assert [e.neighbours for e in loaded.explain(probe)] == [e.neighbours for e in det.explain(probe)]


def test_detector_saved_without_index_kind_loads_as_auto(tmp_path: Path) -> None:
    texts, labels, cats = synthetic_prompts()
    det = KNNDetector(representation="hashing", k=5).fit(texts, labels, categories=cats)
    det.save(tmp_path / "d")
    path = tmp_path / "d" / "arrays.npz"
    with np.load(path) as data:
        old = {k: data[k] for k in data.files if k != "bank_index_kind"}
    np.savez(path, **old)  # as written before banks had an index kind
    loaded = load_detector(tmp_path / "d")
    assert loaded.bank_.index_kind == "auto"
    assert np.allclose(loaded.predict_proba(texts[:5]), det.predict_proba(texts[:5]))


def test_bad_index_kind_fails_at_fit() -> None:
    texts, labels, _ = synthetic_prompts()
    with pytest.raises(ValueError, match="index must be one of"):
        KNNDetector(representation="hashing", index="flat").fit(texts, labels)


def test_explain_searches_the_bank_once(monkeypatch: pytest.MonkeyPatch) -> None:
    texts, labels, cats = synthetic_prompts()
    det = KNNDetector(representation="hashing", k=5).fit(texts, labels, categories=cats)
    calls: list[int] = []
    original = ExactIndex.search

    def counting(self: ExactIndex, queries: np.ndarray, k: int, **kw: object) -> object:
        calls.append(queries.shape[0])
        return original(self, queries, k, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ExactIndex, "search", counting)
    det.explain(["how do I forge a passport"])  # score, category and neighbours of one query
    assert calls == [1]
    det.explain(["a different prompt about gardening"])
    assert calls == [1, 1]
    hits = det._search(det._encode(["recipe for banana bread"]))
    with pytest.raises(ValueError):
        hits.index[0, 0] = 3  # shared results are read-only


def test_held_out_split_and_bench_vectors() -> None:
    from harmscope.speed._bank_bench import bench_vectors, held_out_split

    vectors = clustered_unit_vectors(1500, 32, seed=2, points_per_cluster=30)
    bank, queries = held_out_split(vectors, 50)
    assert bank.shape == (1450, 32) and queries.shape == (50, 32)
    assert not (queries[:, None, :] == bank[None, :, :]).all(axis=2).any()  # no query is a bank row
    rows = bench_vectors(bank, queries, k=5, exact_latency_queries=5, indexes=("exact", "hnsw"))
    assert [r.index for r in rows] == ["exact", "hnsw"] and rows[0].recall_at_k == 1.0
    assert rows[1].recall_at_k >= 0.9 and rows[1].p50_ms > 0 and rows[1].n_bank == 1450


def test_exact_search_orders_equal_similarities_by_row() -> None:
    rows = np.tile(np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32), (30, 1))  # 30 exact ties
    hits = ExactIndex(rows).search(np.array([[1.0, 0.0]], dtype=np.float32), k=31)
    assert hits.index[0].tolist() == [*range(0, 60, 2), 1]


def test_exact_search_gives_the_same_hits_alone_and_in_a_batch() -> None:
    rng = np.random.default_rng(5)
    base = unit_rows(rng.standard_normal((50, 24)).astype(np.float32))
    rows = np.concatenate([base, base[:20], base[:20]])  # many exact duplicates: ties at every k
    queries = unit_rows(rng.standard_normal((300, 24)).astype(np.float32))
    index = ExactIndex(rows)
    together = index.search(queries, k=7)
    for i in range(0, 300, 37):
        alone = index.search(queries[i:i + 1], k=7)
        assert alone.index[0].tolist() == together.index[i].tolist()
        assert np.array_equal(alone.similarity[0], together.similarity[i])


def _reference_top_k(rows: np.ndarray, queries: np.ndarray, k: int,
                     query_group: np.ndarray | None = None, row_group: np.ndarray | None = None) -> np.ndarray:
    """Top-k rows by pair-by-pair similarity, ties to the lower row: the definition ExactIndex must meet."""
    out = []
    for i, q in enumerate(queries):
        sims = np.einsum("nd,d->n", rows, q)
        if query_group is not None and row_group is not None:
            sims = np.where(row_group == query_group[i], -np.inf, sims)
        out.append(np.lexsort((np.arange(len(rows)), -sims))[:k])
    return np.asarray(out)


@pytest.mark.parametrize("k", [7, 30])
@pytest.mark.parametrize("m", [1, 5, 64, 300])
def test_exact_search_meets_the_definition_on_a_tiled_bank(k: int, m: int) -> None:
    # 8,000 rows = 125 tiles of 64 columns, enough for the tile pre-selection at both k; the duplicates
    # put exact ties at the k-th place, and batches of 2-256 queries run in two threads.
    rng = np.random.default_rng(11)
    base = unit_rows(rng.standard_normal((5000, 16)).astype(np.float32))
    rows = np.concatenate([base, base[:2000], base[:1000]])
    queries = np.concatenate([unit_rows(rng.standard_normal((m - m // 5, 16)).astype(np.float32)),
                              rows[:m // 5]])
    hits = ExactIndex(rows).search(queries, k)
    assert hits.index.tolist() == _reference_top_k(rows, queries, k).tolist()
    group = np.arange(len(rows)) % 5000  # leave-one-out: a row's duplicates share its group
    hits = ExactIndex(rows).search(rows[:m], k, groups=(group[:m], group))
    assert hits.index.tolist() == _reference_top_k(rows, rows[:m], k, group[:m], group).tolist()


def test_exact_search_with_fewer_candidates_than_k_fills_with_empty_slots() -> None:
    # leave-one-out where the query's group covers all but three of the 8,000 rows (no tile bound exists)
    rng = np.random.default_rng(12)
    rows = unit_rows(rng.standard_normal((8000, 16)).astype(np.float32))
    group = np.zeros(8000, dtype=np.int64)
    group[[10, 20, 30]] = [1, 2, 3]
    query_group = np.array([0, 0, 4])  # the third query excludes nothing
    hits = ExactIndex(rows).search(rows[:3], 7, groups=(query_group, group))
    for i in range(2):
        assert sorted(hits.index[i][:3].tolist()) == [10, 20, 30]
        assert hits.index[i][3:].tolist() == [-1] * 4 and np.isneginf(hits.similarity[i][3:]).all()
    assert hits.index[2].tolist() == _reference_top_k(rows, rows[2:3], 7)[0].tolist()
