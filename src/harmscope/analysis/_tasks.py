"""The three Safe-Embed tasks, each from records + an encoder to a typed result.

- Safety-Challenging: how close an encoder puts each unsafe XSTest prompt to its safe look-alike.
- Safety-Taxonomy: whether unsafe prompts cluster by harm type (Categorical Purity).
- Safety-Contrast: how close each unsafe prompt is to the nearest of its safe edits.

Each task loads its data with ``harmscope.data.load_dataset`` unless records are passed in (tests pass
in-memory records). Prompt text never leaves these functions except as embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.analysis._avg_sim import AvgSim
from harmscope.encoders import Encoder
from harmscope.errors import HarmscopeError
from harmscope.metrics import CategoricalPurity, categorical_purity, contrast_scores, group_means
from harmscope.types import PromptRecord

__all__ = [
    "CHALLENGING_DATASET",
    "CONTRAST_SETS",
    "TAXONOMY_DATASET",
    "ChallengingResult",
    "ContrastPairs",
    "ContrastResult",
    "TaxonomyResult",
    "build_contrast_pairs",
    "run_challenging",
    "run_contrast",
    "run_taxonomy",
]

CHALLENGING_DATASET = "xstest_aug_safe_embed"
TAXONOMY_DATASET = "do_not_answer"
CONTRAST_SETS: dict[str, str] = {
    "xstest_aug": "xstest_aug_safe_embed",
    "jbb": "jbb_behaviors",
    "physical_safety": "safety_tuned_llamas/physical_safety",
    "dna-contrast": "dna_contrast",
}
UNCATEGORIZED = "uncategorized"


@dataclass(frozen=True)
class ContrastPairs:
    """Unsafe prompts (anchors) and the safe prompts that share their pair_id (contrasts)."""

    anchor_texts: tuple[str, ...]
    anchor_categories: tuple[str, ...]
    contrast_texts: tuple[str, ...]
    owner: tuple[int, ...]
    """For each contrast, the index of its anchor."""


def build_contrast_pairs(records: Sequence[PromptRecord], *, what: str = "records") -> ContrastPairs:
    """Group records by ``pair_id``: every unsafe record becomes an anchor whose contrasts are the safe
    records of its group. Records without a pair_id or label, and groups without both an unsafe and a safe
    record, are errors (the task would silently measure something else)."""
    groups: dict[str, list[PromptRecord]] = {}
    for i, rec in enumerate(records):
        if rec.pair_id is None or rec.label is None:
            raise HarmscopeError(f"{what}: record {i} (id {rec.id!r}) has no pair_id or no label; contrast "
                                 "tasks need labelled records paired by pair_id")
        groups.setdefault(str(rec.pair_id), []).append(rec)
    anchors: list[str] = []
    cats: list[str] = []
    contrasts: list[str] = []
    owner: list[int] = []
    incomplete: list[str] = []
    for pair_id, members in groups.items():
        unsafe = [r for r in members if r.label == "unsafe"]
        safe = [r for r in members if r.label == "safe"]
        if not unsafe or not safe:
            incomplete.append(pair_id)
            continue
        for u in unsafe:
            idx = len(anchors)
            anchors.append(u.text)
            cats.append(u.category or UNCATEGORIZED)
            contrasts.extend(s.text for s in safe)
            owner.extend([idx] * len(safe))
    if incomplete:
        raise HarmscopeError(f"{what}: {len(incomplete)} of {len(groups)} pair_id groups lack an unsafe or a "
                             f"safe record (first: {incomplete[:3]}); check the loader's pairing")
    if not anchors:
        raise HarmscopeError(f"{what}: no unsafe/safe pairs found")
    return ContrastPairs(tuple(anchors), tuple(cats), tuple(contrasts), tuple(owner))


def _score_pairs(encoder: Encoder, pairs: ContrastPairs, avg_sim: AvgSim) -> NDArray[np.float64]:
    """Normalised max cosine per anchor, shape (n_anchors,)."""
    texts = list(dict.fromkeys(pairs.anchor_texts + pairs.contrast_texts))
    row = {t: i for i, t in enumerate(texts)}
    emb = encoder.encode(texts)
    try:
        scores = contrast_scores(emb[[row[t] for t in pairs.anchor_texts]],
                                 emb[[row[t] for t in pairs.contrast_texts]],
                                 np.asarray(pairs.owner, dtype=np.int64), avg_sim=avg_sim.value)
    except ValueError as error:
        raise HarmscopeError(f"encoder {encoder.id}: {error}") from None
    return np.asarray(scores.normalized)


# ----------------------------------------------------------------------------------------------------
# Safety-Challenging
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengingResult:
    """Mean normalised cosine between unsafe prompts and their safe pairs, per XSTest type."""

    encoder: str
    avg_sim: AvgSim
    per_type: dict[str, float]
    """XSTest type -> mean normalised cosine (types in file order). Lower = better separation."""
    counts: dict[str, int]

    @property
    def overall(self) -> float:
        """Mean over pairs (not over types)."""
        total = sum(self.counts.values())
        return sum(self.per_type[t] * n for t, n in self.counts.items()) / total

    def to_json(self) -> dict[str, Any]:
        return {"task": "challenging", "encoder": self.encoder, "per_type": dict(self.per_type),
                "overall": self.overall, "counts": dict(self.counts), "avg_sim": self.avg_sim.to_json()}


def run_challenging(encoder: Encoder, *, avg_sim: AvgSim,
                    records: Sequence[PromptRecord] | None = None) -> ChallengingResult:
    """Safety-Challenging on XSTest-aug (250 unsafe/safe pairs, 10 types of 25)."""
    if records is None:
        from harmscope.data import load_dataset

        records = load_dataset(CHALLENGING_DATASET)
    pairs = build_contrast_pairs(records, what=CHALLENGING_DATASET)
    scores = _score_pairs(encoder, pairs, avg_sim)
    per_type = group_means(scores, pairs.anchor_categories)
    counts = {t: pairs.anchor_categories.count(t) for t in per_type}
    return ChallengingResult(encoder=encoder.id, avg_sim=avg_sim, per_type=per_type, counts=counts)


# ----------------------------------------------------------------------------------------------------
# Safety-Contrast
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContrastResult:
    """Per unsafe prompt, the max normalised cosine to its safe contrasts; averaged."""

    set: str
    encoder: str
    avg_sim: AvgSim
    overall: float
    per_category: dict[str, float]
    n: int
    """Number of unsafe prompts (anchors)."""
    n_contrasts: int

    def to_json(self) -> dict[str, Any]:
        return {"set": self.set, "overall": self.overall, "per_category": dict(self.per_category), "n": self.n,
                "n_contrasts": self.n_contrasts, "encoder": self.encoder, "avg_sim": self.avg_sim.to_json()}


def run_contrast(encoder: Encoder, *, set_name: str, avg_sim: AvgSim,
                 records: Sequence[PromptRecord] | None = None) -> ContrastResult:
    """Safety-Contrast on one of :data:`CONTRAST_SETS` (``dna-contrast`` is the paper's own setting)."""
    if set_name not in CONTRAST_SETS:
        raise HarmscopeError(f"unknown contrast set {set_name!r}; known: {', '.join(CONTRAST_SETS)}")
    if records is None:
        from harmscope.data import load_dataset

        records = load_dataset(CONTRAST_SETS[set_name])
    pairs = build_contrast_pairs(records, what=CONTRAST_SETS[set_name])
    scores = _score_pairs(encoder, pairs, avg_sim)
    return ContrastResult(set=set_name, encoder=encoder.id, avg_sim=avg_sim, overall=float(scores.mean()),
                          per_category=group_means(scores, pairs.anchor_categories), n=len(scores),
                          n_contrasts=len(pairs.contrast_texts))


# ----------------------------------------------------------------------------------------------------
# Safety-Taxonomy
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxonomyResult:
    """Categorical Purity of the Do-Not-Answer prompts under its 12 harm types."""

    encoder: str
    purity: CategoricalPurity
    embeddings: NDArray[np.float32] = field(repr=False, compare=False)
    """The prompts' embeddings (n, dim), kept for the t-SNE plot."""
    categories: tuple[str, ...] = field(repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"task": "taxonomy", "encoder": self.encoder, **self.purity.to_json()}


def run_taxonomy(encoder: Encoder, *, k: int = 10,
                 records: Sequence[PromptRecord] | None = None) -> TaxonomyResult:
    """Safety-Taxonomy: CP@k over Do-Not-Answer's harm types (duplicate texts are kept, as in the paper)."""
    if records is None:
        from harmscope.data import load_dataset

        records = load_dataset(TAXONOMY_DATASET)
    missing = [i for i, r in enumerate(records) if not r.category]
    if missing:
        raise HarmscopeError(f"{TAXONOMY_DATASET}: {len(missing)} records have no category (first rows: "
                             f"{missing[:5]}); Categorical Purity needs a category on every prompt")
    texts = [r.text for r in records]
    categories = tuple(str(r.category) for r in records)
    emb = encoder.encode(texts)
    try:
        purity = categorical_purity(emb, categories, k=k)
    except ValueError as error:
        raise HarmscopeError(f"taxonomy: {error}") from None
    return TaxonomyResult(encoder=encoder.id, purity=purity, embeddings=emb, categories=categories)
