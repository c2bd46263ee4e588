"""The training pool: which shipped sets may train a detector, deduplicated, with every evaluation prompt
(and its near-duplicates) kept out, split into train/validation with a seed.

The tables :data:`TRAIN_SOURCES`, :data:`EVAL_SOURCES` and :data:`EXCLUDED_SOURCES` say, per registered
dataset, what it is used for and why (``docs/training-data.md`` renders them). :func:`build_pool` loads
them, :func:`assemble_pool` does the work on records in memory (tests call it with fixtures):

1. unlabeled rows, labels a source does not contribute, and (where asked) unsafe rows without a
   harmscope category are dropped; per-source caps take a seeded sample per label;
2. texts are normalised (casefold, whitespace collapsed, punctuation stripped at both ends); a text
   whose normalised form is in any evaluation set is dropped; normalised duplicates with one label keep
   the first, with conflicting labels are all dropped;
3. texts are embedded (``minilm`` by default); a text with cosine >= threshold to ANY evaluation text is
   dropped; within the pool, a text with cosine >= threshold to an earlier kept text of the SAME label is
   dropped (near-duplicates with opposite labels are minimal pairs, kept on purpose);
4. a seeded split, stratified by source and label, keeps ``pair_id`` groups on one side.

The built pool is cached under ``cache_dir("pool")``, keyed by a hash of the config, the tables and the
code, so ``harmscope fit`` does not rebuild it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harmscope.errors import HarmscopeError
from harmscope.types import Label, PromptRecord

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from harmscope.encoders import Encoder

log = logging.getLogger("harmscope.data")

POOL_FORMAT = 1
"""Bumped when the cached pool's layout or the build rules change (part of the cache key)."""

Split = Literal["train", "val"]
Loader = Callable[[str], Sequence[PromptRecord]]


# ------------------------------------------------------------------------------------------ tables


@dataclass(frozen=True)
class TrainSource:
    """A registered dataset that may contribute training examples."""

    name: str
    """Registered dataset name (a whole set or one part)."""
    reason: str
    """Why it may train, and what its labels mean as 'unsafe prompt to an LLM'."""
    labels: tuple[Label, ...] = ("unsafe", "safe")
    """The labels taken from it (e.g. only the safe paraphrases of ParaDetox)."""
    cap: int | None = None
    """At most this many rows PER LABEL, a seeded sample (keeps big or template-made sets from dominating)."""
    require_category: bool = False
    """Keep unsafe rows only when they map to a harmscope category (drops e.g. mere profanity)."""


@dataclass(frozen=True)
class EvalSource:
    """A dataset (or derived sample) that only evaluates: no text of it, or near it, is ever trained on."""

    name: str
    """Registered dataset name, or a derived set of ``harmscope.evaluation_suites.DERIVED_SETS``."""
    reason: str


@dataclass(frozen=True)
class ExcludedSource:
    """A registered dataset used neither for training nor as a held-out set by the pool."""

    name: str
    reason: str


