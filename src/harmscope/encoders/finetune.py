"""Contrastive fine-tuning of a small sentence encoder on safe/unsafe prompts (the direction Safe-Embed proposes).

Off-the-shelf sentence encoders place prompts by *topic*: "How do I kill a zombie process?" sits next to
"How do I kill my neighbour?". Fine-tuning pulls prompts of the same kind together and pushes the
others apart, so that a kNN bank or a linear probe on top separates intent:

- **loss** = supervised contrastive loss (SupCon, Khosla et al. 2020) over L2-normalised embeddings, with
  one class per harmscope harm category for unsafe prompts (so the taxonomy structure survives) and one
  class for all safe prompts, **plus** a binary cross-entropy head on the same embedding (it keeps the
  safe/unsafe direction sharp; the head is discarded, the encoder is what is kept);
- **batches** keep matched pairs together (look-alike pairs, Do-Not-Answer contrast edits), so every
  batch holds hard negatives next to their unsafe twins;
- the lower layers and the embeddings stay frozen (``freeze_layers``), which roughly halves the cost on a
  CPU and keeps the general language knowledge of the base model.

Only the pool's *train* split is used: the validation split stays unseen, so thresholds picked on it
remain honest, and the pool itself never contains an evaluation prompt. The result is an ordinary
sentence-transformers folder, registered as the encoder ``minilm-safety`` (and, from all-mpnet-base-v2,
``mpnet-safety``), built on first use into the cache; ``harmscope finetune`` builds it explicitly.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harmscope._paths import cache_dir, staged_folder
from harmscope._progress import progress
from harmscope.encoders._base import BatchedEncoder
from harmscope.encoders._cache import EmbeddingCache
from harmscope.encoders._sentence import SentenceTransformerEncoder
from harmscope.errors import HarmscopeError

SAFE_CLASS = "safe"
"""Contrastive class of every safe prompt."""
UNCATEGORISED_CLASS = "unsafe"
"""Contrastive class of unsafe prompts without a harmscope category."""
METADATA_FILE = "harmscope_finetune.json"
"""Written into the model folder: the config, data fingerprint and training figures."""


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything that decides the fine-tuned weights (all of it goes into the cache key)."""

    base: str = "minilm"
    """Base encoder: ``minilm`` (all-MiniLM-L6-v2), ``mpnet`` (all-mpnet-base-v2) or ``st:<folder>``."""
    epochs: float = 1.0
    """Passes over the (sampled) training examples; fractions allowed."""
    batch_size: int = 64
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup_steps: int = 30
    max_seq_length: int = 64
    """Tokens seen in training (prompts are mostly short; long jailbreaks are cut). Inference uses 256."""
    freeze_layers: int = 3
    """Lowest transformer layers kept frozen (with the embeddings)."""
    temperature: float = 0.1
    """SupCon temperature."""
    ce_weight: float = 1.0
    """Weight of the binary cross-entropy head's loss next to SupCon's."""
    max_examples: int | None = 9000
    """Train on at most this many examples: every paired example first, then a seeded sample of the
    rest stratified by source and label (keeps a CPU fine-tune within minutes). ``None`` = all."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.batch_size < 4 or self.max_seq_length < 8:
            raise HarmscopeError("fine-tune config: epochs > 0, batch_size >= 4 and max_seq_length >= 8 needed")
        if self.freeze_layers < 0 or self.temperature <= 0 or self.learning_rate <= 0:
            raise HarmscopeError("fine-tune config: freeze_layers >= 0, temperature > 0, learning_rate > 0 needed")


@dataclass(frozen=True)
class TrainingExample:
    """One text for fine-tuning: its label, contrastive class and the group that keeps pairs together."""

    text: str
    y: int
    """1 unsafe, 0 safe."""
    klass: str
    group: str
    source: str


@dataclass(frozen=True)
class FinetuneResult:
    """Where the model went and how training went."""

    folder: Path
    examples: int
    steps: int
    seconds: float
    final_loss: float
    """Mean total loss over the last 20 steps."""
    key: str


def examples_from_pool(pool: Any) -> list[TrainingExample]:
    """The pool's train split as training examples (category classes for unsafe, one class for safe)."""
    out: list[TrainingExample] = []
    for i, e in enumerate(pool.train):
        klass = SAFE_CLASS if e.y == 0 else (e.category or UNCATEGORISED_CLASS)
        group = f"{e.source}|{e.pair_id}" if e.pair_id else f"row|{i}"
        out.append(TrainingExample(e.text, int(e.y), klass, group, e.source))
    return out


