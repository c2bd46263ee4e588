"""Typed records shared across the package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Label = Literal["safe", "unsafe"]
LABELS: tuple[Label, Label] = ("safe", "unsafe")


@dataclass(frozen=True)
class PromptRecord:
    """One prompt from any dataset, in one shape."""

    text: str
    """The prompt text as the user would send it."""
    label: Label | None
    """``"unsafe"``/``"safe"``, or ``None`` where the source gives no prompt-level label."""
    category: str | None = None
    """The harm category in the *source's own* taxonomy (mapped to ours elsewhere)."""
    source: str = ""
    """Registered dataset name (e.g. ``"xstest"``), plus ``/subset`` where a set has parts."""
    pair_id: str | None = None
    """Links matched safe/unsafe prompts (XSTest types, JBB goals, PhysicalSafety pairs)."""
    id: str | None = None
    """The row id in the source, where it has one."""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Other source columns worth keeping (subcategory, adversarial flag, …)."""

    @property
    def y(self) -> int:
        """1 for unsafe, 0 for safe; raises for unlabeled records."""
        if self.label is None:
            raise ValueError(f"record {self.id!r} from {self.source!r} has no label")
        return 1 if self.label == "unsafe" else 0


# -- detector results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    """One known prompt from a detector's training bank, as evidence for a verdict."""

    text: str
    """The bank prompt (the user's own training data, so returning it is fine; never logged)."""
    similarity: float
    """Cosine similarity to the query, in [-1, 1]."""
    label: Label
    """The bank prompt's label."""
    category: str | None
    """The bank prompt's harm category, if it was fitted with one."""
    index: int
    """Row of the prompt in the training data given to ``fit``."""


@dataclass(frozen=True)
class CategoryScore:
    """One harm category and its score (the scores of one prediction sum to 1)."""

    category: str
    score: float


@dataclass(frozen=True)
class CategoryPrediction:
    """The most likely harm category of a prompt, *assuming it is unsafe*, and all category scores.

    ``category`` is ``None`` (and ``scores`` empty) when the detector was fitted without categories,
    or when no category evidence applies (e.g. no categorised unsafe neighbour for kNN).
    """

    category: str | None
    scores: tuple[CategoryScore, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Why a detector gave the score it gave to one prompt."""

    detector: str
    """Registered detector type (``"knn"``, ``"probe-lr"``, …)."""
    score: float
    """Calibrated P(unsafe) in [0, 1]."""
    threshold: float
    """The detector's threshold; verdict is ``"unsafe"`` iff ``score >= threshold``."""
    verdict: Label
    category: CategoryPrediction
    """The category head's answer (conditional on unsafe), whatever the verdict."""
    neighbours: tuple[Neighbour, ...] = ()
    """Nearest known prompts, most similar first (kNN: those that made the score)."""
    details: dict[str, float] = field(default_factory=dict, hash=False)
    """Detector-specific numbers behind the score (raw score, distances, member scores…)."""
