"""Score one source chunk with a detector: the single function both engines run, so their results agree.

For the common case (a :class:`~harmscope.detectors.BaseDetector` that keeps the base ``explain``) the
texts are encoded once and only the score and category heads run: ``explain`` would also search and
build the nearest known prompts, which a batch output does not hold and which made scoring 1.5x slower
with a hashing kNN (measured in docs/batch.md). Any other detector goes through the public ``explain``.
tests/batch/test_scoring.py checks that both paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harmscope.batch._formats import scored_schema
from harmscope.errors import HarmscopeError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray


@dataclass(frozen=True)
class TextScores:
    """Scores of a list of texts: P(unsafe), verdict, top category and the top category scores."""

    score: list[float]
    flagged: list[bool]
    category: list[str | None]
    category_scores: list[list[dict[str, Any]]]


def _top(scores: Any, n: int) -> list[dict[str, Any]]:
    """The ``n`` highest non-zero category scores (already sorted, highest first)."""
    return [{"category": s.category, "score": float(s.score)} for s in scores[:n] if s.score > 0]


def _fast_path(detector: Any) -> bool:
    from harmscope.detectors import BaseDetector

    return isinstance(detector, BaseDetector) and type(detector).explain is BaseDetector.explain


def score_texts(detector: Any, texts: list[str], *, top_categories: int = 3) -> TextScores:
    """Score ``texts``: the same numbers ``detector.explain(texts)`` gives, without the neighbours."""
    if not texts:
        return TextScores([], [], [], [])
    threshold = float(detector.threshold)
    if _fast_path(detector):
        import numpy as np

        _, X = detector._prepare(texts)
        p: NDArray[np.float64] = np.clip(detector._proba_arrays(X).astype(np.float64), 0.0, 1.0)
        cats = (detector._category_predictions(detector._category_arrays(X)) if detector.categories_
                else None)
        scores = [float(v) for v in p]
        categories = [None] * len(texts) if cats is None else [c.category for c in cats]
        per_row = [[] for _ in texts] if cats is None else [
            _top(c.scores, top_categories) for c in cats]
    else:
        explanations = detector.explain(texts)
        if len(explanations) != len(texts):
            raise HarmscopeError(f"the detector returned {len(explanations)} results for {len(texts)} texts")
        scores = [float(e.score) for e in explanations]
        categories = [e.category.category for e in explanations]
        per_row = [_top(e.category.scores, top_categories) for e in explanations]
    return TextScores(scores, [s >= threshold for s in scores], categories, per_row)


def score_chunk(detector: Any, chunk: pa.Table, *, top_categories: int = 3) -> pa.Table:
    """A scored chunk (``_formats.scored_schema``) for a source chunk: good rows get score, flagged,
    category and category scores; bad rows pass through with nulls there and their ``error``."""
    import pyarrow as pa

    errors = chunk.column("error").to_pylist()
    good = [i for i, e in enumerate(errors) if e is None]
    texts = chunk.column("text").to_pylist()
    result = score_texts(detector, [texts[i] for i in good], top_categories=top_categories)
    n = chunk.num_rows
    score: list[float | None] = [None] * n
    flagged: list[bool | None] = [None] * n
    category: list[str | None] = [None] * n
    category_scores: list[list[dict[str, Any]] | None] = [None] * n
    for j, i in enumerate(good):
        score[i], flagged[i] = result.score[j], result.flagged[j]
        category[i], category_scores[i] = result.category[j], result.category_scores[j]
    schema = scored_schema()
    columns = {name: chunk.column(name) for name in ("row", "line", "id", "error", "end_line", "end_offset")}
    extra = {"score": score, "flagged": flagged, "category": category, "category_scores": category_scores}
    return pa.Table.from_arrays(
        [columns[f.name] if f.name in columns else pa.array(extra[f.name], type=f.type) for f in schema],
        schema=schema)
