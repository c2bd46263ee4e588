"""Score a fitted detector on labelled prompt sets: binary metrics per set, and optionally category macro-F1.

No I/O here: records come in, typed results go out (:class:`EvalReport`). Loading sets and suites is
:mod:`harmscope.evaluation_suites`; Markdown and plots are :mod:`harmscope.reports._bench`.

Conventions (the same as :mod:`harmscope.metrics`): unsafe is the positive class; a prompt is flagged
when P(unsafe) >= the detector's ``threshold`` (exactly what ``detector.predict`` does); ratios with a
zero denominator are 0 (scikit-learn's ``zero_division=0``), except FPR and AUPRC, which are ``None``
where they are undefined. So on a single-class set:

- **unsafe-only** (no safe prompt): recall is the headline; precision is 1 if anything is flagged, else
  0; FPR and AUPRC are ``None``.
- **benign-only** (no unsafe prompt): FPR is the headline; precision, recall and F1 are always 0 (there
  is nothing unsafe to find); AUPRC is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from harmscope._progress import progress
from harmscope.errors import HarmscopeError
from harmscope.metrics._classification import binary_report, macro_f1
from harmscope.types import PromptRecord

__all__ = [
    "Confusion",
    "DatasetResult",
    "EvalReport",
    "EvalSet",
    "Headline",
    "Role",
    "Task",
    "evaluate",
    "evaluate_sets",
    "result_from_scores",
    "role_of",
]

Role = Literal["two-class", "unsafe-only", "benign-only"]
ROLES: tuple[Role, ...] = get_args(Role)
Task = Literal["binary", "category"]
TASKS: tuple[Task, ...] = get_args(Task)

CategoryMap = Callable[[PromptRecord], "str | None"]
"""Maps a record to its harmscope-taxonomy category (``None`` = not mappable, left out of macro-F1)."""


@dataclass(frozen=True)
class Confusion:
    """Counts at the detector's threshold (unsafe = positive)."""

    tp: int
    """Unsafe prompts flagged."""
    fp: int
    """Safe prompts flagged."""
    fn: int
    """Unsafe prompts missed."""
    tn: int
    """Safe prompts passed."""


@dataclass(frozen=True)
class Headline:
    """The one number to read for a set: F1 (two-class), recall (unsafe-only) or FPR (benign-only)."""

    metric: Literal["f1", "recall", "fpr"]
    value: float


@dataclass(frozen=True)
class DatasetResult:
    """A detector's scores on one labelled set."""

    name: str
    role: Role
    """``two-class``, ``unsafe-only`` or ``benign-only`` (from the labels present)."""
    n: int
    """Labelled prompts scored (``n_unsafe + n_safe``)."""
    n_unsafe: int
    n_safe: int
    n_unlabeled: int
    """Records with label ``None``: left out of every metric."""
    threshold: float
    f1: float
    precision: float
    recall: float
    fpr: float | None
    """Share of safe prompts flagged; ``None`` without safe prompts."""
    auprc: float | None
    """Average precision of the scores (threshold-free); ``None`` for a single-class set."""
    confusion: Confusion
    category_macro_f1: float | None = None
    """``--task category``: unweighted mean F1 over the harmscope categories of the unsafe prompts whose
    source category maps to one; ``None`` when not asked for or when no prompt maps."""
    n_categorised: int = 0
    """Unsafe prompts with a mapped category (the macro-F1 denominator set)."""
    y_true: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False,
                                      compare=False)
    """(n,) 1 = unsafe, in record order (for PR curves)."""
    y_score: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    """(n,) P(unsafe) from ``predict_proba``."""

    @property
    def headline(self) -> Headline:
        if self.role == "two-class":
            return Headline("f1", self.f1)
        if self.role == "unsafe-only":
            return Headline("recall", self.recall)
        assert self.fpr is not None  # benign-only sets always have safe prompts
        return Headline("fpr", self.fpr)

    def to_json(self, *, category: bool = False, full: bool = False) -> dict[str, Any]:
        """The ``harmscope bench --json`` row: name, n, f1, precision, recall, fpr, auprc; ``category`` adds
        ``category_macro_f1`` (null when no prompt maps); ``full`` adds it and role, counts, threshold,
        confusion, headline."""
        row: dict[str, Any] = {"name": self.name, "n": self.n, "f1": self.f1, "precision": self.precision,
                               "recall": self.recall, "fpr": self.fpr, "auprc": self.auprc}
        if category or full:
            row["category_macro_f1"] = self.category_macro_f1
        if full:
            row.update({
                "role": self.role, "n_unsafe": self.n_unsafe, "n_safe": self.n_safe,
                "n_unlabeled": self.n_unlabeled, "threshold": self.threshold,
                "confusion": {"tp": self.confusion.tp, "fp": self.confusion.fp, "fn": self.confusion.fn,
                              "tn": self.confusion.tn},
                "headline": {"metric": self.headline.metric, "value": self.headline.value},
                "n_categorised": self.n_categorised,
            })
        return row


