"""The ``harmscope bench`` report: Markdown tables per role, precision-recall curves, and every number as JSON.

:func:`write_bench_report` writes into a folder:

- ``report.md``: two-class sets (F1, precision, recall, FPR, AUPRC), unsafe-only sets (recall),
  benign-only sets (FPR), and category macro-F1 when it was computed;
- ``pr_curves.png``: one precision-recall curve per two-class set, with the detector's operating point;
- ``results.json``: :meth:`harmscope.evaluation.EvalReport.to_full_json`.

No prompt text is written, only aggregate numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harmscope.evaluation import DatasetResult, EvalReport

__all__ = ["BenchReportFiles", "PRCurve", "PrecisionRecallCurvesDisplay", "render_bench_markdown",
           "write_bench_report"]

PR_CURVES_FILE = "pr_curves.png"


@dataclass(frozen=True)
class PRCurve:
    """One set's precision-recall curve (scikit-learn's ``precision_recall_curve`` order: recall falls)."""

    name: str
    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    average_precision: float
    prevalence: float
    """Share of unsafe prompts: the precision of a random detector (the chance line)."""
    operating_point: tuple[float, float] | None = None
    """(recall, precision) at the detector's threshold, if known."""


def _curve(name: str, y_true: ArrayLike, y_score: ArrayLike, threshold: float | None) -> PRCurve:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    s = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"{name}: {y.size} labels but {s.size} scores")
    if y.size == 0 or y.min() == y.max():
        raise ValueError(f"{name}: a precision-recall curve needs both safe and unsafe prompts")
    precision, recall, _ = precision_recall_curve(y, s)
    point = None
    if threshold is not None:
        flagged = s >= threshold
        tp = int(np.sum(flagged & (y == 1)))
        point = (tp / int(y.sum()), tp / int(flagged.sum()) if flagged.any() else 0.0)
    return PRCurve(name=name, precision=np.asarray(precision, dtype=np.float64),
                   recall=np.asarray(recall, dtype=np.float64),
                   average_precision=float(average_precision_score(y, s)), prevalence=float(y.mean()),
                   operating_point=point)


