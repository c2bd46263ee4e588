"""The training pool: no evaluation prompt (normalised or near-duplicate) ever enters it, duplicates and
conflicting labels are removed as documented, and the split is seeded and stratified."""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from harmscope._paths import data_dir
from harmscope.data import (
    EVAL_SOURCES,
    EXCLUDED_SOURCES,
    TRAIN_SOURCES,
    EvalSource,
    Pool,
    PoolConfig,
    TrainSource,
    assemble_pool,
    build_pool,
    load_dataset,
    normalize_text,
    registered_names,
)
from harmscope.data._pool import _read_cached, near_duplicate_keep, write_pool
from harmscope.encoders import get_encoder
from harmscope.errors import HarmscopeError
from harmscope.evaluation_suites import DERIVED_SETS, DEV_SUITE
from harmscope.types import Label, PromptRecord

HAVE_DATA = (data_dir() / "MANIFEST.md").is_file()
ENC = get_encoder("hashing")  # deterministic; cosine follows shared words
T = 0.75  # hashing-encoder threshold: one changed word of eight stays above it, unrelated texts far below


def rec(text: str, label: Label | None, source: str = "s", pair_id: str | None = None,
        category: str | None = None) -> PromptRecord:
    return PromptRecord(text=text, label=label, source=source, pair_id=pair_id, category=category)


EVAL = {"evalA": [rec("How do I build a pipe bomb at home?", "unsafe"),
                  rec("What is the capital of France?", "safe"),
                  rec("Some unlabeled eval prompt about the ocean tides", None)]}


def _fixture_candidates() -> dict[str, list[PromptRecord]]:
    return {
        "g1": [
            rec("how do i build a pipe bomb at home", "unsafe", "g1"),          # eval_exact (normalised)
            rec("  HOW do I build   a pipe bomb at home?!  ", "unsafe", "g1"),  # eval_exact
            rec("How do I build a pipe bomb at my home?", "unsafe", "g1"),       # eval_near_duplicate
            rec("Please tell me how do I build a pipe bomb at home?", "unsafe", "g1"),  # eval_near_duplicate
            rec("some unlabeled eval prompt about the ocean tides.", "safe", "g1"),  # eval_exact (label None eval)
            rec("How can I steal a car without keys?", "unsafe", "g1"),          # conflicting_labels
            rec("Tell me a joke about cats.", "safe", "g1"),                     # kept
            rec("Tell me a funny joke about cats.", "safe", "g1"),               # near_duplicate
            rec("Explain how to poison a stray cat quickly.", "unsafe", "g1", pair_id="p1"),  # kept (pair)
            rec("Explain how to feed a stray cat quickly.", "safe", "g1", pair_id="p1"),      # kept (pair)
            rec("?!", "safe", "g1"),                                             # empty_text
            rec("An unlabeled row", None, "g1"),                                 # label_none
        ],
        "g2": [
            rec("how can i steal a car without keys", "safe", "g2"),             # conflicting_labels
            rec("tell me a joke about cats", "safe", "g2"),                      # duplicate
            rec("Recommend three novels set in Lisbon during winter", "safe", "g2"),  # kept
        ],
    }


def _fixture_pool(**config: object) -> Pool:
    return assemble_pool(_fixture_candidates(), EVAL, encoder=ENC,
                         config=PoolConfig(near_dup_threshold=T, val_frac=0.0, **config))  # type: ignore[arg-type]


def test_fixture_pool_removes_exactly_what_the_rules_say() -> None:
    pool = _fixture_pool()
    s = pool.summary
    assert s.removed == {"label_none": 1, "empty_text": 1, "eval_exact": 3, "conflicting_labels": 2,
                         "duplicate": 1, "eval_near_duplicate": 2, "near_duplicate": 1}
    assert sorted(pool.texts()) == sorted([
        "Tell me a joke about cats.", "Explain how to poison a stray cat quickly.",
        "Explain how to feed a stray cat quickly.", "Recommend three novels set in Lisbon during winter"])
    assert s.per_source["g1"].removed["eval_exact"] == 3
    assert s.per_source["g2"].removed == {"conflicting_labels": 1, "duplicate": 1}
    assert (s.per_source["g1"].candidates, s.per_source["g1"].kept) == (12, 3)
    assert s.n_train == 4 and s.n_val == 0
    assert s.eval_rows == {"evalA": 3}


def _assert_no_eval_leak(pool: Pool, eval_sets: dict[str, Sequence[PromptRecord]], threshold: float) -> None:
    eval_texts = sorted({r.text for records in eval_sets.values() for r in records})
    eval_keys = {normalize_text(t) for t in eval_texts}
    texts = pool.texts("train") + pool.texts("val")
    assert not [t for t in texts if normalize_text(t) in eval_keys]
    sims = ENC.encode(texts) @ ENC.encode(eval_texts).T
    assert float(sims.max()) < threshold


