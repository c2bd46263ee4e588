"""The figure Displays: what they draw, and their input checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmscope.analysis import ChallengingHeatmapDisplay, EmbeddingScatterDisplay


def test_scatter_draws_one_series_per_category(tmp_path: Path) -> None:
    coords = np.arange(12, dtype=float).reshape(6, 2)
    display = EmbeddingScatterDisplay(coords=coords, categories=["a", "b", "a", "c", "b", "a"], title="t").plot()
    assert [c.get_offsets().shape[0] for c in display.ax_.collections] == [3, 2, 1]
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["a", "b", "c"]
    colours = {tuple(c.get_facecolor()[0]) for c in display.ax_.collections}
    assert len(colours) == 3
    display.figure_.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_scatter_input_checks() -> None:
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        EmbeddingScatterDisplay(coords=np.zeros((3, 3)), categories=["a"] * 3)
    with pytest.raises(ValueError, match="3 points but 2 categories"):
        EmbeddingScatterDisplay(coords=np.zeros((3, 2)), categories=["a"] * 2)
    with pytest.raises(ValueError, match="at least 4 rows"):
        EmbeddingScatterDisplay.from_embeddings(np.zeros((3, 5)), ["a"] * 3)


def test_heatmap_layout_and_checks() -> None:
    scores = {"enc1": {"homonyms": 0.2, "history": 0.7}, "paper: X": {"history": 0.6, "homonyms": 0.4}}
    display = ChallengingHeatmapDisplay(scores=scores).plot()
    np.testing.assert_allclose(display.values, [[0.2, 0.4], [0.7, 0.6]])  # rows = types, columns = encoders
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["enc1", "paper: X"]
    assert sorted(t.get_text() for t in display.ax_.texts) == ["0.200", "0.400", "0.600", "0.700"]
    with pytest.raises(ValueError, match="expected"):
        ChallengingHeatmapDisplay(scores={"a": {"x": 0.1}, "b": {"y": 0.2}})
    with pytest.raises(ValueError, match="empty"):
        ChallengingHeatmapDisplay(scores={})