TRAIN_SOURCES: tuple[TrainSource, ...] = (
    # -- harmful requests (unsafe) -----------------------------------------------------------------
    TrainSource("do_not_answer", "939 questions an LLM should not answer, 12 harm types"),
    TrainSource("dna_contrast", "our minimal edits of Do-Not-Answer questions: the 600 safe edits are hard "
                "negatives next to the 120 originals (which are DNA rows)"),
    TrainSource("look_alikes", "our hand-written pairs: a benign look-alike next to a harmful request sharing its "
                "words (homonyms, figurative language, safe targets and contexts, definitions, history, privacy, "
                "protective questions, dark-but-fine fiction)"),
    TrainSource("advbench", "harmful behaviours (rows also in JBB/HarmBench are removed as eval duplicates)"),
    TrainSource("malicious_instruct", "100 malicious instructions"),
    TrainSource("red_instruct_catqa_harmfulqa/catqa", "CatQA: 11 categories x 5 subcategories"),
    TrainSource("red_instruct_catqa_harmfulqa/harmfulqa", "harmful questions framed as academic topics",
                cap=800),
    TrainSource("red_instruct_catqa_harmfulqa/dangerousqa", "dangerous questions, no categories"),
    TrainSource("aart", "AI-assisted red-team prompts; capped because rows vary one template by region "
                "and medium", cap=1500),
    TrainSource("qharm", "Anthropic red-team derived questions (set-level label)"),
    TrainSource("tdc2023_redteaming", "TDC 2023 red-teaming behaviours"),
    TrainSource("trustllm_safety/misuse", "DAN forbidden questions + DNA + added misuse prompts"),
    TrainSource("trustllm_safety/jailbreak", "14 jailbreak wrappings of harmful questions (prompt attacks); "
                "capped so one question x 14 methods does not dominate", cap=700),
    TrainSource("safety_tuned_llamas/cona", "CoNa hateful instructions"),
    TrainSource("safety_tuned_llamas/controversial", "instructions on controversial topics"),
    TrainSource("safety_tuned_llamas/malicious_instructions", "malicious instructions tagged crime/hate"),
    TrainSource("air_bench_2024_sample", "AIR-Bench sample, 16 level-2 risk categories"),
    # -- real traffic (both labels) ----------------------------------------------------------------
    TrainSource("toxicchat_human", "real chatbot user prompts labelled by humans for toxicity (the train "
                "split; the ToxicChat test split is eval-only via toxicchat:PATH)"),
    # -- benign prompts (safe) ---------------------------------------------------------------------
    TrainSource("refusal_direction_splits/harmless_train", "benign Alpaca instructions; capped so benign "
                "Alpaca style does not dominate", labels=("safe",), cap=4000),
    TrainSource("arena_hard", "real Chatbot Arena prompts (technical, creative)", labels=("safe",)),
    TrainSource("counsel_chat", "benign questions on sensitive topics (self-harm, abuse, sex, drugs)",
                labels=("safe",)),
    TrainSource("mt_bench_vicuna80", "benchmark-author prompts (Vicuna-80 rows fall out as AlpacaEval "
                "duplicates)", labels=("safe",)),
    TrainSource("wizardlm_testset", "benign prompts over 29 skills", labels=("safe",)),
    TrainSource("self_instruct_user_oriented", "app-motivated user tasks (most are inside AlpacaEval and "
                "fall out as eval duplicates)", labels=("safe",)),
    TrainSource("cyberseceval_mitre_frr", "benign security requests that sound malicious (cyber look-alikes)",
                labels=("safe",)),
    TrainSource("notinject", "benign prompts seeded with injection trigger words", labels=("safe",)),
    # -- labelled text (the label is about the text itself) ----------------------------------------
    TrainSource("convabuse", "real user messages to chatbots; abusive ones count as unsafe only when "
                "sexual harassment or identity-based abuse (insulting the bot is not a hazard)",
                cap=1000, require_category=True),
    TrainSource("davidson_hate_offensive", "tweets: hate → unsafe (hate); 'offensive' (profanity) is not "
                "a hazard and is dropped; neither → safe", cap=400, require_category=True),
    TrainSource("edos_sexism", "sexist posts demean by gender (hate); not-sexist posts are safe", cap=600),
    TrainSource("ethos", "hate-speech comments (isHate > 0.5) vs not; small", cap=400),
    TrainSource("toxigen_seed_sentences", "implicit hate vs neutral statements about 15 groups"),
    TrainSource("sbic_dev", "offensive posts count only when they target a group (hate); not-offensive "
                "posts are safe", cap=500, require_category=True),
    TrainSource("paradetox/pairs", "only the neutral paraphrases (safe): rude comments are not a hazard, "
                "their detoxified versions are realistic benign text", labels=("safe",), cap=1000),
)
"""Sets that may train, in priority order (an earlier set keeps a duplicate shared with a later one)."""

