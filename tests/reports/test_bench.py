"""The bench report: Markdown per role, PR-curve Display, files written, no prompt text anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmscope.evaluation import EvalReport, result_from_scores
from harmscope.reports._bench import PrecisionRecallCurvesDisplay, render_bench_markdown, write_bench_report


@pytest.fixture(scope="module")
def report() -> EvalReport:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    s = np.clip(0.4 * y + rng.uniform(0, 0.6, 60), 0, 1)
    rows = (
        result_from_scores("two", y, s, threshold=0.5),
        result_from_scores("uns", np.ones(4, dtype=int), [0.9, 0.8, 0.1, 0.7], threshold=0.5),
        result_from_scores("ben", np.zeros(5, dtype=int), [0.9, 0.1, 0.1, 0.2, 0.3], threshold=0.5),
    )
    return EvalReport(detector="fixture-det", threshold=0.5, task="binary", datasets=rows)


def test_display_matches_sklearn_and_marks_operating_point() -> None:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.4, 0.1])
    display = PrecisionRecallCurvesDisplay.from_predictions({"a": (y, s)}, threshold=0.5)
    curve = display.curves[0]
    precision, recall, _ = precision_recall_curve(y, s)
    np.testing.assert_allclose(curve.precision, precision)
    np.testing.assert_allclose(curve.recall, recall)
    assert curve.average_precision == pytest.approx(average_precision_score(y, s))
    assert curve.prevalence == 0.5
    # >= 0.5 flags 0.9, 0.8, 0.7, 0.6: 3 of 4 unsafe, precision 3/4
    assert curve.operating_point == pytest.approx((0.75, 0.75))
    assert display.ax_.get_legend().get_texts()[0].get_text().startswith("a (AP ")
    assert display.figure_ is display.ax_.figure


def test_display_rejects_single_class_and_draws_empty() -> None:
    with pytest.raises(ValueError, match="both safe and unsafe"):
        PrecisionRecallCurvesDisplay.from_predictions({"u": ([1, 1], [0.2, 0.9])})
    empty = PrecisionRecallCurvesDisplay(curves=[]).plot()
    assert "no two-class set" in empty.ax_.texts[0].get_text()


def test_markdown_has_one_table_per_role(report: EvalReport) -> None:
    md = render_bench_markdown(report, notes={"two": "a two-class fixture"})
    assert md.startswith("# Benchmark: fixture-det")
    for heading in ("## Two-class sets (headline: F1)", "## Unsafe-only sets (headline: recall)",
                    "## Benign-only sets (headline: false-positive rate)"):
        assert heading in md
    assert "`two` – a two-class fixture" in md
    assert "| `uns` | 4 | 3 | **0.750** |" in md  # 3 of 4 flagged
    assert "| `ben` | 5 | 1 | **0.200** |" in md  # 1 of 5 flagged
    assert "![Precision-recall curves](pr_curves.png)" in md
    assert "macro-F1" not in md


def test_report_files_written(report: EvalReport, tmp_path: Path) -> None:
    files = write_bench_report(report, tmp_path / "out")
    png = files.pr_curves.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert json.loads(files.results.read_text("utf-8")) == json.loads(json.dumps(report.to_full_json()))
    assert files.report.read_text("utf-8") == render_bench_markdown(report)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pr_curves.png", "report.md",
                                                                     "results.json"]