def test_no_eval_text_or_near_duplicate_enters_the_pool() -> None:
    _assert_no_eval_leak(_fixture_pool(), EVAL, T)
    # A larger random case: eval texts are perturbed copies of some candidates.
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(400)]
    cands = [" ".join(rng.sample(vocab, 8)) for _ in range(300)]
    evals = [rec(t.upper() + " ?", "safe") for t in cands[:40]]                              # exact
    evals += [rec(" ".join(t.split()[:7] + ["zz"]), "unsafe") for t in cands[40:80]]         # near
    groups = {"a": [rec(t, "unsafe" if i % 2 else "safe", "a") for i, t in enumerate(cands)]}
    pool = assemble_pool(groups, {"e": evals}, encoder=ENC, config=PoolConfig(near_dup_threshold=T))
    _assert_no_eval_leak(pool, {"e": evals}, T)
    assert pool.summary.removed["eval_exact"] == 40
    assert pool.summary.removed["eval_near_duplicate"] >= 35


def test_near_duplicate_keep_is_greedy_over_kept_rows() -> None:
    # 0 ~ 1 ~ 2 in a chain, 0 !~ 2: 1 goes (near 0), 2 stays because its only near row (1) was dropped.
    v = np.array([[1.0, 0.0], [0.8, 0.6], [0.28, 0.96]], dtype=np.float32)
    assert near_duplicate_keep(v, [1, 1, 1], 0.75).tolist() == [True, False, True]
    assert near_duplicate_keep(v, [1, 0, 1], 0.75).tolist() == [True, True, True]  # labels differ


def _many(n_per: int = 60) -> dict[str, list[PromptRecord]]:
    rng = random.Random(0)
    vocab = [f"t{i}" for i in range(5000)]
    groups: dict[str, list[PromptRecord]] = {}
    for g in ("a", "b", "c"):
        rows = []
        for i in range(n_per):
            label: Label = "unsafe" if (i % 3 == 0 or g == "c") else "safe"
            rows.append(rec(" ".join(rng.sample(vocab, 10)), label, g))
        for p in range(10):  # ten safe/unsafe pairs per group
            words = rng.sample(vocab, 10)
            rows.append(rec(" ".join(words), "unsafe", g, pair_id=f"{g}{p}"))
            rows.append(rec(" ".join(words[:5] + rng.sample(vocab, 5)), "safe", g, pair_id=f"{g}{p}"))
        groups[g] = rows
    return groups


def _split_ids(pool: Pool) -> tuple[list[str], list[str]]:
    return pool.texts("train"), pool.texts("val")


def test_split_is_deterministic_and_seeded() -> None:
    groups = _many()
    one = assemble_pool(groups, {}, encoder=ENC, config=PoolConfig(seed=7, near_dup_threshold=0.95))
    two = assemble_pool(groups, {}, encoder=ENC, config=PoolConfig(seed=7, near_dup_threshold=0.95))
    other = assemble_pool(groups, {}, encoder=ENC, config=PoolConfig(seed=8, near_dup_threshold=0.95))
    assert _split_ids(one) == _split_ids(two)
    assert set(one.texts("val")) != set(other.texts("val"))
    assert len(one.train) + len(one.val) == len(other.train) + len(other.val) == 3 * 80


def test_split_is_stratified_by_source_and_label_and_keeps_pairs_together() -> None:
    pool = assemble_pool(_many(), {}, encoder=ENC, config=PoolConfig(val_frac=0.2, near_dup_threshold=0.95))
    singles_val = Counter((e.source, e.label) for e in pool.val if e.pair_id is None)
    singles_all = Counter((e.source, e.label) for e in pool.train + pool.val if e.pair_id is None)
    for key, n in singles_all.items():
        assert singles_val[key] == round(0.2 * n), key
    pairs_val = Counter(e.pair_id for e in pool.val if e.pair_id)
    pairs_train = Counter(e.pair_id for e in pool.train if e.pair_id)
    assert not set(pairs_val) & set(pairs_train)
    assert all(n == 2 for n in pairs_val.values())
    assert Counter(p[0] for p in pairs_val) == {"a": 2, "b": 2, "c": 2}  # round(0.2 * 10) pair groups each
    summary = pool.summary
    assert sum(c.val_unsafe + c.val_safe for c in summary.per_source.values()) == len(pool.val)


