"""The default detector: fit any detector spec on the training pool, choose its threshold on the pool's
validation split, and save/load the result under ``cache_dir("detectors") / "default"``.

Thresholds are only ever chosen on training-side validation data (``pool.val``), never on an evaluation
set: ``max_f1`` maximises F1 on the whole validation split; ``target_fpr`` keeps the false-positive rate
on *realistic benign traffic* (by default the validation rows of the ToxicChat train split) within a
budget, which is what matters for a guard that sits in front of real users.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from harmscope._paths import cache_dir, staged_folder
from harmscope.detectors._threshold import ThresholdChoice, select_threshold
from harmscope.errors import HarmscopeError
from harmscope.metrics._classification import BinaryReport

if TYPE_CHECKING:
    from harmscope.detectors._base import BaseDetector

ThresholdMethod = Literal["max_f1", "target_fpr"]

DEFAULT_SPEC: dict[str, Any] = {"type": "knn", "params": {"representation": "minilm-safety-int8", "k": 80,
                                                          "temperature": 0.02}}
"""What ``harmscope fit`` builds when no ``--detector`` is given. A single data constant so that a later
measurement can replace it without touching code (kNN on MiniLM: fits in seconds, explains by example).
k and temperature were chosen by validation AUPRC over a grid (docs/benchmarks.md, 2026-12-03): a wide
window with a sharp softmax, i.e. a vote among the neighbours nearly as close as the nearest one."""

ACCURATE_SPEC: dict[str, Any] = {"type": DEFAULT_SPEC["type"],
                                 "params": {**DEFAULT_SPEC["params"], "representation": "mpnet-safety-int8"}}
"""The slower, better choice: the default's kNN on the fine-tuned all-mpnet-base-v2 (int8 ONNX). Chosen by
the same rule as the default (validation AUPRC: 0.966 vs 0.948; the kNN + prototype ensemble on the same
encoder scored 0.964), it also ranks the dev suite's two-class sets better (mean AUPRC 0.774 vs 0.744;
docs/benchmarks.md, 2026-12-03), at a fraction of the default's throughput (docs/speed.md)."""

PRESETS: dict[str, dict[str, Any]] = {"fast": DEFAULT_SPEC, "accurate": ACCURATE_SPEC}
"""Named specs for ``harmscope fit --preset``: ``fast`` is the default; ``accurate`` trades speed for
quality."""

DEFAULT_THRESHOLD_METHOD: ThresholdMethod = "max_f1"
DEFAULT_TARGET_FPR = 0.05
FPR_REFERENCE_SOURCES: tuple[str, ...] = ("toxicchat_human",)
"""Pool sources whose safe validation rows stand for realistic benign traffic (``target_fpr``)."""

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "harmscope-default-detector"


class PoolExampleLike(Protocol):
    """What is read from each pool example (``harmscope.data._pool.PoolExample`` fits)."""

    @property
    def text(self) -> str: ...

    @property
    def y(self) -> int: ...

    @property
    def category(self) -> str | None: ...

    @property
    def source(self) -> str: ...


class PoolLike(Protocol):
    """A training pool: ``train`` and ``val`` example lists (``harmscope.data.build_pool`` returns one)."""

    @property
    def train(self) -> Sequence[PoolExampleLike]: ...

    @property
    def val(self) -> Sequence[PoolExampleLike]: ...


@dataclass(frozen=True)
class ValidationFigures(BinaryReport):
    """How the fitted detector does on the pool's validation split at the chosen threshold: the
    :class:`~harmscope.metrics.BinaryReport` figures (``fpr`` over ALL safe validation texts), plus the
    false-positive rate on realistic benign traffic."""

    reference_fpr: float | None
    """False-positive rate over the safe validation texts of :attr:`reference_sources` (realistic
    benign traffic), ``None`` when the validation split holds none."""
    reference_n_safe: int
    reference_sources: tuple[str, ...]