EVAL_SOURCES: tuple[EvalSource, ...] = (
    EvalSource("xstest", "dev suite (over-refusal two-class)"),
    EvalSource("xstest_aug_safe_embed", "XSTest augmentation: near copies of an eval set"),
    EvalSource("trustllm_safety/exaggerated_safety", "= 200 XSTest safe prompts"),
    EvalSource("jbb_behaviors", "dev suite"),
    EvalSource("jbb_artifacts", "dev suite (jailbreak artifacts)"),
    EvalSource("do_not_answer_fp_fn", "dev suite (also non-commercial)"),
    EvalSource("coconot", "dev suite uses contrast + safety concerns; the whole set is held out"),
    EvalSource("safety_tuned_llamas/physical_safety", "dev suite (paired)"),
    EvalSource("safety_tuned_llamas/alpaca", "evaluation companion of the Safety-Tuned LLaMAs sets"),
    EvalSource("harmbench", "dev suite (standard + contextual)"),
    EvalSource("harmbench/copyright", "HarmBench: all parts held out"),
    EvalSource("harmbench/val", "HarmBench: all parts held out"),
    EvalSource("harmbench/test", "HarmBench: all parts held out"),
    EvalSource("simplesafetytests", "dev suite"),
    EvalSource("strongreject", "dev suite"),
    EvalSource("sorry_bench", "dev suite"),
    EvalSource("ailuminate_demo", "dev suite"),
    EvalSource("inthewild_jailbreak", "dev suite (jailbreak prompts)"),
    EvalSource("oktest", "dev suite (benign trigger words)"),
    EvalSource("alpaca_eval", "dev suite (benign instructions)"),
    EvalSource("alpaca_sample", "dev suite: 500 Alpaca instructions drawn with seed 0 from "
               "refusal_direction_splits/harmless_test (harmscope.data._samples.alpaca_sample)"),
    EvalSource("koala_test_set", "its README forbids training on it"),
    EvalSource("hatecheck", "functional hate-speech test suite"),
    EvalSource("refusal_direction_splits/harmful_train", "drawn from AdvBench/HarmBench-like sets used in eval"),
    EvalSource("refusal_direction_splits/harmful_val", "HarmBench rows"),
    EvalSource("refusal_direction_splits/harmful_test", "= JBB + HarmBench + StrongREJECT"),
)
"""Held-out sets: the pool contains no text of these, nor a near-duplicate of one."""

EXCLUDED_SOURCES: tuple[ExcludedSource, ...] = (
    ExcludedSource("beavertails_prompts", "labels are about the response; 'good' holds many harmful requests"),
    ExcludedSource("diasafety", "labels are about the response, not the user turn"),
    ExcludedSource("olid_offenseval2019", "OFF is mostly profanity/insults, not a hazard; NOT tweets add "
                   "nothing the other safe sets lack"),
    ExcludedSource("paradetox/cannot_rewrite", "toxic-only comments (rudeness, not a hazard)"),
    ExcludedSource("toxichat_reddit_offensive", "offensive Reddit turns (not a hazard); CC-BY-SA"),
    ExcludedSource("cssrs_reddit_500", "labels are per USER, so single posts are often milder than their "
                   "label; disclosures of distress call for support, not refusal"),
    ExcludedSource("refusal_direction_splits/harmless_val", "more Alpaca: the capped train split is enough"),
    ExcludedSource("refusal_direction_splits/harmless_test", "source of the held-out Alpaca sample; the rest "
                   "is more Alpaca"),
)
"""Registered sets the pool does not use at all, with the reason."""


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class PoolConfig:
    """Everything that decides the pool's content (all of it goes into the cache key)."""

    seed: int = 0
    """Seeds the per-source caps and the train/validation split."""
    val_frac: float = 0.15
    """Fraction of each source × label stratum (in pair groups) that goes to validation."""
    near_dup_threshold: float = 0.9
    """Cosine similarity at or above which two texts are near-duplicates."""
    encoder: str = "minilm"
    """Registered encoder used for near-duplicate search."""
    extra_eval: tuple[str, ...] = ()
    """More held-out sets, e.g. ``("wildguardtest:/data/wgt.parquet",)`` (path-based benchmarks)."""

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise HarmscopeError(f"seed must be an int, got {self.seed!r}")
        if not 0.0 <= self.val_frac < 1.0:
            raise HarmscopeError(f"val_frac must be in [0, 1), got {self.val_frac!r}")
        if not 0.0 < self.near_dup_threshold <= 1.0:
            raise HarmscopeError(f"near_dup_threshold must be in (0, 1], got {self.near_dup_threshold!r}")


