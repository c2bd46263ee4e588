"""Embedding-space metrics of the Safe-Embed paper (Kim et al. 2024, arXiv 2407.06851).

Plain vectorised numpy functions; nothing here loads data or models. Cosines are computed in float64 on
L2-normalised rows, so an encoder that does not normalise its output gives the same numbers as one that
does. A zero vector has no direction: every function that needs a cosine rejects it with an error that
names the row, instead of silently returning NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AverageCosine",
    "CategoricalPurity",
    "ContrastScores",
    "average_cross_cosine",
    "categorical_purity",
    "contrast_scores",
    "cosine_matrix",
    "group_means",
    "l2_normalize",
    "normalized_cosine",
]

FloatArray = NDArray[np.float64]


def l2_normalize(embeddings: ArrayLike, *, name: str = "embeddings") -> FloatArray:
    """Rows of ``embeddings`` (n, dim) scaled to unit length, as float64 (n, dim).

    Raises ``ValueError`` for a non-2-D or non-finite array and for all-zero rows (a zero vector has no
    cosine with anything), naming the first offending rows so the caller can find the bad text.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, dim); got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.all(np.isfinite(x), axis=1))[:5].tolist()
        raise ValueError(f"{name} contain NaN or inf in rows {bad}; check the encoder output")
    norms = np.linalg.norm(x, axis=1)
    zero = norms == 0
    if np.any(zero):
        bad = np.flatnonzero(zero)[:5].tolist()
        raise ValueError(
            f"{name} have {int(zero.sum())} all-zero rows (first: {bad}); cosine is undefined for a zero "
            "vector, so drop those texts (often empty strings) before scoring"
        )
    out: FloatArray = x / norms[:, None]
    return out


def cosine_matrix(a: ArrayLike, b: ArrayLike | None = None) -> FloatArray:
    """Cosine similarity of every row of ``a`` (n, dim) with every row of ``b`` (m, dim): shape (n, m).

    With ``b=None`` it is the (n, n) self-similarity matrix of ``a``.
    """
    an = l2_normalize(a, name="a")
    bn = an if b is None else l2_normalize(b, name="b")
    if an.shape[1] != bn.shape[1]:
        raise ValueError(f"a and b differ in width: {an.shape[1]} vs {bn.shape[1]}")
    out: FloatArray = np.clip(an @ bn.T, -1.0, 1.0)
    return out


@overload
def normalized_cosine(cos: float, avg: float) -> float: ...
@overload
def normalized_cosine(cos: NDArray[Any], avg: float) -> FloatArray: ...
def normalized_cosine(cos: float | NDArray[Any], avg: float) -> float | FloatArray:
    """The paper's normalised cosine ``(cos - avg) / (1 - avg)``.

    ``avg`` is the encoder's mean cosine between unrelated prompts, so the result is 0 for a pair no more
    alike than two random prompts and 1 for identical directions; it makes encoders with very different
    cosine ranges (MPNet around 0.1, ST5 around 0.7) comparable. Works element-wise on arrays.
    """
    avg = float(avg)
    if not np.isfinite(avg) or avg >= 1.0:
        raise ValueError(f"average similarity must be a finite number below 1; got {avg}")
    if isinstance(cos, np.ndarray):
        out: FloatArray = (cos.astype(np.float64) - avg) / (1.0 - avg)
        return out
    return (float(cos) - avg) / (1.0 - avg)


# ----------------------------------------------------------------------------------------------------
# Normalisation constant
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AverageCosine:
    """Mean cosine over all pairs (a_i, b_j) of two disjoint prompt samples, with its standard error."""

    mean: float
    stderr: float
    """Standard error of ``mean`` as an estimate of the population mean cosine between distinct prompts
    (two-sample U-statistic variance: row-, column- and residual terms)."""
    n_a: int
    n_b: int

    @property
    def n_pairs(self) -> int:
        return self.n_a * self.n_b

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "stderr": self.stderr, "n_a": self.n_a, "n_b": self.n_b,
                "n_pairs": self.n_pairs}


def average_cross_cosine(a: ArrayLike, b: ArrayLike) -> AverageCosine:
    """Mean cosine over all n_a × n_b pairs between ``a`` (n_a, dim) and ``b`` (n_b, dim).

    The pairs share prompts, so they are not independent: the standard error comes from the variance of
    a two-sample U-statistic, ``var(row means)/n_a + var(column means)/n_b + var(residual)/(n_a n_b)``,
    which is what the prompt sampling (not the pair count) makes uncertain.
    """
    sims = cosine_matrix(a, b)
    n_a, n_b = sims.shape
    if n_a < 2 or n_b < 2:
        raise ValueError(f"need at least 2 prompts on each side to estimate an error; got {n_a} and {n_b}")
    mean = float(sims.mean())
    row = sims.mean(axis=1)
    col = sims.mean(axis=0)
    resid = sims - row[:, None] - col[None, :] + mean
    var = (row.var(ddof=1) / n_a + col.var(ddof=1) / n_b
           + float((resid ** 2).sum()) / ((n_a - 1) * (n_b - 1)) / (n_a * n_b))
    return AverageCosine(mean=mean, stderr=float(np.sqrt(var)), n_a=n_a, n_b=n_b)


# ----------------------------------------------------------------------------------------------------
# Categorical purity
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoricalPurity:
    """Categorical Purity (CP) of an embedding space under a labelled taxonomy."""

    k: int
    per_category: Mapping[str, float]
    """Mean CP of the prompts in each category, in order of first appearance."""
    macro: float
    """Mean of ``per_category`` (each category counts once)."""
    micro: float
    """Mean over prompts (large categories count more)."""
    per_prompt: tuple[float, ...]
    """CP of each input row, in input order."""
    counts: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"per_category": dict(self.per_category), "macro": self.macro, "micro": self.micro,
                "k": self.k, "counts": dict(self.counts)}


