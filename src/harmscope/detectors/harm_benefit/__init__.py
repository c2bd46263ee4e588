"""SafetyAnalyst-style harm-benefit moderation (arXiv:2410.16665): typed harm-benefit trees, the AIR-2024
and effect taxonomies, a tolerant parser for LLM output, the interpretable aggregation model with
per-effect explanations, fitting (differential evolution and L-BFGS-B) and steering by policy files.

Trees come from a ``TreeGenerator`` (LLM-written or predicted trees plug in there). The offline
``TaxonomyTreeGenerator`` predicts trees from sentence embeddings; ``SafetyAnalystDetector`` wraps the
whole pipeline as a detector. Nothing here loads a model at import. See docs/safety-analyst.md.
"""

from __future__ import annotations

from harmscope.detectors.harm_benefit._aggregate import (
    WEIGHT_TABLES,
    Contribution,
    Explanation,
    HarmBenefitModel,
    Params,
    ParamsError,
    TreeFeatures,
    TreeFeaturizer,
    WeightVectors,
    default_params,
    load_params,
    save_params,
    sigmoid,
)
from harmscope.detectors.harm_benefit._detector import (
    DetectorValidation,
    SafetyAnalystDetector,
    TrainingData,
    TreeExplanation,
    default_training_data,
    fit_default_detector,
    validate_taxonomy_detector,
)
from harmscope.detectors.harm_benefit._fit import (
    ALL_BLOCKS,
    DEFAULT_FREE,
    FitError,
    FitResult,
    Metrics,
    evaluate,
    fit_de,
    fit_lbfgs,
)
from harmscope.detectors.harm_benefit._generator import TreeGenerator, TreeResult
from harmscope.detectors.harm_benefit._parse import (
    EXTENT_SYNONYMS,
    IMMEDIACY_WORDS,
    LIKELIHOOD_SYNONYMS,
    Dropped,
    Issue,
    ParseResult,
    Repair,
    TreeValidationError,
    ValidationReport,
    parse_tree,
    validate_tree,
)
from harmscope.detectors.harm_benefit._policy import Policy, PolicyError, apply_policy, load_policy
from harmscope.detectors.harm_benefit._render import render_tree
from harmscope.detectors.harm_benefit._synthetic import (
    SyntheticData,
    SyntheticTreeGenerator,
    random_params,
    synthetic_trees,
)
from harmscope.detectors.harm_benefit._taxonomy import Category, Hierarchy, Match, Taxonomies, load_taxonomies
from harmscope.detectors.harm_benefit._taxonomy_generator import (
    ActionEffects,
    AirMappingTable,
    EffectTemplate,
    Signals,
    TaxonomyPredictors,
    TaxonomyTreeGenerator,
    TreeAgreement,
    TreeOptions,
    UnmappedCategoryError,
    air_category,
    air_mapping_tables,
    build_tree,
    compare_trees,
    fit_predictors,
    load_action_effects,
)
from harmscope.detectors.harm_benefit._tree import (
    EXTENTS,
    LIKELIHOODS,
    Action,
    Effect,
    EffectRef,
    HarmBenefitTree,
    Stakeholder,
    merge_trees,
)

__all__ = [
    "ALL_BLOCKS", "DEFAULT_FREE", "EXTENTS", "EXTENT_SYNONYMS", "IMMEDIACY_WORDS", "LIKELIHOODS",
    "LIKELIHOOD_SYNONYMS", "WEIGHT_TABLES", "Action", "ActionEffects", "AirMappingTable", "Category",
    "Contribution", "DetectorValidation", "Dropped", "Effect", "EffectRef", "EffectTemplate", "Explanation",
    "FitError", "FitResult", "HarmBenefitModel", "HarmBenefitTree", "Hierarchy", "Issue", "Match", "Metrics",
    "Params", "ParamsError", "ParseResult", "Policy", "PolicyError", "Repair", "SafetyAnalystDetector",
    "Signals", "Stakeholder", "SyntheticData", "SyntheticTreeGenerator", "Taxonomies", "TaxonomyPredictors",
    "TaxonomyTreeGenerator", "TrainingData", "TreeAgreement", "TreeExplanation", "TreeFeatures",
    "TreeFeaturizer", "TreeGenerator", "TreeOptions", "TreeResult", "TreeValidationError",
    "UnmappedCategoryError", "ValidationReport", "WeightVectors", "air_category", "air_mapping_tables",
    "apply_policy", "build_tree", "compare_trees", "default_params", "default_training_data", "evaluate",
    "fit_de", "fit_default_detector", "fit_lbfgs", "fit_predictors", "load_action_effects", "load_params",
    "load_policy", "load_taxonomies", "merge_trees", "parse_tree", "random_params", "render_tree",
    "save_params", "sigmoid", "synthetic_trees", "validate_taxonomy_detector", "validate_tree",
]