@dataclass(frozen=True)
class PoolExample:
    """One training example."""

    text: str
    y: int
    """1 unsafe, 0 safe."""
    category: str | None
    """harmscope harm category id (unsafe examples whose source category maps to one), else ``None``."""
    source: str
    """The record's source (``"convabuse/train"``)."""
    id: str | None = None
    pair_id: str | None = None

    @property
    def label(self) -> Label:
        return "unsafe" if self.y == 1 else "safe"


@dataclass(frozen=True)
class SourceCounts:
    """What happened to one training source."""

    candidates: int
    """Rows loaded."""
    train_unsafe: int
    train_safe: int
    val_unsafe: int
    val_safe: int
    removed: dict[str, int] = field(default_factory=dict)
    """Rows left out, by reason (see :data:`REMOVAL_REASONS`)."""

    @property
    def kept(self) -> int:
        return self.train_unsafe + self.train_safe + self.val_unsafe + self.val_safe


REMOVAL_REASONS: dict[str, str] = {
    "label_none": "the source gives no label for the row",
    "label_not_used": "the source contributes only its other label",
    "no_category": "unsafe row whose category maps to no harmscope category (require_category)",
    "cap": "beyond the per-label cap (seeded sample)",
    "empty_text": "nothing left after normalisation",
    "eval_exact": "normalised text equals an evaluation text",
    "conflicting_labels": "normalised duplicates carry both labels: all dropped",
    "duplicate": "normalised duplicate of an earlier pool text with the same label",
    "eval_near_duplicate": "cosine >= threshold to an evaluation text",
    "near_duplicate": "cosine >= threshold to an earlier kept pool text with the same label",
}
"""Why a candidate row is not in the pool, in the order the rules apply."""