@dataclass(frozen=True)
class EvalReport:
    """Results of one detector on one or more sets, in the order they were given."""

    detector: str
    """How the detector was named by the caller (a folder, ``default``, a detector type)."""
    threshold: float
    task: Task
    datasets: tuple[DatasetResult, ...]

    def __getitem__(self, name: str) -> DatasetResult:
        for result in self.datasets:
            if result.name == name:
                return result
        raise KeyError(f"no result for {name!r}; have: {', '.join(r.name for r in self.datasets)}")

    def to_json(self) -> dict[str, Any]:
        """``{"detector": str, "datasets": [{"name", "n", "f1", "precision", "recall", "fpr", "auprc"}]}``
        (with ``category_macro_f1`` per set for ``task="category"``)."""
        category = self.task == "category"
        return {"detector": self.detector, "datasets": [r.to_json(category=category) for r in self.datasets]}

    def to_full_json(self) -> dict[str, Any]:
        """Everything measured (the report's ``results.json``)."""
        return {"detector": self.detector, "threshold": self.threshold, "task": self.task,
                "datasets": [r.to_json(full=True) for r in self.datasets]}


@dataclass(frozen=True)
class EvalSet:
    """A named set of records to score, with the role it is meant to have (checked against the labels)."""

    name: str
    records: Sequence[PromptRecord]
    role: Role | None = None
    """Expected role; ``None`` = take it from the labels."""


def role_of(n_unsafe: int, n_safe: int, name: str = "records") -> Role:
    """The role implied by the label counts; HarmscopeError when there is no labelled record."""
    if n_unsafe and n_safe:
        return "two-class"
    if n_unsafe:
        return "unsafe-only"
    if n_safe:
        return "benign-only"
    raise HarmscopeError(f"{name} has no labelled record (label 'safe' or 'unsafe'); "
                         "an unlabelled set cannot be scored")


def result_from_scores(name: str, y_true: Any, y_score: Any, *, threshold: float, role: Role | None = None,
                       n_unlabeled: int = 0) -> DatasetResult:
    """A :class:`DatasetResult` from labels ``y_true`` (n,) 0/1 and scores ``y_score`` (n,) P(unsafe)."""
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    s = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"{name}: {y.size} labels but {s.size} scores")
    n_unsafe, n_safe = int(y.sum()), int((y == 0).sum())
    actual = role_of(n_unsafe, n_safe, name)
    if role is not None and role != actual:
        raise HarmscopeError(f"{name} is declared {role} but its labels make it {actual} "
                             f"({n_unsafe} unsafe, {n_safe} safe); fix the set or its declared role")
    report = binary_report(y, s, threshold=threshold)
    flagged = s >= threshold
    confusion = Confusion(tp=int(np.sum(flagged & (y == 1))), fp=int(np.sum(flagged & (y == 0))),
                          fn=int(np.sum(~flagged & (y == 1))), tn=int(np.sum(~flagged & (y == 0))))
    return DatasetResult(
        name=name, role=actual, n=int(y.size), n_unsafe=n_unsafe, n_safe=n_safe, n_unlabeled=n_unlabeled,
        threshold=float(threshold), f1=report.f1, precision=report.precision, recall=report.recall,
        fpr=report.fpr, auprc=report.auprc, confusion=confusion, y_true=y, y_score=s,
    )


def _threshold_of(detector: Any) -> float:
    value = getattr(detector, "threshold", None)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"detector must be a fitted harmscope detector with a numeric threshold, "
                        f"got {type(detector).__name__}")
    return float(value)


def _unsafe_scores(detector: Any, texts: list[str], name: str) -> NDArray[np.float64]:
    proba = np.asarray(detector.predict_proba(texts), dtype=np.float64)
    if proba.shape != (len(texts), 2):
        raise HarmscopeError(f"{name}: predict_proba returned shape {proba.shape}, expected ({len(texts)}, 2)")
    if not np.all(np.isfinite(proba)):
        raise HarmscopeError(f"{name}: predict_proba returned NaN or infinite values")
    return proba[:, 1]