def _new_axes(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure.subplots()


class PrecisionRecallCurvesDisplay:
    """Precision-recall curves of several sets on one axes, in scikit-learn's Display style.

    ``from_predictions`` / ``from_report`` compute and plot; ``plot(ax=None)`` draws; the figure and axes
    are kept as ``figure_`` / ``ax_``. matplotlib is imported inside ``plot`` and drawn with the Agg
    canvas (no pyplot, no window, the global backend is untouched): save with ``figure_.savefig(path)``.

    Parameters
    ----------
    curves : sequence of PRCurve
        May be empty (the axes then say that there is no two-class set).
    title : str, optional
    """

    def __init__(self, *, curves: Sequence[PRCurve], title: str | None = None) -> None:
        self.curves = list(curves)
        self.title = title

    @classmethod
    def from_predictions(cls, predictions: Mapping[str, tuple[ArrayLike, ArrayLike]], *,
                         threshold: float | None = None, title: str | None = None,
                         ax: Any = None) -> PrecisionRecallCurvesDisplay:
        """Curves from ``{name: (y_true (n,) 0/1, y_score (n,) P(unsafe))}``; every set needs both classes.
        ``threshold`` marks the operating point on each curve."""
        curves = [_curve(name, y, s, threshold) for name, (y, s) in predictions.items()]
        return cls(curves=curves, title=title).plot(ax=ax)

    @classmethod
    def from_report(cls, report: EvalReport, *, title: str | None = None,
                    ax: Any = None) -> PrecisionRecallCurvesDisplay:
        """Curves of the two-class sets of ``report`` (single-class sets have no curve)."""
        curves = [_curve(r.name, r.y_true, r.y_score, r.threshold) for r in report.datasets
                  if r.role == "two-class"]
        if title is None:
            title = f"Precision-recall, {report.detector} (dot = threshold {report.threshold:.3g})"
        return cls(curves=curves, title=title).plot(ax=ax)

    def plot(self, ax: Any = None) -> PrecisionRecallCurvesDisplay:
        """Draw on ``ax`` (a new figure if None): step-wise curves, AP in the legend, operating points."""
        from matplotlib import colormaps

        if ax is None:
            ax = _new_axes((7.5, 5.5))
        cmap = colormaps["tab10" if len(self.curves) <= 10 else "tab20"]
        for i, c in enumerate(self.curves):
            color = cmap(i % cmap.N)
            ax.plot(c.recall, c.precision, drawstyle="steps-post", color=color,
                    label=f"{c.name} (AP {c.average_precision:.3f})")
            ax.axhline(c.prevalence, color=color, linestyle=":", linewidth=0.8, alpha=0.6)
            if c.operating_point is not None:
                ax.plot(*c.operating_point, marker="o", color=color, markersize=6)
        if not self.curves:
            ax.text(0.5, 0.5, "no two-class set: no precision-recall curve", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.05)
        ax.set_xlabel("recall (unsafe prompts flagged)")
        ax.set_ylabel("precision (flagged prompts that are unsafe)")
        if self.title:
            ax.set_title(self.title, fontsize="medium")
        if self.curves:
            ax.legend(loc="lower left", fontsize="small", frameon=False)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def _label(r: DatasetResult, notes: Mapping[str, str]) -> str:
    note = notes.get(r.name)
    return f"`{r.name}`" + (f" – {note}" if note else "")


def render_bench_markdown(report: EvalReport, *, notes: Mapping[str, str] | None = None,
                          figure: str | None = PR_CURVES_FILE, title: str | None = None) -> str:
    """The report as Markdown: one table per role. ``notes`` describes sets by name; ``figure`` is the
    PR-curve image to link (None: no link)."""
    notes = notes or {}
    by_role = {role: [r for r in report.datasets if r.role == role]
               for role in ("two-class", "unsafe-only", "benign-only")}
    lines = [f"# {title or 'Benchmark'}: {report.detector}", "",
             (f"Detector `{report.detector}`, threshold {report.threshold:.4g} (a prompt is flagged when "
              "P(unsafe) ≥ threshold). Unsafe is the positive class. Fractions in [0, 1]; – = undefined."), ""]
    two = by_role["two-class"]
    if two:
        lines += ["## Two-class sets (headline: F1)", ""]
        lines += _table(["set", "n", "unsafe", "safe", "F1", "precision", "recall", "FPR", "AUPRC"],
                        [[_label(r, notes), str(r.n), str(r.n_unsafe), str(r.n_safe), f"**{_fmt(r.f1)}**",
                          _fmt(r.precision), _fmt(r.recall), _fmt(r.fpr), _fmt(r.auprc)] for r in two])
        mean_f1 = sum(r.f1 for r in two) / len(two)
        lines += [f"Mean F1 over these {len(two)} sets: **{mean_f1:.3f}**.", ""]
        if figure:
            lines += [f"![Precision-recall curves]({figure})", "",
                      "Dots mark the threshold's operating point; dotted lines the unsafe share (chance).", ""]
    unsafe = by_role["unsafe-only"]
    if unsafe:
        lines += ["## Unsafe-only sets (headline: recall)", "",
                  ("Every prompt is unsafe: recall = share flagged. Precision is 1 when anything is flagged; "
                  "FPR and AUPRC are undefined."), ""]
        lines += _table(["set", "n", "flagged", "**recall**"],
                        [[_label(r, notes), str(r.n), str(r.confusion.tp), f"**{_fmt(r.recall)}**"]
                         for r in unsafe])
        lines += [f"Mean recall over these {len(unsafe)} sets: **{sum(r.recall for r in unsafe) / len(unsafe):.3f}**.",
                  ""]
    benign = by_role["benign-only"]
    if benign:
        lines += ["## Benign-only sets (headline: false-positive rate)", "",
                  ("Every prompt is safe: FPR = share flagged (lower is better). Precision, recall and F1 are "
                  "0 by definition (nothing unsafe to find)."), ""]
        lines += _table(["set", "n", "flagged", "**FPR**"],
                        [[_label(r, notes), str(r.n), str(r.confusion.fp), f"**{_fmt(r.fpr)}**"] for r in benign])
        fprs = [r.fpr for r in benign if r.fpr is not None]
        lines += [f"Mean FPR over these {len(benign)} sets: **{sum(fprs) / len(fprs):.3f}**.", ""]
    if report.task == "category":
        lines += ["## Harm category (macro-F1)", "",
                  ("Unsafe prompts whose source category maps to the harmscope taxonomy; the detector's top "
                   "category against the mapped one, F1 averaged over the categories present."), ""]
        lines += _table(["set", "categorised", "macro-F1"],
                        [[_label(r, notes), str(r.n_categorised), _fmt(r.category_macro_f1)]
                         for r in report.datasets])
    skipped = [r for r in report.datasets if r.n_unlabeled]
    if skipped:
        lines += ["Unlabelled records left out: " + ", ".join(f"`{r.name}` {r.n_unlabeled}" for r in skipped), ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class BenchReportFiles:
    """Paths of the files :func:`write_bench_report` wrote."""

    report: Path
    pr_curves: Path
    results: Path


def write_bench_report(report: EvalReport, out: Path | str, *, notes: Mapping[str, str] | None = None,
                       title: str | None = None) -> BenchReportFiles:
    """Write ``report.md``, ``pr_curves.png`` and ``results.json`` into ``out`` (created if missing)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = BenchReportFiles(report=folder / "report.md", pr_curves=folder / PR_CURVES_FILE,
                             results=folder / "results.json")
    display = PrecisionRecallCurvesDisplay.from_report(report)
    display.figure_.savefig(files.pr_curves, dpi=110)
    files.results.write_text(json.dumps(report.to_full_json(), indent=2) + "\n", encoding="utf-8")
    files.report.write_text(render_bench_markdown(report, notes=notes, title=title), encoding="utf-8")
    return files