@dataclass(frozen=True)
class PoolSummary:
    """Counts only (never text): per source × label × split, and removals per reason."""

    config: PoolConfig
    encoder_id: str
    per_source: dict[str, SourceCounts]
    """Training source name -> counts."""
    removed: dict[str, int]
    """Rows left out, by reason, over all sources."""
    categories: dict[str, int]
    """Unsafe examples (train + val) per harmscope category; ``"none"`` for uncategorised."""
    eval_rows: dict[str, int]
    """Held-out set -> rows loaded (all their texts are excluded)."""
    cache_key: str

    @property
    def n_train(self) -> int:
        return sum(c.train_unsafe + c.train_safe for c in self.per_source.values())

    @property
    def n_val(self) -> int:
        return sum(c.val_unsafe + c.val_safe for c in self.per_source.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what ``harmscope data pool --json`` prints)."""
        totals = Counter[str]()
        for c in self.per_source.values():
            totals.update({"train_unsafe": c.train_unsafe, "train_safe": c.train_safe,
                           "val_unsafe": c.val_unsafe, "val_safe": c.val_safe, "candidates": c.candidates})
        return {
            "config": {**asdict(self.config), "extra_eval": list(self.config.extra_eval)},
            "encoder_id": self.encoder_id, "cache_key": self.cache_key,
            "n_train": self.n_train, "n_val": self.n_val, "totals": dict(totals),
            "removed": dict(self.removed), "categories": dict(self.categories),
            "per_source": {name: {**asdict(c), "kept": c.kept} for name, c in self.per_source.items()},
            "eval_rows": dict(self.eval_rows), "n_eval_rows": sum(self.eval_rows.values()),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PoolSummary:
        config = dict(data["config"])
        config["extra_eval"] = tuple(config.get("extra_eval", ()))
        per_source = {name: SourceCounts(**{k: v for k, v in c.items() if k != "kept"})
                      for name, c in data["per_source"].items()}
        return PoolSummary(config=PoolConfig(**config), encoder_id=data["encoder_id"], per_source=per_source,
                           removed=dict(data["removed"]), categories=dict(data["categories"]),
                           eval_rows=dict(data["eval_rows"]), cache_key=data["cache_key"])


@dataclass(frozen=True)
class Pool:
    """The training pool: ``train`` and ``val`` examples and the summary of how they were chosen."""

    train: list[PoolExample]
    val: list[PoolExample]
    summary: PoolSummary

    def split(self, split: Split) -> list[PoolExample]:
        if split not in ("train", "val"):
            raise HarmscopeError(f"split must be 'train' or 'val', got {split!r}")
        return self.train if split == "train" else self.val

    def texts(self, split: Split = "train") -> list[str]:
        return [e.text for e in self.split(split)]

    def labels(self, split: Split = "train") -> list[int]:
        """0/1 per example (1 = unsafe)."""
        return [e.y for e in self.split(split)]

    def categories(self, split: Split = "train") -> list[str | None]:
        """harmscope category per example (``None`` for safe or uncategorised), for ``fit(categories=)``."""
        return [e.category for e in self.split(split)]


# --------------------------------------------------------------------------------------- the rules

_WS = re.compile(r"\s+")
_EDGE = string.punctuation + "\u2018\u2019\u201c\u201d\u2026\u00bf\u00a1\u3002\uff1f\uff01"


def normalize_text(text: str) -> str:
    """Casefold, collapse whitespace, strip punctuation and spaces at both ends (the exact-duplicate key)."""
    return _WS.sub(" ", text.casefold()).strip().strip(_EDGE + " ").strip()


def _default_load(name: str) -> Sequence[PromptRecord]:
    from harmscope.evaluation_suites import DERIVED_SETS

    if name in DERIVED_SETS:
        import importlib

        module_name, _, attr = DERIVED_SETS[name].partition(":")
        records: Sequence[PromptRecord] = getattr(importlib.import_module(module_name), attr)()
        return records
    from harmscope.data._api import load_dataset

    return load_dataset(name)


def _select(source: TrainSource, records: Sequence[PromptRecord], seed: int,
            removed: Counter[str]) -> list[PromptRecord]:
    """Rule 1: labels, category requirement and the seeded per-label cap (file order is kept)."""
    from harmscope.data.taxonomy import map_category

    kept: list[PromptRecord] = []
    for r in records:
        if r.label is None:
            removed["label_none"] += 1
        elif r.label not in source.labels:
            removed["label_not_used"] += 1
        elif source.require_category and r.label == "unsafe" and map_category(r.source, r.category) is None:
            removed["no_category"] += 1
        else:
            kept.append(r)
    if source.cap is None:
        return kept
    out: list[PromptRecord] = []
    rng = random.Random(f"pool-cap:{seed}:{source.name}")
    for label in ("unsafe", "safe"):
        idx = [i for i, r in enumerate(kept) if r.label == label]
        if len(idx) > source.cap:
            removed["cap"] += len(idx) - source.cap
            idx = rng.sample(idx, source.cap)
        out.extend(kept[i] for i in idx)
    order = {id(r): i for i, r in enumerate(kept)}
    return sorted(out, key=lambda r: order[id(r)])


@dataclass(frozen=True)
class _Candidate:
    group: str
    record: PromptRecord
    key: str


def _unit_rows(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def near_eval_mask(pool_vectors: NDArray[np.float32], eval_vectors: NDArray[np.float32], threshold: float,
                   chunk: int = 1024) -> NDArray[np.bool_]:
    """Which pool rows have cosine >= ``threshold`` to any eval row. Shapes (n, d), (m, d) -> (n,)."""
    import numpy as np

    out = np.zeros(len(pool_vectors), dtype=bool)
    if len(eval_vectors) == 0 or len(pool_vectors) == 0:
        return out
    p, e = _unit_rows(pool_vectors), _unit_rows(eval_vectors)
    for a in range(0, len(p), chunk):
        out[a:a + chunk] = (p[a:a + chunk] @ e.T).max(axis=1) >= threshold
    return out


def near_duplicate_keep(vectors: NDArray[np.float32], labels: Sequence[int], threshold: float,
                        chunk: int = 512) -> NDArray[np.bool_]:
    """Greedy in row order: row i is kept unless an earlier KEPT row of the same label has cosine >=
    ``threshold`` to it. ``vectors`` (n, d), ``labels`` (n,) -> keep mask (n,)."""
    import numpy as np

    n = len(vectors)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    v = _unit_rows(vectors)
    y = np.asarray(labels)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        sims = v[a:b] @ v[:b].T
        rows = np.arange(a, b)[:, None]
        hits = (sims >= threshold) & (np.arange(b)[None, :] < rows) & (y[None, :b] == y[a:b, None])
        for r in np.flatnonzero(hits.any(axis=1)):
            earlier = np.flatnonzero(hits[r])
            if keep[earlier].any():
                keep[a + r] = False
    return keep


def _split(examples: list[PoolExample], val_frac: float, seed: int) -> tuple[list[PoolExample],
                                                                               list[PoolExample]]:
    """Rule 4: groups (a ``pair_id`` within a source, else one example) stratified by source and the
    group's labels; ``round(val_frac * n_groups)`` of each stratum, seeded, go to validation."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[(e.source, e.pair_id if e.pair_id is not None else f"#{i}")].append(i)
    strata: dict[tuple[str, tuple[int, ...]], list[list[int]]] = defaultdict(list)
    for (source, _), members in groups.items():
        strata[(source, tuple(sorted({examples[i].y for i in members})))].append(members)
    rng = random.Random(f"pool-split:{seed}")
    in_val: set[int] = set()
    for key in sorted(strata):
        members_list = sorted(strata[key], key=lambda m: m[0])
        rng.shuffle(members_list)
        for members in members_list[:round(val_frac * len(members_list))]:
            in_val.update(members)
    train = [e for i, e in enumerate(examples) if i not in in_val]
    val = [e for i, e in enumerate(examples) if i in in_val]
    return train, val


