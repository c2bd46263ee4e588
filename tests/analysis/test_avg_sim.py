"""The normalisation constant: sampling, caching, and the --avg-sim option."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harmscope._paths import cache_dir
from harmscope.analysis import compute_avg_sim, paper_numbers, resolve_avg_sim, sample_pair_halves
from harmscope.encoders._hashing import HashingEncoder
from harmscope.errors import HarmscopeError
from harmscope.metrics import average_cross_cosine
from harmscope.types import PromptRecord

POOLS = [[f"bad prompt {i}" for i in range(30)] + ["bad prompt 0", "shared"],
         [f"good prompt {i}" for i in range(30)] + ["shared"]]


def test_sample_is_seeded_balanced_distinct_and_split() -> None:
    a, b = sample_pair_halves(POOLS, n_prompts=20, seed=3)
    assert (a, b) == sample_pair_halves(POOLS, n_prompts=20, seed=3)
    assert (a, b) != sample_pair_halves(POOLS, n_prompts=20, seed=4)
    both = a + b
    assert len(a) == len(b) == 10 and len(set(both)) == 20
    assert sum(t.startswith("bad") or t == "shared" for t in both) >= 10 - 1
    assert sum(t.startswith("good") for t in both) == 10  # "shared" counts for the first pool only


def test_sample_errors() -> None:
    with pytest.raises(HarmscopeError, match="multiple of 4"):
        sample_pair_halves(POOLS, n_prompts=10, seed=0)
    with pytest.raises(HarmscopeError, match="fewer than the 40 asked"):
        sample_pair_halves(POOLS, n_prompts=80, seed=0)


def test_compute_avg_sim_is_the_cross_mean_and_is_cached(hashing: HashingEncoder) -> None:
    result = compute_avg_sim(hashing, seed=0, n_prompts=24, pools=POOLS)
    a, b = sample_pair_halves(POOLS, n_prompts=24, seed=0)
    emb = hashing.encode(a + b)
    direct = average_cross_cosine(emb[:12], emb[12:])
    assert result.value == pytest.approx(direct.mean)
    assert result.stderr == pytest.approx(direct.stderr)
    assert (result.source, result.n_pairs, result.seed) == ("computed", 144, 0)
    files = list(cache_dir("analysis").glob("avg_sim-hashing-256-*.json"))
    assert len(files) == 1

    class Exploding(HashingEncoder):
        def _encode_batch(self, texts: list[str]):  # type: ignore[no-untyped-def]
            raise AssertionError("cache should have answered")

    assert compute_avg_sim(Exploding(), seed=0, n_prompts=24, pools=POOLS) == result


def test_compute_avg_sim_default_pools_are_beavertails(monkeypatch: pytest.MonkeyPatch, hashing: HashingEncoder,
                                                       load: Callable[[str], list[PromptRecord]]) -> None:
    asked: list[str] = []
    monkeypatch.setattr("harmscope.data.load_dataset", lambda n: asked.append(n) or load(n), raising=False)
    result = compute_avg_sim(hashing, n_prompts=40)
    assert asked == ["beavertails_prompts/bad", "beavertails_prompts/good"]
    assert -1.0 < result.value < 1.0 and result.stderr is not None and result.stderr > 0


def test_resolve_avg_sim_options(hashing: HashingEncoder) -> None:
    assert resolve_avg_sim("paper", encoder_name="mpnet").value == 0.092
    assert resolve_avg_sim("paper", encoder_name="mpnet").source == "paper"
    assert resolve_avg_sim("prefer-paper", encoder_name="mpnet").value == 0.092
    assert resolve_avg_sim("0.25", encoder_name="minilm").value == 0.25
    assert resolve_avg_sim(0.3, encoder_name="minilm").source == "given"
    with pytest.raises(HarmscopeError, match="publishes no average similarity for encoder 'minilm'"):
        resolve_avg_sim("paper", encoder_name="minilm")
    with pytest.raises(HarmscopeError, match="must be a number, 'compute'"):
        resolve_avg_sim("often", encoder_name="minilm")
    with pytest.raises(HarmscopeError, match=r"in \[-1, 1\)"):
        resolve_avg_sim("1.0", encoder_name="minilm")


def test_paper_numbers_are_complete() -> None:
    paper = paper_numbers()
    assert paper.encoder_names["mpnet"] == "SBERT-all"
    assert paper.avg_sim["SBERT-all"] == 0.092
    assert "similarities.yaml" in paper.avg_sim_source
    assert len(paper.challenging) == 11
    for row in paper.challenging.values():
        assert len(row) == 10 and all(0 < v < 1 for v in row.values())
    assert paper.challenging["SBERT-all"]["history"] == 0.698
