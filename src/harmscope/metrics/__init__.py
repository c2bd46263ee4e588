"""Metrics as plain functions over arrays.

- :mod:`harmscope.metrics._embedding`: the Safe-Embed embedding-space metrics (normalised cosine,
  Categorical Purity, contrast scores, the average-cosine normalisation constant).
- :mod:`harmscope.metrics._classification`: binary and category metrics, thin over scikit-learn.
"""

from __future__ import annotations

from harmscope.metrics._classification import (
    BinaryReport,
    auprc,
    binary_report,
    f1,
    fpr,
    macro_f1,
    precision,
    recall,
)
from harmscope.metrics._embedding import (
    AverageCosine,
    CategoricalPurity,
    ContrastScores,
    average_cross_cosine,
    categorical_purity,
    contrast_scores,
    cosine_matrix,
    group_means,
    l2_normalize,
    normalized_cosine,
)

__all__ = [
    "AverageCosine",
    "BinaryReport",
    "CategoricalPurity",
    "ContrastScores",
    "auprc",
    "average_cross_cosine",
    "binary_report",
    "categorical_purity",
    "contrast_scores",
    "cosine_matrix",
    "f1",
    "fpr",
    "group_means",
    "l2_normalize",
    "macro_f1",
    "normalized_cosine",
    "precision",
    "recall",
]