def assemble_pool(candidates: Mapping[str, Sequence[PromptRecord]],
                  eval_sets: Mapping[str, Sequence[PromptRecord]], *, encoder: Encoder,
                  config: PoolConfig | None = None, removed_before: Mapping[str, Mapping[str, int]] | None = None,
                  loaded_rows: Mapping[str, int] | None = None, cache_key: str = "") -> Pool:
    """Rules 2–4 on records already selected per training source (rule 1 is :func:`build_pool`'s).

    ``candidates``: training source name -> records, in priority order. ``eval_sets``: held-out set name ->
    records (every text is excluded whatever its label). ``removed_before``/``loaded_rows`` carry rule-1
    counts into the summary. Records without a label are dropped here too (``label_none``).
    """
    import numpy as np

    from harmscope.data.taxonomy import map_category

    config = config or PoolConfig()
    removed: dict[str, Counter[str]] = {g: Counter(dict((removed_before or {}).get(g, {}))) for g in candidates}
    eval_keys = {normalize_text(r.text) for records in eval_sets.values() for r in records}
    eval_keys.discard("")

    # Rule 2: exact (normalised) matches.
    pool: list[_Candidate] = []
    for group, records in candidates.items():
        for r in records:
            key = normalize_text(r.text)
            if r.label is None:
                removed[group]["label_none"] += 1
            elif not key:
                removed[group]["empty_text"] += 1
            elif key in eval_keys:
                removed[group]["eval_exact"] += 1
            else:
                pool.append(_Candidate(group, r, key))
    labels_of: dict[str, set[str]] = defaultdict(set)
    for c in pool:
        labels_of[c.key].add(str(c.record.label))
    seen: set[str] = set()
    unique: list[_Candidate] = []
    for c in pool:
        if len(labels_of[c.key]) > 1:
            removed[c.group]["conflicting_labels"] += 1
        elif c.key in seen:
            removed[c.group]["duplicate"] += 1
        else:
            seen.add(c.key)
            unique.append(c)

    # Rule 3: near-duplicates by embedding cosine.
    eval_texts = sorted({r.text for records in eval_sets.values() for r in records})
    pool_vectors = encoder.encode([c.record.text for c in unique]) if unique else np.zeros((0, 1), np.float32)
    eval_vectors = encoder.encode(eval_texts) if eval_texts else np.zeros((0, pool_vectors.shape[1]), np.float32)
    near_eval = near_eval_mask(pool_vectors, eval_vectors, config.near_dup_threshold)
    for c in (c for c, hit in zip(unique, near_eval) if hit):
        removed[c.group]["eval_near_duplicate"] += 1
    survivors = [i for i, hit in enumerate(near_eval) if not hit]
    keep = near_duplicate_keep(pool_vectors[survivors], [unique[i].record.y for i in survivors],
                               config.near_dup_threshold)
    kept: list[_Candidate] = []
    for i, k in zip(survivors, keep):
        if k:
            kept.append(unique[i])
        else:
            removed[unique[i].group]["near_duplicate"] += 1

    examples = [PoolExample(text=c.record.text, y=c.record.y,
                            category=map_category(c.record.source, c.record.category) if c.record.y else None,
                            source=c.record.source, id=c.record.id, pair_id=c.record.pair_id) for c in kept]
    group_of = {id(e): c.group for e, c in zip(examples, kept)}
    train, val = _split(examples, config.val_frac, config.seed)

    counts: dict[str, Counter[str]] = {g: Counter() for g in candidates}
    for split_name, part in (("train", train), ("val", val)):
        for e in part:
            counts[group_of[id(e)]][f"{split_name}_{e.label}"] += 1
    per_source = {
        g: SourceCounts(candidates=(loaded_rows or {}).get(g, len(candidates[g])),
                        train_unsafe=counts[g]["train_unsafe"], train_safe=counts[g]["train_safe"],
                        val_unsafe=counts[g]["val_unsafe"], val_safe=counts[g]["val_safe"],
                        removed={k: removed[g][k] for k in REMOVAL_REASONS if removed[g][k]})
        for g in candidates
    }
    total_removed = Counter[str]()
    for source_removed in removed.values():
        total_removed.update(source_removed)
    categories = Counter((e.category or "none") for e in examples if e.y == 1)
    summary = PoolSummary(config=config, encoder_id=encoder.id, per_source=per_source,
                          removed={k: total_removed[k] for k in REMOVAL_REASONS if total_removed[k]},
                          categories=dict(sorted(categories.items())),
                          eval_rows={name: len(records) for name, records in eval_sets.items()},
                          cache_key=cache_key)
    return Pool(train=train, val=val, summary=summary)