@dataclass(frozen=True)
class PoolFit:
    """A detector fitted on ``pool.train`` with its threshold chosen on ``pool.val``, and the record of it."""

    detector: BaseDetector
    spec: dict[str, Any] | str
    choice: ThresholdChoice
    validation: ValidationFigures
    pool_hash: str
    """SHA-256 (first 16 hex) of the pool's train and val texts, labels and categories."""
    n_train: int
    n_val: int
    fit_seconds: float
    preset: str | None = None
    """The name in :data:`PRESETS` the spec came from (None for any other spec): ``harmscope fit`` keeps it."""

    def manifest(self) -> dict[str, Any]:
        """JSON-ready record written next to a saved default detector."""
        from harmscope import __version__

        return {
            "format": MANIFEST_FORMAT, "version": 1, "harmscope_version": __version__,
            "spec": self.spec, "preset": self.preset, "type": self.detector.kind, "pool_hash": self.pool_hash,
            "n_train": self.n_train, "n_val": self.n_val,
            "threshold": self.choice.threshold, "threshold_choice": asdict(self.choice),
            "validation": {**asdict(self.validation), "reference_sources": list(self.validation.reference_sources)},
            "fit_seconds": round(self.fit_seconds, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }


def pool_hash(pool: PoolLike) -> str:
    """A content hash of the pool (train and val texts, labels, categories): identifies the training data."""
    h = hashlib.sha256()
    for split_name, part in (("train", pool.train), ("val", pool.val)):
        h.update(split_name.encode())
        for e in part:
            h.update(json.dumps([e.text, int(e.y), e.category], ensure_ascii=False).encode())
            h.update(b"\n")
    return h.hexdigest()[:16]


def _from_reference(source: str, names: Sequence[str]) -> bool:
    return any(source == n or source.startswith(n + "/") for n in names)


def _check_pool(pool: PoolLike) -> None:
    for split_name in ("train", "val"):
        part = getattr(pool, split_name, None)
        if part is None:
            raise HarmscopeError(f"the pool has no {split_name!r} split; pass a harmscope.data.build_pool() result")
        ys = {int(e.y) for e in part}
        if ys != {0, 1}:
            raise HarmscopeError(
                f"pool.{split_name} needs safe and unsafe examples (got labels {sorted(ys)} in {len(part)} rows); "
                "fitting and choosing a threshold need both classes"
            )


def _representations(spec: Any) -> set[str]:
    """Every ``representation`` named anywhere in a detector spec (ensemble members included)."""
    if isinstance(spec, dict):
        found = {spec["representation"]} if isinstance(spec.get("representation"), str) else set()
        return found.union(*(_representations(v) for v in spec.values()))
    if isinstance(spec, list | tuple):
        return set().union(*(_representations(v) for v in spec))
    return set()


def fit_and_validate(
    spec: str | dict[str, Any] | None = None,
    *,
    pool: PoolLike | None = None,
    threshold_method: ThresholdMethod = DEFAULT_THRESHOLD_METHOD,
    target_fpr: float = DEFAULT_TARGET_FPR,
    reference_sources: Sequence[str] = FPR_REFERENCE_SOURCES,
) -> PoolFit:
    """Fit ``spec`` (default :data:`DEFAULT_SPEC`) on ``pool.train``, choose the threshold on ``pool.val``.

    ``threshold_method="max_f1"``: the threshold with the best F1 on the whole validation split.
    ``"target_fpr"``: the lowest threshold whose FPR on the safe validation rows of ``reference_sources``
    (realistic benign traffic) is at most ``target_fpr``, scored against all unsafe validation rows; if the
    validation split holds no such rows, all safe validation rows are used (and the figures say so).
    ``pool`` defaults to ``harmscope.data.build_pool()`` (cached after the first build).
    """
    from harmscope.detectors import build_detector
    from harmscope.metrics._classification import binary_report

    if threshold_method not in ("max_f1", "target_fpr"):
        raise HarmscopeError(f"threshold_method must be 'max_f1' or 'target_fpr', got {threshold_method!r}")
    if pool is None:
        from harmscope.data import build_pool

        pool = build_pool()
    _check_pool(pool)
    spec = DEFAULT_SPEC if spec is None else spec
    from harmscope.encoders.finetune import FINETUNED_IDS, refresh_safety_encoder

    for name in sorted({FINETUNED_IDS[r] for r in _representations(spec) if r in FINETUNED_IDS}):
        refresh_safety_encoder(name)  # fine-tuned on the current pool, not on whatever pool built it first
    detector = build_detector(spec)
    start = time.perf_counter()
    detector.fit([e.text for e in pool.train], [int(e.y) for e in pool.train],
                 categories=[e.category for e in pool.train])
    val_texts = [e.text for e in pool.val]
    y_val = [int(e.y) for e in pool.val]
    scores = detector.score(val_texts)
    is_ref = [_from_reference(e.source, reference_sources) for e in pool.val]
    ref_idx = [i for i, (y, r) in enumerate(zip(y_val, is_ref)) if y == 0 and r]
    used_sources = tuple(reference_sources) if ref_idx else ()
    if threshold_method == "max_f1":
        choice = select_threshold(y_val, scores, method="max_f1")
    else:
        safe_idx = ref_idx or [i for i, y in enumerate(y_val) if y == 0]
        keep = sorted(safe_idx + [i for i, y in enumerate(y_val) if y == 1])
        choice = select_threshold([y_val[i] for i in keep], scores[keep], method="target_fpr",
                                  target_fpr=target_fpr)
    detector.set_params(threshold=choice.threshold)
    seconds = time.perf_counter() - start
    report = binary_report(y_val, scores, threshold=choice.threshold)
    ref_fpr = (float(sum(scores[i] >= choice.threshold for i in ref_idx)) / len(ref_idx)) if ref_idx else None
    figures = ValidationFigures(**{**asdict(report), "threshold": choice.threshold}, reference_fpr=ref_fpr,
                                reference_n_safe=len(ref_idx), reference_sources=used_sources)
    return PoolFit(detector=detector, spec=spec, choice=choice, validation=figures, pool_hash=pool_hash(pool),
                   n_train=len(pool.train), n_val=len(pool.val), fit_seconds=seconds)


def fit_on_pool(
    spec: str | dict[str, Any] | None = None,
    *,
    pool: PoolLike | None = None,
    threshold_method: ThresholdMethod = DEFAULT_THRESHOLD_METHOD,
    target_fpr: float = DEFAULT_TARGET_FPR,
) -> BaseDetector:
    """The fitted detector of :func:`fit_and_validate` (threshold already set from ``pool.val``)."""
    return fit_and_validate(spec, pool=pool, threshold_method=threshold_method, target_fpr=target_fpr).detector


def default_dir() -> Path:
    """Where the default detector lives: ``cache_dir("detectors") / "default"`` (not created here)."""
    return cache_dir("detectors") / "default"


def save_default(fit: PoolFit, directory: str | Path | None = None, *, force: bool = False) -> Path:
    """Save ``fit`` (detector + ``manifest.json``) atomically: written to a temporary sibling folder and
    renamed into place, so a reader never sees half a detector. An existing folder needs ``force``."""
    target = Path(directory) if directory is not None else default_dir()
    if target.exists():
        if not force:
            raise HarmscopeError(f"{target} already exists; pass force=True (CLI: --force) to replace it")
        if not _replaceable(target):
            raise HarmscopeError(f"{target} exists and is not a saved detector; refusing to replace it "
                                 "(choose an empty or new folder)")
    with staged_folder(target) as tmp:
        fit.detector.save(tmp)
        (tmp / MANIFEST_FILE).write_text(json.dumps(fit.manifest(), indent=2, allow_nan=False) + "\n",
                                         encoding="utf-8")
    return target


def _replaceable(path: Path) -> bool:
    """Only an empty folder or one holding a saved detector may be replaced (never a user's folder)."""
    if not path.is_dir():
        return False
    return not any(path.iterdir()) or (path / MANIFEST_FILE).is_file() or (path / "detector.json").is_file()


def read_manifest(directory: str | Path | None = None) -> dict[str, Any]:
    """The ``manifest.json`` of a saved default detector; HarmscopeError (run ``harmscope fit``) if absent."""
    path = Path(directory) if directory is not None else default_dir()
    file = path / MANIFEST_FILE
    if not file.is_file():
        raise HarmscopeError(f"no default detector at {path}; run `harmscope fit` to build it "
                             "(a few minutes on CPU)")
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HarmscopeError(f"{file} is unreadable ({error}); run `harmscope fit --force` to rebuild it") from error
    if data.get("format") != MANIFEST_FORMAT:
        raise HarmscopeError(f"{file} is not a harmscope default-detector manifest; "
                             "run `harmscope fit --force` to rebuild it")
    return data


def load_default(directory: str | Path | None = None) -> BaseDetector:
    """Load the detector built by ``harmscope fit`` (or :func:`save_default`).

    Raises :class:`HarmscopeError` saying "run `harmscope fit`" when it is absent.
    """
    from harmscope.detectors import load_detector

    path = Path(directory) if directory is not None else default_dir()
    read_manifest(path)
    return load_detector(path)
