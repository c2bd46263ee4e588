"""``SafetyAnalystDetector``: the SafetyAnalyst pipeline as a harmscope detector, offline.

fit(texts, labels, categories) trains the predictors of the ``taxonomy`` tree generator (gate, AIR category
head, zero-shot benefits) on sentence embeddings, generates the trees of the training texts (from
out-of-fold predictions, so that they look like trees of unseen prompts), and fits the aggregation weights
on them (L-BFGS-B by default, differential evolution with ``fit_method="de"``). ``predict_proba`` is
sigmoid(score − threshold) of the aggregation under the fitted weights with ``policy`` applied; a policy
is applied at predict time and never refits. ``explain`` returns a ``TreeExplanation``: the usual
detector explanation plus the tree and each effect's contribution.

``categories`` given to ``fit`` are read as AIR-2024 names where they are one (``"Self-harm"``,
``"Fraud"``); other names (``"weapons"``) still train the category head but their trees use
``unmapped_action``. ``default_training_data`` builds the training-side set with AIR labels.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.detectors._base import BaseDetector, check_int, check_positive
from harmscope.detectors.harm_benefit._aggregate import Explanation as TreeAnalysis
from harmscope.detectors.harm_benefit._aggregate import (
    HarmBenefitModel,
    Params,
    TreeFeaturizer,
    default_params,
    load_params,
    save_params,
)
from harmscope.detectors.harm_benefit._policy import Policy, apply_policy, load_policy
from harmscope.detectors.harm_benefit._taxonomy import load_taxonomies
from harmscope.detectors.harm_benefit._taxonomy_generator import (
    Signals,
    TaxonomyPredictors,
    TaxonomyTreeGenerator,
    TreeOptions,
    air_category,
    benefit_descriptions,
    build_tree,
    fit_predictors,
    load_action_effects,
    resolve_air_action,
)
from harmscope.detectors.harm_benefit._tree import HarmBenefitTree
from harmscope.types import CategoryPrediction, Explanation

WEIGHTS_FILE = "weights.yaml"


@dataclass(frozen=True)
class TreeExplanation(Explanation):
    """A detector explanation with the harm-benefit tree behind it.

    ``score`` is P(unsafe) = sigmoid(analysis.score − analysis.threshold); ``analysis`` holds the
    aggregation score, its threshold and one contribution per effect (they sum to ``analysis.score``).
    """

    tree: HarmBenefitTree | None = None
    analysis: TreeAnalysis | None = None
    signals: Signals | None = None
    """What the predictors said (gate probability, AIR category probabilities, zero-shot benefit)."""


class SafetyAnalystDetector(BaseDetector):
    """SafetyAnalyst with offline, predicted trees (see the module docstring and docs/safety-analyst.md).

    Parameters: ``representation`` (encoder id), ``C`` (gate L2 inverse strength), ``category_C``,
    ``max_harm_actions``, ``min_category_share``, ``min_harm_probability`` (tree options), ``cv_folds``
    (out-of-fold trees for the aggregation fit; < 2 = in-sample), ``fit_method`` ("lbfgs" or "de"),
    ``fit_bias`` (fit a bias, stored as a shifted score threshold), ``de_maxiter``, ``unmapped_action``
    (AIR level-2 category for categories that are not AIR names), ``policy`` (None, a policy YAML path or
    a policy mapping; applied at predict time), ``random_state``, ``threshold`` (on P(unsafe)).
    """

    kind = "safety-analyst"
    _explain_k_param = None

    def __init__(self, *, representation: str = "minilm", C: float = 1.0, category_C: float = 1.0,
                 max_harm_actions: int = 2, min_category_share: float = 0.2, min_harm_probability: float = 0.05,
                 cv_folds: int = 5, fit_method: str = "lbfgs", fit_bias: bool = False, de_maxiter: int = 100,
                 unmapped_action: str = "Criminal Activities", policy: str | dict[str, Any] | None = None,
                 random_state: int | None = 0, threshold: float = 0.5) -> None:
        self.representation = representation
        self.C = C
        self.category_C = category_C
        self.max_harm_actions = max_harm_actions
        self.min_category_share = min_category_share
        self.min_harm_probability = min_harm_probability
        self.cv_folds = cv_folds
        self.fit_method = fit_method
        self.fit_bias = fit_bias
        self.de_maxiter = de_maxiter
        self.unmapped_action = unmapped_action
        self.policy = policy
        self.random_state = random_state
        self.threshold = threshold

    # -- parameters ----------------------------------------------------------------------------------
    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive("C", self.C)
        check_positive("category_C", self.category_C)
        check_int("max_harm_actions", self.max_harm_actions, 1)
        check_int("cv_folds", self.cv_folds, 0)
        check_int("de_maxiter", self.de_maxiter, 1)
        for name in ("min_category_share", "min_harm_probability"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.fit_method not in ("lbfgs", "de"):
            raise ValueError(f"fit_method must be 'lbfgs' or 'de', got {self.fit_method!r}")
        if load_taxonomies().harm_actions.weight_names.count(str(self.unmapped_action)) != 1:
            raise ValueError(f"unmapped_action must be an AIR-2024 level-2 name, got {self.unmapped_action!r}; "
                             f"choose from {', '.join(load_taxonomies().harm_actions.weight_names)}")
        policy = self._policy_object()
        if policy is not None:  # a bad policy fails at fit, not at the first prediction
            apply_policy(default_params(), policy)

    def _policy_object(self) -> Policy | None:
        if self.policy is None:
            return None
        if isinstance(self.policy, (str, Path)):
            return load_policy(self.policy)
        if isinstance(self.policy, Mapping):
            return Policy.from_dict(self.policy, source="policy parameter")
        raise TypeError(f"policy must be None, a policy YAML path or a mapping, got {type(self.policy).__name__}")

    def _options(self) -> TreeOptions:
        return TreeOptions(int(self.max_harm_actions), float(self.min_category_share),
                           float(self.min_harm_probability))

    # -- fitting -------------------------------------------------------------------------------------
    def _fit_arrays(self, X: Any, y: NDArray[np.int64], category_index: NDArray[np.int64],
                    texts: list[str]) -> None:
        from harmscope.detectors.harm_benefit._fit import ALL_BLOCKS, DEFAULT_FREE, fit_de, fit_lbfgs

        actions = [resolve_air_action(c) or str(self.unmapped_action) for c in self.categories_]
        self.air_actions_ = actions
        names, descriptions = zip(*benefit_descriptions(), strict=True)
        benefit_vectors = self._encode(list(descriptions))
        kwargs: dict[str, Any] = {"C": float(self.C), "category_C": float(self.category_C),
                                      "random_state": self.random_state, "fallback_action": str(self.unmapped_action)}
        signals = self._out_of_fold_signals(X, y, category_index, actions, names, benefit_vectors, kwargs)
        self.predictors_ = fit_predictors(X, y, category_index, actions, names, benefit_vectors, **kwargs)
        table = load_action_effects()
        options = self._options()
        features = TreeFeaturizer().transform([build_tree(s, options, table) for s in signals])
        free = ALL_BLOCKS if self.fit_bias else DEFAULT_FREE
        if self.fit_method == "de":
            result = fit_de(features, y, free=free, seed=int(self.random_state or 0), maxiter=int(self.de_maxiter))
        else:
            result = fit_lbfgs(features, y, free=free)
        params = result.params
        if params.bias != 0.0:  # score + bias > t  <=>  score > t - bias: keep contributions harm/benefit only
            params = params.with_changes(bias=0.0, threshold=params.threshold - params.bias)
        self.params_ = params
        self.fit_summary_ = {"method": result.method, "nll": result.nll, "seconds": result.seconds,
                             "converged": result.converged, "n_trees": int(y.shape[0])}

    def _out_of_fold_signals(self, X: NDArray[np.float64], y: NDArray[np.int64], category_index: NDArray[np.int64],
                             actions: Sequence[str], names: Sequence[str], benefit_vectors: NDArray[np.float64],
                             kwargs: dict[str, Any]) -> list[Signals]:
        """Signals of every training text from predictors that did not see it (in-sample when a class is
        smaller than ``cv_folds``), so the aggregation is fitted on trees like those of new prompts."""
        k = int(self.cv_folds)
        if k < 2 or min(int(np.sum(y == 0)), int(np.sum(y == 1))) < k:
            return fit_predictors(X, y, category_index, actions, names, benefit_vectors, **kwargs).signals(X)
        from sklearn.model_selection import StratifiedKFold

        out: list[Signals | None] = [None] * y.shape[0]
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
        for train, held in folds.split(X, y):
            fitted = fit_predictors(X[train], y[train], category_index[train], actions, names, benefit_vectors,
                                    **kwargs)
            for i, s in zip(held, fitted.signals(X[held]), strict=True):
                out[int(i)] = s
        return [s for s in out if s is not None]

    # -- prediction ----------------------------------------------------------------------------------
    def effective_params(self) -> Params:
        """The fitted weights with ``policy`` applied (a bias is folded into the threshold)."""
        self._check_fitted()
        params = self.params_
        policy = self._policy_object()
        if policy is not None:
            params = apply_policy(params, policy)
        if params.bias != 0.0:
            params = params.with_changes(bias=0.0, threshold=params.threshold - params.bias)
        return params

    @property
    def generator(self) -> TaxonomyTreeGenerator:
        """The fitted tree generator (a ``TreeGenerator``)."""
        self._check_fitted()
        return TaxonomyTreeGenerator(self.predictors_, str(self.representation_), self._options())

    def _trees(self, X: NDArray[np.float64]) -> tuple[list[Signals], list[HarmBenefitTree]]:
        signals = self.predictors_.signals(X)
        table, options = load_action_effects(), self._options()
        return signals, [build_tree(s, options, table) for s in signals]

    def _proba_from_trees(self, trees: Sequence[HarmBenefitTree], params: Params) -> NDArray[np.float64]:
        model = HarmBenefitModel(params)
        return np.asarray(1.0 / (1.0 + np.exp(-(model.scores(trees) - params.threshold))), dtype=np.float64)

    def _proba_arrays(self, X: Any) -> NDArray[np.float64]:
        _, trees = self._trees(X)
        return self._proba_from_trees(trees, self.effective_params())

    def _category_arrays(self, X: Any) -> NDArray[np.float64]:
        return self.predictors_.category_scores(X)

    def explain(self, texts: Sequence[str], /) -> list[Explanation]:
        """One ``TreeExplanation`` per text: P(unsafe), verdict, category, tree and contributions."""
        from harmscope.detectors._base import _check_threshold

        text_list, X = self._prepare(texts)
        if not text_list:
            return []
        threshold = _check_threshold(self.threshold)
        params = self.effective_params()
        signals, trees = self._trees(X)
        p = np.clip(self._proba_from_trees(trees, params), 0.0, 1.0)
        cats = (self._category_predictions(self._category_arrays(X)) if self.categories_
                else [CategoryPrediction(None)] * len(text_list))
        model = HarmBenefitModel(params)
        out: list[Explanation] = []
        for i, tree in enumerate(trees):
            analysis = model.explain(tree)
            out.append(TreeExplanation(
                detector=self.kind, score=float(p[i]), threshold=threshold,
                verdict="unsafe" if p[i] >= threshold else "safe", category=cats[i],
                details={"p_unsafe_gate": signals[i].p_unsafe, "tree_score": analysis.score,
                         "tree_threshold": analysis.threshold},
                tree=tree, analysis=analysis, signals=signals[i]))
        return out

    # -- persistence ---------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        meta = {"air_actions_": list(self.air_actions_), "fit_summary_": dict(self.fit_summary_),
                "predictors_": self.predictors_.meta()}
        return meta, self.predictors_.arrays()

    def _save_extra(self, directory: Path) -> None:
        save_params(self.params_, directory / WEIGHTS_FILE,
                    comment=f"SafetyAnalyst aggregation weights fitted ({self.fit_summary_['method']}) on "
                            f"{self.fit_summary_['n_trees']} taxonomy-generated trees; the policy is NOT applied "
                            "here (it is applied at predict time).")

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], directory: Path) -> None:
        self.air_actions_ = list(meta["air_actions_"])
        self.fit_summary_ = dict(meta["fit_summary_"])
        self.predictors_ = TaxonomyPredictors.restore(meta["predictors_"], arrays)
        self.params_ = load_params(directory / WEIGHTS_FILE)


# ----------------------------------------------------------------------------------------------------------
# Training-side data with AIR labels, and a validation run
# ----------------------------------------------------------------------------------------------------------

TRAIN_SOURCES: dict[str, int | None] = {
    # unsafe, with a source taxonomy mapped to AIR (``_air_mappings``)
    "do_not_answer": None, "red_instruct_catqa_harmfulqa/catqa": None, "aart": 500,
    "air_bench_2024_sample": None, "trustllm_safety/misuse": None, "safety_tuned_llamas/malicious_instructions": None,
    # unsafe, no categories
    "advbench": None, "malicious_instruct": None, "refusal_direction_splits/harmful_train": None, "qharm": None,
    "tdc2023_redteaming": None, "safety_tuned_llamas/cona": None,
    # safe: ordinary and sensitive-but-benign requests
    "refusal_direction_splits/harmless_train": 1500, "arena_hard": 400, "counsel_chat": 300,
    "cyberseceval_mitre_frr": 300, "dna_contrast": None, "notinject": 200, "wizardlm_testset": None,
    "mt_bench_vicuna80/mt_bench": None,
}
"""Training-side sources -> at most this many records (seeded sample; None = all)."""

EVAL_SOURCES: tuple[str, ...] = (
    "xstest", "jbb_behaviors", "jbb_artifacts", "do_not_answer_fp_fn", "coconot", "safety_tuned_llamas/physical_safety",
    "safety_tuned_llamas/alpaca", "harmbench", "harmbench/copyright", "simplesafetytests", "strongreject",
    "sorry_bench", "ailuminate_demo", "inthewild_jailbreak", "oktest", "alpaca_eval", "koala_test_set", "hatecheck",
    "refusal_direction_splits/harmful_val", "refusal_direction_splits/harmful_test",
)
"""Evaluation sets: never trained on; any training prompt that also occurs in one is dropped."""


@dataclass(frozen=True)
class TrainingData:
    """Texts with binary labels and AIR level-2 categories (None where the source has none)."""

    texts: list[str]
    labels: list[int]
    categories: list[str | None]
    sources: list[str] = field(repr=False)
    dropped_as_eval: int = 0
    """Training prompts removed because an evaluation set contains them."""

    def __len__(self) -> int:
        return len(self.texts)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def default_training_data(seed: int = 0, sources: Mapping[str, int | None] | None = None) -> TrainingData:
    """The training-side set from ``TRAIN_SOURCES`` (deduplicated, evaluation prompts removed), with AIR
    categories from the mapping tables. Reads the shared data folder (``HARMSCOPE_DATA``)."""
    from harmscope.data import load_dataset

    rng = random.Random(seed)
    eval_keys: set[str] = set()
    for name in EVAL_SOURCES:
        eval_keys.update(_key(r.text) for r in load_dataset(name))
    seen: set[str] = set()
    texts: list[str] = []
    labels: list[int] = []
    cats: list[str | None] = []
    srcs: list[str] = []
    dropped = 0
    for name, cap in (sources or TRAIN_SOURCES).items():
        records = [r for r in load_dataset(name) if r.label is not None and r.text.strip()]
        if cap is not None and len(records) > cap:
            records = rng.sample(records, cap)
        for r in records:
            key = _key(r.text)
            if key in eval_keys:
                dropped += 1
                continue
            if key in seen:
                continue
            seen.add(key)
            texts.append(r.text)
            labels.append(r.y)
            cats.append(air_category(r.source, r.category) if r.label == "unsafe" else None)
            srcs.append(r.source)
    return TrainingData(texts, labels, cats, srcs, dropped)


@dataclass(frozen=True)
class DetectorValidation:
    """Held-out quality of a detector fitted on the rest of the training-side data."""

    n_train: int
    n_validation: int
    f1: float
    precision: float
    recall: float
    gate_f1: float
    """F1 of the gate alone (P(unsafe) ≥ 0.5 before any tree): what the trees start from."""
    category_accuracy: float
    """Top-1 AIR level-2 accuracy on the held-out unsafe texts that carry an AIR category."""
    n_category: int
    eval_category_accuracy: dict[str, float]
    """Top-1 AIR level-2 accuracy on evaluation sets through their mapping tables (never trained on)."""
    fit_seconds: float


def _f1(pred: NDArray[np.int64], y: NDArray[np.int64]) -> tuple[float, float, float]:
    tp = float(np.sum((pred == 1) & (y == 1)))
    precision = tp / max(float(np.sum(pred == 1)), 1.0)
    recall = tp / max(float(np.sum(y == 1)), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def validate_taxonomy_detector(representation: str = "minilm", seed: int = 0, validation_fraction: float = 0.2,
                               eval_sets: Sequence[str] = ("sorry_bench", "ailuminate_demo", "strongreject",
                                                           "jbb_behaviors", "harmbench"),
                               **params: Any) -> DetectorValidation:
    """Fit on a seeded stratified split of ``default_training_data`` and score the held-out part (binary
    F1, category accuracy) and the AIR category accuracy on ``eval_sets``."""
    import time

    from sklearn.model_selection import train_test_split

    from harmscope.data import load_dataset

    data = default_training_data(seed)
    idx = np.arange(len(data))
    train, held = train_test_split(idx, test_size=validation_fraction, random_state=seed,
                                   stratify=np.asarray(data.labels))
    pick = lambda seq, rows: [seq[int(i)] for i in rows]
    detector = SafetyAnalystDetector(representation=representation, **params)
    t0 = time.perf_counter()
    detector.fit(pick(data.texts, train), pick(data.labels, train), categories=pick(data.categories, train))
    seconds = time.perf_counter() - t0
    held_texts = pick(data.texts, held)
    y = np.asarray(pick(data.labels, held), dtype=np.int64)
    proba = detector.predict_proba(held_texts)[:, 1]
    f1, precision, recall = _f1((proba >= detector.threshold).astype(np.int64), y)
    gate = detector.predictors_.p_unsafe(detector._encode(held_texts))
    gate_f1 = _f1((gate >= 0.5).astype(np.int64), y)[0]

    def accuracy(texts: list[str], truth: list[str]) -> float:
        if not texts:
            return float("nan")
        predicted = [c.category for c in detector.predict_category(texts)]
        return float(np.mean([resolve_air_action(p or "") == t for p, t in zip(predicted, truth, strict=True)]))

    held_cat = [(t, c) for t, c in zip(held_texts, pick(data.categories, held), strict=True) if c is not None]
    cat_acc = accuracy([t for t, _ in held_cat], [c for _, c in held_cat])
    per_set: dict[str, float] = {}
    for name in eval_sets:
        texts: list[str] = []
        truth: list[str] = []
        for r in load_dataset(name):
            air = air_category(r.source, r.category) if r.label == "unsafe" else None
            if air is not None:
                texts.append(r.text)
                truth.append(air)
        per_set[name] = accuracy(texts, truth)
    return DetectorValidation(len(train), len(held), f1, precision, recall, gate_f1, cat_acc, len(held_cat), per_set,
                            seconds)


def fit_default_detector(representation: str = "minilm", *, quiet: bool = False, **params: Any
                         ) -> SafetyAnalystDetector:
    """A detector fitted on all of ``default_training_data`` (progress messages on stderr)."""
    if not quiet:
        print("harmscope: building the training-side set ...", file=sys.stderr)
    data = default_training_data()
    if not quiet:
        print(f"harmscope: fitting the SafetyAnalyst detector on {len(data)} prompts with {representation!r} "
              "(embeddings are cached; the first run encodes every prompt) ...", file=sys.stderr)
    detector = SafetyAnalystDetector(representation=representation, **params)
    return detector.fit(data.texts, data.labels, categories=data.categories)