# ------------------------------------------------------------------------------------ build + cache


def _cache_key(config: PoolConfig) -> str:
    from harmscope import __version__
    from harmscope._paths import data_dir
    from harmscope.data.taxonomy import TABLES_DIR

    h = hashlib.sha256()
    h.update(json.dumps({"config": asdict(config), "format": POOL_FORMAT, "version": __version__,
                         "train": [asdict(s) for s in TRAIN_SOURCES], "eval": [asdict(s) for s in EVAL_SOURCES],
                         "data": str(data_dir().resolve())}, sort_keys=True, default=list).encode())
    h.update(Path(__file__).read_bytes())
    for table in sorted(TABLES_DIR.glob("*.yaml")):
        h.update(table.read_bytes())
    # harmscope's own hand-written sets ship inside the package: their edits must rebuild the pool too.
    own = Path(__file__).parent
    for file in sorted([*own.glob("look_alikes/*.jsonl"), *own.glob("dna_contrast/*.jsonl")]):
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()[:20]


def _example_dict(e: PoolExample) -> dict[str, Any]:
    return asdict(e)


def write_jsonl(examples: Sequence[PoolExample], path: Path) -> None:
    """One JSON object per example (text, y, category, source, id, pair_id)."""
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(_example_dict(e), ensure_ascii=False) + "\n")


