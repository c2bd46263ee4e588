"""Safe-Embed evaluation tasks (Kim et al. 2024, arXiv 2407.06851) for any harmscope encoder.

- :func:`run_challenging`: Safety-Challenging on XSTest-aug (unsafe vs safe look-alike, per type).
- :func:`run_taxonomy`: Safety-Taxonomy, Categorical Purity on Do-Not-Answer's harm types.
- :func:`run_contrast`: Safety-Contrast, max similarity of an unsafe prompt to its safe edits.
- :func:`compute_avg_sim` / :func:`resolve_avg_sim`: the normalisation constant.
- :func:`paper_numbers`: the paper's published constants and results, with their source.

Importing this package is light (numpy only); matplotlib and scikit-learn load inside the displays.
"""

from __future__ import annotations

from harmscope.analysis._avg_sim import (
    AVG_SIM_DATASETS,
    DEFAULT_AVG_SIM_PROMPTS,
    AvgSim,
    compute_avg_sim,
    resolve_avg_sim,
    sample_pair_halves,
)
from harmscope.analysis._display import ChallengingHeatmapDisplay, EmbeddingScatterDisplay
from harmscope.analysis._layer_sweep import LayerScore, LayerSweepResult, layer_sweep
from harmscope.analysis._paper import PaperNumbers, paper_avg_sim, paper_name, paper_numbers
from harmscope.analysis._tasks import (
    CHALLENGING_DATASET,
    CONTRAST_SETS,
    TAXONOMY_DATASET,
    ChallengingResult,
    ContrastPairs,
    ContrastResult,
    TaxonomyResult,
    build_contrast_pairs,
    run_challenging,
    run_contrast,
    run_taxonomy,
)

__all__ = [
    "AVG_SIM_DATASETS",
    "CHALLENGING_DATASET",
    "CONTRAST_SETS",
    "DEFAULT_AVG_SIM_PROMPTS",
    "TAXONOMY_DATASET",
    "AvgSim",
    "ChallengingHeatmapDisplay",
    "ChallengingResult",
    "ContrastPairs",
    "ContrastResult",
    "EmbeddingScatterDisplay",
    "LayerScore",
    "LayerSweepResult",
    "PaperNumbers",
    "TaxonomyResult",
    "build_contrast_pairs",
    "compute_avg_sim",
    "layer_sweep",
    "paper_avg_sim",
    "paper_name",
    "paper_numbers",
    "resolve_avg_sim",
    "run_challenging",
    "run_contrast",
    "run_taxonomy",
    "sample_pair_halves",
]
