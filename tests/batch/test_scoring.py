"""The batch scorer's fast path (encode once, no neighbours) gives exactly what ``explain`` gives."""

from __future__ import annotations

from typing import Any

import pytest

from harmscope.batch._scoring import _fast_path, score_texts

SPECS: list[dict[str, Any]] = [
    {"type": "knn", "params": {"representation": "hashing", "k": 3}},
    {"type": "probe-lr", "params": {"representation": "hashing"}},
    {"type": "prototype", "params": {"representation": "hashing"}},
    {"type": "ensemble", "params": {"representation": "hashing"}},
]


@pytest.mark.parametrize("spec", SPECS, ids=[s["type"] for s in SPECS])
def test_fast_path_matches_explain(spec: dict[str, Any], bx: Any) -> None:
    from harmscope.detectors import build_detector

    det = build_detector(spec)
    det.fit(bx.UNSAFE * 3 + bx.SAFE * 3, [1] * 15 + [0] * 15,
            categories=bx.CATS * 3 + [None] * 15)
    assert _fast_path(det)
    texts = [bx.prompt(i) for i in range(23)]
    got = score_texts(det, texts, top_categories=2)
    want = det.explain(texts)
    assert got.score == [e.score for e in want]
    assert got.flagged == [e.verdict == "unsafe" for e in want]
    assert got.category == [e.category.category for e in want]
    assert got.category_scores == [[{"category": s.category, "score": s.score} for s in e.category.scores
                                     if s.score > 0][:2] for e in want]
    assert any(got.flagged) and not all(got.flagged)


def test_other_detectors_use_explain(bx: Any) -> None:
    from harmscope.types import CategoryPrediction, CategoryScore, Explanation

    class Custom:
        threshold = 0.4

        def explain(self, texts: list[str]) -> list[Explanation]:
            return [Explanation(detector="custom", score=0.1 * len(t) % 1, threshold=self.threshold,
                                verdict="safe", category=CategoryPrediction("x", (CategoryScore("x", 1.0),)))
                    for t in texts]

    got = score_texts(Custom(), ["abc", "abcde"])
    assert not _fast_path(Custom())
    assert got.score == pytest.approx([0.3, 0.5]) and got.flagged == [False, True]
    assert got.category == ["x", "x"] and got.category_scores[0] == [{"category": "x", "score": 1.0}]