def default_category_map() -> CategoryMap:
    """Map records with :func:`harmscope.data.taxonomy.map_category` (``(source, category) -> id | None``)."""
    try:
        from harmscope.data.taxonomy import map_category
    except ImportError as error:
        raise HarmscopeError("the category task needs harmscope.data.taxonomy (map_category), which is not "
                             f"available ({error}); pass category_map= to evaluate") from error

    def mapped(record: PromptRecord) -> str | None:
        result: str | None = map_category(record.source, record.category)
        return result

    return mapped


def _category_score(detector: Any, records: list[PromptRecord], category_map: CategoryMap
                    ) -> tuple[float | None, int]:
    """Macro-F1 of ``predict_category`` against the mapped true category, over unsafe records that map."""
    pairs = [(r.text, c) for r in records if r.label == "unsafe" and (c := category_map(r)) is not None]
    if not pairs:
        return None, 0
    predictions = detector.predict_category([t for t, _ in pairs])
    truth = [c for _, c in pairs]
    return macro_f1(truth, [p.category for p in predictions]), len(pairs)


def _check_records(records: Any, name: str) -> list[PromptRecord]:
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
        raise TypeError(f"{name}: records must be a sequence of PromptRecord, got {type(records).__name__}")
    out = list(records)
    for i, r in enumerate(out):
        if not isinstance(r, PromptRecord):
            raise TypeError(f"{name}: records[{i}] is {type(r).__name__}, expected PromptRecord")
    return out


def _evaluate_one(detector: Any, eval_set: EvalSet, threshold: float, task: Task,
                  category_map: CategoryMap | None) -> DatasetResult:
    records = _check_records(eval_set.records, eval_set.name)
    labelled = [r for r in records if r.label is not None]
    role_of(sum(r.label == "unsafe" for r in labelled), sum(r.label == "safe" for r in labelled), eval_set.name)
    scores = _unsafe_scores(detector, [r.text for r in labelled], eval_set.name)
    result = result_from_scores(eval_set.name, [r.y for r in labelled], scores, threshold=threshold,
                                role=eval_set.role, n_unlabeled=len(records) - len(labelled))
    if task == "category":
        assert category_map is not None
        value, n = _category_score(detector, labelled, category_map)
        result = replace(result, category_macro_f1=value, n_categorised=n)
    return result


def evaluate_sets(detector: Any, sets: Sequence[EvalSet] | Mapping[str, Sequence[PromptRecord]], *,
                  task: Task = "binary", category_map: CategoryMap | None = None,
                  detector_name: str | None = None) -> EvalReport:
    """Score ``detector`` on every set (one ``predict_proba`` call per set) and collect the metrics.

    ``detector`` is any fitted detector (``predict_proba(texts) -> (n, 2)``, a ``threshold``; for
    ``task="category"`` also ``predict_category``). ``sets`` is a sequence of :class:`EvalSet` or a
    mapping name -> records. Records labelled ``None`` are left out and counted. ``category_map`` maps a
    record to its harmscope category for ``task="category"`` (default:
    :func:`harmscope.data.taxonomy.map_category` of its source and category).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    threshold = _threshold_of(detector)
    if isinstance(sets, Mapping):
        items = [EvalSet(name, records) for name, records in sets.items()]
    else:
        items = list(sets)
    if not items:
        raise HarmscopeError("no dataset to evaluate on; give at least one")
    names = [s.name for s in items]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise HarmscopeError(f"dataset names must be unique; repeated: {', '.join(duplicated)}")
    for s in items:
        if s.role is not None and s.role not in ROLES:
            raise ValueError(f"{s.name}: role must be one of {', '.join(ROLES)}, got {s.role!r}")
    if task == "category" and category_map is None:
        category_map = default_category_map()
    results = [_evaluate_one(detector, s, threshold, task, category_map)
               for s in progress(items, total=len(items), desc="datasets", unit="set")]
    name = detector_name if detector_name is not None else str(getattr(detector, "kind", type(detector).__name__))
    return EvalReport(detector=name, threshold=threshold, task=task, datasets=tuple(results))


def evaluate(detector: Any, records: Sequence[PromptRecord], *, name: str = "records", role: Role | None = None,
             task: Task = "binary", category_map: CategoryMap | None = None,
             detector_name: str | None = None) -> EvalReport:
    """Score ``detector`` on one set of records; an :class:`EvalReport` with one row (see
    :func:`evaluate_sets`)."""
    return evaluate_sets(detector, [EvalSet(name, records, role)], task=task, category_map=category_map,
                         detector_name=detector_name)