def _read_cached(path: Path) -> Pool | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Pool(train=[PoolExample(**e) for e in data["train"]], val=[PoolExample(**e) for e in data["val"]],
                    summary=PoolSummary.from_dict(data["summary"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("pool cache %s unreadable (%s); rebuilding", path, type(error).__name__)
        return None


def write_pool(pool: Pool, path: Path) -> None:
    """Save ``pool`` as one JSON file (texts included: this is the training data, not a log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": POOL_FORMAT, "summary": pool.summary.to_dict(),
                               "train": [_example_dict(e) for e in pool.train],
                               "val": [_example_dict(e) for e in pool.val]}, ensure_ascii=False),
                   encoding="utf-8")
    tmp.replace(path)


def build_pool(config: PoolConfig | None = None, *, encoder: Encoder | None = None, use_cache: bool = True,
               load: Loader | None = None, train_sources: Sequence[TrainSource] = TRAIN_SOURCES,
               eval_sources: Sequence[EvalSource] = EVAL_SOURCES) -> Pool:
    """Build (or read from the cache) the training pool from the shipped data.

    ``encoder`` overrides ``config.encoder`` (tests pass the hashing encoder). ``load`` maps a dataset
    name to records (default: :func:`harmscope.data.load_dataset`, plus derived samples); passing it, or
    other source tables, turns the cache off. ``config.extra_eval`` names more held-out sets.
    """
    config = config or PoolConfig()
    custom = (load is not None or train_sources is not TRAIN_SOURCES or eval_sources is not EVAL_SOURCES
              or (encoder is not None and encoder.id != config.encoder))
    cache_path: Path | None = None
    key = ""
    if use_cache and not custom:
        from harmscope._paths import cache_dir

        key = _cache_key(config)
        cache_path = cache_dir("pool") / f"pool-{key}.json"
        if cache_path.exists():
            cached = _read_cached(cache_path)
            if cached is not None:
                return cached
    loader = load or _default_load
    eval_sets = {s.name: list(loader(s.name)) for s in eval_sources}
    for name in config.extra_eval:
        eval_sets[name] = list(loader(name))
    candidates: dict[str, list[PromptRecord]] = {}
    removed_before: dict[str, dict[str, int]] = {}
    loaded_rows: dict[str, int] = {}
    for source in train_sources:
        if source.name in candidates:
            raise HarmscopeError(f"training source {source.name!r} is listed twice")
        records = list(loader(source.name))
        removed: Counter[str] = Counter()
        candidates[source.name] = _select(source, records, config.seed, removed)
        removed_before[source.name] = dict(removed)
        loaded_rows[source.name] = len(records)
    if encoder is None:
        from harmscope.encoders import get_encoder

        encoder = get_encoder(config.encoder)
    pool = assemble_pool(candidates, eval_sets, encoder=encoder, config=config, removed_before=removed_before,
                         loaded_rows=loaded_rows, cache_key=key)
    if cache_path is not None:
        write_pool(pool, cache_path)
    return pool