def sample_examples(examples: Sequence[TrainingExample], limit: int | None, seed: int) -> list[TrainingExample]:
    """All paired examples, then a seeded sample of the unpaired ones, stratified by source and label."""
    if limit is None or len(examples) <= limit:
        return list(examples)
    sizes: dict[str, int] = defaultdict(int)
    for e in examples:
        sizes[e.group] += 1
    paired = [e for e in examples if sizes[e.group] > 1]
    single = [e for e in examples if sizes[e.group] == 1]
    room = max(0, limit - len(paired))
    strata: dict[tuple[str, int], list[TrainingExample]] = defaultdict(list)
    for e in single:
        strata[(e.source, e.y)].append(e)
    rng = random.Random(seed)
    share = room / len(single) if single else 0.0
    chosen: list[TrainingExample] = []
    for key in sorted(strata):
        rows = strata[key]
        rng.shuffle(rows)
        chosen.extend(rows[: max(1, round(len(rows) * share))] if share > 0 else [])
    return paired + chosen[:room]


def data_fingerprint(examples: Sequence[TrainingExample]) -> str:
    """SHA-256 over the training texts, labels and classes (order-independent)."""
    digest = hashlib.sha256()
    for line in sorted(f"{e.y}\t{e.klass}\t{e.group}\t{e.text}" for e in examples):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def finetune_key(config: FinetuneConfig, examples: Sequence[TrainingExample]) -> str:
    """Short hash of config + data: the cache folder's name suffix."""
    blob = json.dumps(asdict(config), sort_keys=True) + data_fingerprint(examples)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def _batches(examples: Sequence[TrainingExample], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Index batches for one epoch: groups shuffled, a group's members always in the same batch."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[e.group].append(i)
    order = list(groups.values())
    rng.shuffle(order)
    batches: list[list[int]] = []
    current: list[int] = []
    for members in order:
        if current and len(current) + len(members) > batch_size:
            batches.append(current)
            current = []
        current.extend(members)
    if current:
        batches.append(current)
    return batches


def supcon_loss(z: Any, classes: Any, temperature: float) -> Any:
    """Supervised contrastive loss of L2-normalised rows ``z`` (n, d) with integer ``classes`` (n,).

    Anchors without any positive in the batch are skipped; returns 0 when no anchor has one.
    """
    import torch

    n = z.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(eye, -1e9)
    positives = (classes[:, None] == classes[None, :]) & ~eye
    counts = positives.sum(dim=1)
    has = counts > 0
    if not bool(has.any()):
        return z.sum() * 0.0
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    per_anchor = -(log_prob * positives).sum(dim=1)[has] / counts[has]
    return per_anchor.mean()


def _base_folder(base: str) -> Path:
    if base == "minilm":
        from harmscope.encoders._sentence import minilm_folder

        return minilm_folder()
    if base == "mpnet":
        from harmscope.encoders._assemble import assemble_mpnet

        return assemble_mpnet().path
    if base.startswith("st:"):
        return Path(base[3:]).expanduser().resolve()
    raise HarmscopeError(f"fine-tune base must be 'minilm', 'mpnet' or 'st:<folder>', got {base!r}")


def finetune(examples: Sequence[TrainingExample], config: FinetuneConfig, out: Path) -> FinetuneResult:
    """Fine-tune ``config.base`` on ``examples`` and save a sentence-transformers folder at ``out``.

    Deterministic for a given config, data and torch build (seeded shuffles, single-process CPU).
    Written to a temporary folder first and renamed, so an interrupted run leaves no half model.
    """
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    if len({e.y for e in examples}) < 2:
        raise HarmscopeError("fine-tuning needs both safe and unsafe examples")
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    classes = sorted({e.klass for e in examples})
    class_index = {c: i for i, c in enumerate(classes)}

    model = SentenceTransformer(str(_base_folder(config.base)), device="cpu", local_files_only=True)
    model.max_seq_length = config.max_seq_length
    transformer: Any = model[0].auto_model
    for p in transformer.embeddings.parameters():
        p.requires_grad = False
    for layer in transformer.encoder.layer[: config.freeze_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    width: Any = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(width())
    head = torch.nn.Linear(dim, 1)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": trainable, "lr": config.learning_rate},
                                   {"params": head.parameters(), "lr": config.head_learning_rate}],
                                  weight_decay=0.01)
    steps_per_epoch = len(_batches(examples, config.batch_size, random.Random(0)))
    total = max(1, math.ceil(steps_per_epoch * config.epochs))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / config.warmup_steps) * max(0.0, 1.0 - s / total))

    def plan() -> list[list[int]]:
        out_batches: list[list[int]] = []
        while len(out_batches) < total:
            out_batches.extend(_batches(examples, config.batch_size, rng))
        return out_batches[:total]

    model.train()
    start = time.perf_counter()
    losses: list[float] = []
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    for batch in progress(plan(), total=total, desc="fine-tune", unit="step"):
        texts = [examples[i].text for i in batch]
        y = torch.tensor([examples[i].y for i in batch], dtype=torch.float32)
        c = torch.tensor([class_index[examples[i].klass] for i in batch])
        z = torch.nn.functional.normalize(model(tokenize(texts))["sentence_embedding"], dim=-1)
        loss = supcon_loss(z, c, config.temperature)
        if config.ce_weight:
            loss = loss + config.ce_weight * torch.nn.functional.binary_cross_entropy_with_logits(
                head(z).squeeze(-1), y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable + list(head.parameters()), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    seconds = time.perf_counter() - start
    model.eval()
    model.max_seq_length = 256
    key = finetune_key(config, examples)
    tail = losses[-20:]
    result = FinetuneResult(out, len(examples), total, round(seconds, 1), float(sum(tail) / len(tail)), key)
    meta = {"config": asdict(config), "key": key, "data_sha256": data_fingerprint(examples),
            "examples": len(examples), "steps": total, "seconds": result.seconds,
            "final_loss": result.final_loss, "classes": classes}
    with staged_folder(out) as tmp:
        model.save(str(tmp))
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return result


@dataclass(frozen=True)
class SafetyEncoderSpec:
    """A registered fine-tuned encoder: its name, the recipe it is built with, and its width."""

    name: str
    config: FinetuneConfig
    dim: int


SAFETY_ENCODERS: dict[str, SafetyEncoderSpec] = {
    spec.name: spec
    for spec in (
        SafetyEncoderSpec("minilm-safety", FinetuneConfig(), 384),
        # The 12-layer base learns best with half its layers frozen and a lower rate (dev-suite mean
        # two-class AUPRC 0.774 vs minilm-safety's 0.744; docs/encoders.md), at ~1/4 of the speed.
        SafetyEncoderSpec("mpnet-safety", FinetuneConfig(base="mpnet", learning_rate=3e-5, freeze_layers=6),
                          768),
    )
}
"""Fine-tuned encoders by name; each also has an int8 ONNX twin ``<name>-int8``."""
INT8_SUFFIX = "-int8"
"""The int8 ONNX export of a fine-tuned folder lives beside it, with this suffix."""
FINETUNED_IDS: dict[str, str] = {
    **{name: name for name in SAFETY_ENCODERS},
    **{name + INT8_SUFFIX: name for name in SAFETY_ENCODERS},
}
"""Registered encoder ids that resolve through a build pointer (and so follow the current pool) → their
fine-tuned encoder's name."""


def safety_encoder_spec(name: str) -> SafetyEncoderSpec:
    """The registered fine-tuned encoder ``name``; a clear error naming the known ones otherwise."""
    try:
        return SAFETY_ENCODERS[name]
    except KeyError:
        raise HarmscopeError(f"unknown fine-tuned encoder {name!r}; known: {', '.join(SAFETY_ENCODERS)}") from None


def finetuned_folder(config: FinetuneConfig | None = None, *, name: str = "minilm-safety") -> Path:
    """The cached fine-tuned model for ``config`` on the current training pool, built on first use.

    The folder name carries a hash of the config and the training data, so a changed pool or config
    builds a new model instead of silently reusing an old one. Without ``config``, the recipe of the
    registered encoder ``name`` (or the default recipe for any other name).
    """
    from harmscope.data import build_pool

    config = config or (SAFETY_ENCODERS[name].config if name in SAFETY_ENCODERS else FinetuneConfig())
    examples = sample_examples(examples_from_pool(build_pool()), config.max_examples, config.seed)
    key = finetune_key(config, examples)
    folder = cache_dir("models") / f"{name}-{key}"
    if not (folder / METADATA_FILE).is_file():
        # Minutes of work that a non-terminal (CI, a log file) would otherwise see as silence.
        print(f"harmscope: fine-tuning {name} on the training pool ({len(examples):,} examples, "
              f"{config.epochs:g} epoch(s); minutes on CPU, cached afterwards) ...", file=sys.stderr, flush=True)
        result = finetune(examples, config, folder)
        print(f"harmscope: fine-tuned {name}: {result.steps} steps in {result.seconds:.0f} s", file=sys.stderr,
              flush=True)
    return folder


def _pointer(name: str) -> Path:
    """In the models cache: which fine-tuned folder ``name`` currently means (its latest build)."""
    return cache_dir("models") / f"{name}.json"


def _read_pointer(name: str) -> dict[str, Any] | None:
    pointer = _pointer(name)
    return json.loads(pointer.read_text(encoding="utf-8")) if pointer.is_file() else None


def build_safety_encoder(name: str, config: FinetuneConfig | None = None) -> Path:
    """Build (or reuse) the fine-tuned model for ``config`` (default: ``name``'s recipe) on the current
    pool and make it what ``name`` means."""
    config = config or safety_encoder_spec(name).config
    folder = finetuned_folder(config, name=name)
    meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    _pointer(name).write_text(json.dumps({"folder": folder.name, "key": meta["key"], "config": asdict(config)}),
                              encoding="utf-8")
    return folder


def refresh_safety_encoder(name: str) -> Path:
    """Make ``name`` the build of its current config on the *current* training pool.

    The pointer alone would keep naming a model fine-tuned on an older pool after the training data
    changed, so the same commit would give different detectors on a fresh machine and on an old cache.
    ``harmscope fit`` calls this before fitting on a fine-tuned representation: it reuses the cached
    build when the pool is unchanged (seconds) and fine-tunes anew, with the same config, when it is not.
    """
    saved = (_read_pointer(name) or {}).get("config")
    return build_safety_encoder(name, FinetuneConfig(**saved) if isinstance(saved, dict) else None)


def current_safety_encoder(name: str) -> tuple[Path, str]:
    """(folder, key) of the model ``name`` means; built with its recipe when none exists."""
    data = _read_pointer(name)
    if data is not None:
        folder = cache_dir("models") / str(data["folder"])
        if (folder / METADATA_FILE).is_file():
            return folder, str(data["key"])
    folder = build_safety_encoder(name)
    return folder, str((_read_pointer(name) or {})["key"])


class FinetunedEncoder(SentenceTransformerEncoder):
    """A sentence encoder whose folder is the current build of the fine-tuned encoder of the same id;
    embeddings are cached per build (``<id>@<key>``), so a rebuilt model never reuses the old model's
    vectors."""

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = EmbeddingCache(f"{self.id}@{current_safety_encoder(self.id)[1]}")
        return self._cache


def _finetuned(name: str, use_cache: bool, batch_size: int) -> FinetunedEncoder:
    return FinetunedEncoder(name, lambda: current_safety_encoder(name)[0], dim=safety_encoder_spec(name).dim,
                            use_cache=use_cache, batch_size=batch_size)


def current_safety_int8(name: str) -> Path:
    """The int8 ONNX export of the current build of ``name`` (exported on first use, ~20 s for MiniLM)."""
    from harmscope.encoders._onnx_export import META_FILE, export_onnx

    folder, _ = current_safety_encoder(name)
    out = folder.with_name(folder.name + INT8_SUFFIX)
    if not (out / META_FILE).is_file():
        export_onnx(folder, out, quantize=True)
    return out


def _finetuned_int8(name: str, use_cache: bool, batch_size: int) -> BatchedEncoder:
    from harmscope.encoders._onnx_export import from_folder

    return from_folder(str(current_safety_int8(name)), use_cache=use_cache, batch_size=batch_size)


def minilm_safety(*, use_cache: bool = True, batch_size: int = 32) -> FinetunedEncoder:
    """MiniLM fine-tuned for safety (see module docs): 384-d, L2-normalised.

    The first use fine-tunes it on the training pool (minutes on a CPU; ``harmscope finetune``
    does it explicitly with options). Embeddings are cached per fine-tuned version.
    """
    return _finetuned("minilm-safety", use_cache, batch_size)


def minilm_safety_int8(*, use_cache: bool = True, batch_size: int = 32) -> BatchedEncoder:
    """``minilm-safety`` exported to ONNX with int8 weights: the fast path (onnxruntime only at run time).

    Builds the fine-tuned model first if needed. Embeddings are cached per export (see ``onnx:``).
    """
    return _finetuned_int8("minilm-safety", use_cache, batch_size)


def mpnet_safety(*, use_cache: bool = True, batch_size: int = 16) -> FinetunedEncoder:
    """all-mpnet-base-v2 fine-tuned for safety with the same loss and data: 768-d, L2-normalised.

    Better dev-suite figures than ``minilm-safety`` at about a quarter of its speed; the first use
    fine-tunes it (~30 min on 2 CPU cores; needs the five mpnet part packages).
    """
    return _finetuned("mpnet-safety", use_cache, batch_size)


def mpnet_safety_int8(*, use_cache: bool = True, batch_size: int = 16) -> BatchedEncoder:
    """``mpnet-safety`` exported to ONNX with int8 weights (onnxruntime only at run time)."""
    return _finetuned_int8("mpnet-safety", use_cache, batch_size)