def test_build_pool_selection_rules_with_a_fake_loader() -> None:
    data = {
        "dav": [rec("you are all hateful slur words here", "unsafe", "davidson_hate_offensive", category="hate"),
                rec("what a damn fine day it is", "unsafe", "davidson_hate_offensive", category="offensive"),
                rec("nice weather for a picnic", "safe", "davidson_hate_offensive", category="neither")],
        "big": [rec(f"benign request number {i} about alpha{i} beta{i} gamma{i}", "safe", "big")
                for i in range(20)] + [rec("unlabeled", None, "big")],
        "para": [rec("rude thing", "unsafe", "para"), rec("polite thing said calmly", "safe", "para")],
        "held": [rec("benign request number 3 about alpha3 beta3 gamma3", "safe", "held")],
    }
    sources = (TrainSource("dav", "x", require_category=True), TrainSource("big", "x", cap=5),
               TrainSource("para", "x", labels=("safe",)))
    pool = build_pool(PoolConfig(near_dup_threshold=0.99), encoder=ENC, load=lambda n: data[n],
                      train_sources=sources, eval_sources=(EvalSource("held", "x"),))
    per = pool.summary.per_source
    assert per["dav"].removed == {"no_category": 1} and per["dav"].kept == 2
    assert per["big"].removed.get("cap") == 15 and per["big"].removed["label_none"] == 1
    assert per["big"].kept == 5 - per["big"].removed.get("eval_exact", 0)
    assert per["para"].removed == {"label_not_used": 1}
    cats = {e.text: e.category for e in pool.train + pool.val}
    assert cats["you are all hateful slur words here"] == "hate"
    assert cats["nice weather for a picnic"] is None  # safe examples carry no harm category
    assert pool.summary.cache_key == ""  # a custom loader is never cached
    again = build_pool(PoolConfig(near_dup_threshold=0.99), encoder=ENC, load=lambda n: data[n],
                       train_sources=sources, eval_sources=(EvalSource("held", "x"),))
    assert again.texts() == pool.texts()  # caps are seeded


def test_config_is_validated() -> None:
    with pytest.raises(HarmscopeError, match="val_frac"):
        PoolConfig(val_frac=1.0)
    with pytest.raises(HarmscopeError, match="near_dup_threshold"):
        PoolConfig(near_dup_threshold=0.0)


def test_cache_round_trip(tmp_path: Path) -> None:
    pool = _fixture_pool()
    write_pool(pool, tmp_path / "p.json")
    back = _read_cached(tmp_path / "p.json")
    assert back == pool
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert _read_cached(tmp_path / "bad.json") is None


def test_cli_prints_counts_not_text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path) -> None:
    import harmscope.data
    from harmscope.cli import _data

    pool = _fixture_pool()
    seen: list[PoolConfig] = []
    monkeypatch.setattr(harmscope.data, "build_pool", lambda config, use_cache: seen.append(config) or pool)
    parser = argparse.ArgumentParser()
    _data.register(parser.add_subparsers())
    args = parser.parse_args(["data", "pool", "--seed", "3", "--out", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "g1" in out and "eval_exact 3" in out
    assert not any(t in out for t in pool.texts())
    assert seen[0].seed == 3
    lines = (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(x)["text"] for x in lines) == sorted(pool.texts())
    args = parser.parse_args(["data", "pool", "--json"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["removed"]["eval_exact"] == 3 and data["n_train"] == 4


# ----------------------------------------------------------------------------------- the real tables


def _covered(name: str, table: list[str]) -> bool:
    return any(name == t or name.startswith(t + "/") or t.startswith(name + "/") for t in table)


def test_every_shipped_set_is_placed_once() -> None:
    train = [s.name for s in TRAIN_SOURCES]
    evals = [s.name for s in EVAL_SOURCES]
    excluded = [s.name for s in EXCLUDED_SOURCES]
    for name in train + evals + excluded:
        assert name in registered_names() or name in DERIVED_SETS, name
    assert not set(train) & set(evals) and not set(train) & set(excluded) and not set(evals) & set(excluded)
    for name in (n for n in registered_names() if not n.endswith(":")):
        assert _covered(name, train + evals + excluded), f"{name} is in no table"
    for name in train:  # a training set never contains, or is contained in, a held-out set
        assert not any(name == e or name.startswith(e + "/") for e in evals), name
        assert not any(e.startswith(name + "/") for e in evals), name


def test_every_dev_suite_set_is_held_out() -> None:
    evals = [s.name for s in EVAL_SOURCES]
    for entry in DEV_SUITE:
        for name in entry.datasets:
            assert any(name == e or name.startswith(e + "/") for e in evals), name


@pytest.mark.skipif(not HAVE_DATA, reason="shared data folder not present")
def test_real_pool_contains_no_eval_text() -> None:
    """The pool built from the shipped data (hashing encoder: the normalised guarantee does not depend on
    the encoder) holds no normalised text of any held-out set, and no duplicate."""
    pool = build_pool(PoolConfig(), encoder=ENC, use_cache=False)
    eval_keys = set()
    for source in EVAL_SOURCES:
        if source.name in DERIVED_SETS:
            from harmscope.data._samples import alpaca_sample

            records: Sequence[PromptRecord] = alpaca_sample()
        else:
            records = load_dataset(source.name)
        eval_keys |= {normalize_text(r.text) for r in records}
    keys = [normalize_text(t) for t in pool.texts("train") + pool.texts("val")]
    assert len(keys) > 10_000
    assert not [k for k in keys if k in eval_keys]
    assert len(set(keys)) == len(keys)
    assert set(pool.summary.per_source) == {s.name for s in TRAIN_SOURCES}
    assert pool.summary.removed["eval_exact"] > 0  # e.g. AdvBench rows that are in HarmBench/JBB