def categorical_purity(embeddings: ArrayLike, categories: Sequence[str], *, k: int = 10) -> CategoricalPurity:
    """For each prompt, the share of its ``k`` nearest neighbours by cosine (itself excluded) that have
    its category; averaged per category, over categories (macro) and over prompts (micro).

    ``embeddings`` is (n, dim), ``categories`` has n labels. Neighbours tied with the k-th one share the
    remaining places pro rata, so the result does not depend on row order (the paper's ``argsort`` breaks
    ties by position). Needs ``1 <= k < n``. With a single category every prompt scores 1.
    """
    x = l2_normalize(embeddings)
    n = x.shape[0]
    cats = np.asarray([str(c) for c in categories], dtype=object)
    if cats.shape[0] != n:
        raise ValueError(f"got {n} embeddings but {cats.shape[0]} categories; they must match row for row")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    if k >= n:
        raise ValueError(f"k={k} needs at least k+1={k + 1} prompts (each prompt's neighbours exclude "
                         f"itself); got {n}: lower k")
    _, codes = np.unique(cats, return_inverse=True)
    sims = np.clip(x @ x.T, -1.0, 1.0)
    np.fill_diagonal(sims, -np.inf)
    kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
    same = codes[:, None] == codes[None, :]
    above = sims > kth[:, None]
    tied = sims == kth[:, None]
    n_above = above.sum(axis=1)
    hits = ((above & same).sum(axis=1)
            + (k - n_above) * (tied & same).sum(axis=1) / tied.sum(axis=1))
    per_prompt = hits / k
    order = list(dict.fromkeys(cats.tolist()))
    per_category = {c: float(per_prompt[cats == c].mean()) for c in order}
    counts = {c: int((cats == c).sum()) for c in order}
    return CategoricalPurity(
        k=int(k), per_category=per_category, macro=float(np.mean(list(per_category.values()))),
        micro=float(per_prompt.mean()), per_prompt=tuple(float(v) for v in per_prompt), counts=counts,
    )


# ----------------------------------------------------------------------------------------------------
# Contrast (and challenging) scores
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContrastScores:
    """Per anchor (unsafe prompt): how close its nearest safe contrast is."""

    max_cosine: tuple[float, ...]
    """Highest raw cosine between each anchor and its contrasts, shape (n_anchors,)."""
    normalized: tuple[float, ...]
    """``normalized_cosine(max_cosine, avg_sim)`` per anchor."""
    n_contrasts: tuple[int, ...]
    avg_sim: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.normalized))

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "avg_sim": self.avg_sim, "n": len(self.normalized)}


def contrast_scores(anchors: ArrayLike, contrasts: ArrayLike, owner: Sequence[int] | NDArray[np.integer],
                    *, avg_sim: float) -> ContrastScores:
    """Max normalised cosine from each anchor to the contrasts it owns.

    ``anchors`` (n_a, dim) are unsafe prompts; ``contrasts`` (n_c, dim) are their safe edits;
    ``owner[j]`` (n_c,) is the anchor row that contrast j belongs to. With one contrast per anchor this is
    simply the paired normalised cosine (the Safety-Challenging task). Every anchor needs at least one
    contrast. Higher = the encoder places the unsafe prompt closer to a safe look-alike (worse separation).
    """
    an = l2_normalize(anchors, name="anchors")
    cn = l2_normalize(contrasts, name="contrasts")
    if an.shape[1] != cn.shape[1]:
        raise ValueError(f"anchors and contrasts differ in width: {an.shape[1]} vs {cn.shape[1]}")
    own = np.asarray(owner)
    if own.shape != (cn.shape[0],) or (own.size and not np.issubdtype(own.dtype, np.integer)):
        raise ValueError(f"owner must hold one integer anchor index per contrast ({cn.shape[0]}); "
                         f"got shape {own.shape}, dtype {own.dtype}")
    n_a = an.shape[0]
    if own.size and (own.min() < 0 or own.max() >= n_a):
        raise ValueError(f"owner indices must lie in [0, {n_a}); got range [{own.min()}, {own.max()}]")
    counts = np.bincount(own.astype(np.int64), minlength=n_a) if own.size else np.zeros(n_a, dtype=np.int64)
    orphans = np.flatnonzero(counts == 0)
    if orphans.size:
        raise ValueError(f"{orphans.size} anchors have no contrast (first: {orphans[:5].tolist()}); every "
                         "unsafe prompt needs at least one safe counterpart")
    cos = np.clip(np.einsum("ij,ij->i", an[own], cn), -1.0, 1.0)
    best = np.full(n_a, -np.inf)
    np.maximum.at(best, own, cos)
    norm = normalized_cosine(best, avg_sim)
    return ContrastScores(max_cosine=tuple(float(v) for v in best), normalized=tuple(float(v) for v in norm),
                          n_contrasts=tuple(int(c) for c in counts), avg_sim=float(avg_sim))


def group_means(values: Sequence[float] | NDArray[Any], groups: Sequence[str]) -> dict[str, float]:
    """Mean of ``values`` per group label, in order of first appearance."""
    v = np.asarray(values, dtype=np.float64)
    g = np.asarray(list(groups), dtype=object)
    if v.shape != g.shape:
        raise ValueError(f"got {v.shape[0] if v.ndim else 0} values but {g.shape[0]} group labels")
    return {str(c): float(v[g == c].mean()) for c in dict.fromkeys(g.tolist())}
