"""``embedding_cache_disabled``: encoders neither read nor write the SQLite cache inside the block, and
batch jobs use it unless asked for the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmscope.encoders import embedding_cache_disabled
from harmscope.encoders._hashing import HashingEncoder


def test_context_turns_the_cache_off_and_back_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))
    enc = HashingEncoder(use_cache=True)
    with embedding_cache_disabled():
        enc.encode(["first text"])
    assert enc.cache.get_many(["first text"]) == [None]
    enc.encode(["second text"])
    got = enc.cache.get_many(["second text"])[0]
    assert got is not None and got.shape == (enc.dim,)


def test_batch_jobs_skip_the_cache_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                bx: object) -> None:
    import harmscope.detectors._features as features
    from harmscope.batch import moderate_batch
    from harmscope.detectors import build_detector

    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))
    cached = HashingEncoder(use_cache=True)
    monkeypatch.setitem(features._ENCODERS, "hashing-cached", cached)
    det = build_detector({"type": "knn", "params": {"representation": "hashing-cached", "k": 2}})
    det.fit(["a bomb", "a cake", "a gun", "a pie"], [1, 0, 1, 0])
    folder = det.save(tmp_path / "det")
    src = bx.write_jsonl(tmp_path / "in.jsonl", [{"text": "never seen before"}])  # type: ignore[attr-defined]
    moderate_batch(src, tmp_path / "a.jsonl", detector=str(folder))
    assert cached.cache.get_many(["never seen before"]) == [None]
    moderate_batch(src, tmp_path / "b.jsonl", detector=str(folder), embedding_cache=True)
    assert cached.cache.get_many(["never seen before"])[0] is not None
