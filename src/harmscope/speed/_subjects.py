"""What ``bench-speed`` times: harmscope detectors (``default``, a saved folder, or a spec fitted for the
run) and *baseline scorers* (third-party prompt classifiers, timed for comparison only).

Baseline scorers are not harm detectors: ``nanoguard`` (package ``metatronnanoguard``) detects prompt
injection, ``prompt-guardrail`` (package ``prompt-guardrail``, imports ``guardify``) is a TF-IDF +
logistic-regression jailbreak/injection classifier. Both unpickle files shipped in their packages.
They are wrapped here as :class:`Scorer` objects (texts -> one score each) and used by ``bench-speed``
only, not registered as detectors.

Stdlib only at import time: this module is imported by the CLI and by the measuring child processes.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from harmscope._paths import cache_dir, staged_folder
from harmscope.errors import HarmscopeError

SubjectKind = Literal["detector", "baseline"]
Call = Literal["explain", "score"]


@dataclass(frozen=True)
class Subject:
    """One row of the speed table: a detector (``target`` = ``default``, a folder or a spec) or a baseline
    scorer (``target`` = its name)."""

    name: str
    kind: SubjectKind
    target: str
    description: str


BASELINE_SCORERS: dict[str, str] = {
    "nanoguard": "metatronnanoguard: 16.8M-parameter prompt-injection transformer (not a harm detector)",
    "prompt-guardrail": "prompt-guardrail (guardify): TF-IDF + logistic regression, jailbreak/injection",
}

SMOLLM2_PROBE_LAYER = 15
"""The SmolLM2-135M layer whose last-token state the probe baseline reads (the middle of 30 blocks)."""

BASELINES: tuple[Subject, ...] = (
    Subject("mpnet-knn", "detector", '{"type": "knn", "params": {"representation": "mpnet", "k": 10}}',
            "kNN (k=10) on all-mpnet-base-v2 embeddings (Safe-Embed's SBERT-all)"),
    Subject("smollm2-probe", "detector",
            json.dumps({"type": "probe-lr", "params": {"representation": f"hs:smollm2-135m@{SMOLLM2_PROBE_LAYER}"}}),
            f"logistic probe on SmolLM2-135M layer-{SMOLLM2_PROBE_LAYER} last-token hidden states"),
    Subject("nanoguard", "baseline", "nanoguard", BASELINE_SCORERS["nanoguard"]),
    Subject("prompt-guardrail", "baseline", "prompt-guardrail", BASELINE_SCORERS["prompt-guardrail"]),
)
"""Timed next to the given detectors unless ``--no-baselines``."""


def parse_subject(text: str) -> Subject:
    """A ``--detector`` value: ``default``, a saved detector folder, a detector type or JSON spec (fitted on
    a sample of the training pool for the run), or ``baseline:<name>``."""
    from harmscope.cli._specs import parse_detector_spec
    from harmscope.registry import DETECTORS

    if text.startswith("baseline:"):
        name = text[len("baseline:"):]
        if name not in BASELINE_SCORERS:
            raise HarmscopeError(f"unknown baseline scorer {name!r}; known: {', '.join(BASELINE_SCORERS)}")
        return Subject(name, "baseline", name, BASELINE_SCORERS[name])
    for baseline in BASELINES:
        if text == baseline.name:
            return baseline
    if text == "default":
        return Subject("default", "detector", "default", "the default detector (built by `harmscope fit`)")
    path = Path(text).expanduser()
    if path.is_dir():
        return Subject(path.name or text, "detector", str(path.resolve()), f"saved detector {path}")
    spec = parse_detector_spec(text)
    if isinstance(spec, str):
        if spec not in DETECTORS:
            raise HarmscopeError(f"--detector {text!r}: not 'default', a folder, a detector type, a baseline "
                                 f"({', '.join(b.name for b in BASELINES)}) or baseline:<name>")
        return Subject(spec, "detector", json.dumps({"type": spec}), f"{spec} fitted for this run")
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise HarmscopeError(f"--detector {text!r}: a JSON spec must be an object with a 'type'")
    params = spec.get("params") or {}
    short = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    return Subject(f"{spec['type']}[{short}]" if short else spec["type"], "detector", json.dumps(spec, sort_keys=True),
                   f"{spec['type']} {short} fitted for this run".replace("  ", " "))


def needs_fit(subject: Subject) -> bool:
    """A detector given as a spec (not ``default`` or a folder) is fitted before it is timed."""
    return subject.kind == "detector" and subject.target.lstrip().startswith("{")


# -- preparing spec detectors ----------------------------------------------------------------------------

def prepared_dir(subject: Subject, fit_limit: int) -> Path:
    """Where the detector fitted for ``subject`` is kept between runs (keyed by spec and sample size)."""
    key = hashlib.sha256(f"{subject.target}|{fit_limit}".encode()).hexdigest()[:16]
    return cache_dir("speed") / f"{''.join(c if c.isalnum() else '_' for c in subject.name)[:40]}-{key}"


def fit_sample(fit_limit: int, *, seed: int = 0) -> tuple[list[str], list[int], list[str | None]]:
    """A seeded sample of ``fit_limit`` training-pool examples, stratified by label (texts, labels,
    categories). Speed does not depend on how well a detector is fitted, only on what it computes."""
    from harmscope.data import build_pool

    pool = build_pool()
    rng = random.Random(seed)
    by_label: dict[int, list[Any]] = {0: [], 1: []}
    for example in pool.train:
        by_label[int(example.y)].append(example)
    picked: list[Any] = []
    for examples in by_label.values():
        share = round(fit_limit * len(examples) / max(1, len(pool.train)))
        picked += rng.sample(examples, min(len(examples), max(1, share)))
    return [e.text for e in picked], [int(e.y) for e in picked], [e.category for e in picked]


def prepare(subject: Subject, fit_limit: int, *, refit: bool = False) -> Path:
    """Fit the spec of ``subject`` on :func:`fit_sample` and save it (reused on later runs unless ``refit``)."""
    from harmscope.detectors import build_detector

    target = prepared_dir(subject, fit_limit)
    if (target / "detector.json").is_file() and not refit:
        return target
    detector = build_detector(json.loads(subject.target))
    texts, labels, categories = fit_sample(fit_limit)
    detector.fit(texts, labels, categories=categories)
    with staged_folder(target) as tmp:
        detector.save(tmp)
    return target


# -- scorers (used in the measuring child) ------------------------------------------------------------------

class Scorer(Protocol):
    """Scores a batch of texts (one number each); what ``bench-speed`` times."""

    def __call__(self, texts: Sequence[str], /) -> Any: ...


class DetectorScorer:
    """A harmscope detector: ``explain`` (what the guard and the service run) or ``predict_proba``."""

    def __init__(self, detector: Any, call: Call) -> None:
        self.detector = detector
        self.call = call

    def __call__(self, texts: Sequence[str], /) -> Any:
        if self.call == "explain":
            return [e.score for e in self.detector.explain(list(texts))]
        return self.detector.predict_proba(list(texts))[:, 1]


class NanoGuardScorer:
    """``nanoguard.NanoGuard`` on the CPU: ``scan`` for one text, ``scan_batch`` for more (its own API)."""

    def __init__(self) -> None:
        try:
            from nanoguard import NanoGuard
        except ImportError:
            from harmscope.errors import MissingPackageError

            raise MissingPackageError("metatronnanoguard", "the nanoguard baseline",
                                      "pip install metatronnanoguard==0.1.0") from None
        self.model = NanoGuard(device="cpu")

    def __call__(self, texts: Sequence[str], /) -> Any:
        if len(texts) == 1:
            return [self.model.scan(texts[0]).injection_score]
        return [r.injection_score for r in self.model.scan_batch(list(texts))]


class GuardrailScorer:
    """``guardify``'s TF-IDF + logistic regression, scored a batch at a time (P(injection))."""

    def __init__(self) -> None:
        try:
            from guardify import LogisticRegressionGuardrail
        except ImportError:
            from harmscope.errors import MissingPackageError

            raise MissingPackageError("prompt-guardrail", "the prompt-guardrail baseline",
                                      "pip install prompt-guardrail==1.0.1") from None
        guardrail = LogisticRegressionGuardrail()
        self.vectorizer, self.classifier = guardrail._vectorizer, guardrail._clf

    def __call__(self, texts: Sequence[str], /) -> Any:
        return self.classifier.predict_proba(self.vectorizer.transform(list(texts)))[:, 1]


def load_scorer(subject: Subject, call: Call, folder: str | None = None) -> Scorer:
    """The scorer for ``subject`` (``folder``: where a fitted spec detector was saved)."""
    if subject.kind == "baseline":
        if subject.target == "nanoguard":
            return NanoGuardScorer()
        if subject.target == "prompt-guardrail":
            return GuardrailScorer()
        raise HarmscopeError(f"unknown baseline scorer {subject.target!r}")
    if subject.target == "default" and folder is None:
        from harmscope.detectors import load_default

        return DetectorScorer(load_default(), call)
    from harmscope.detectors import load_detector

    return DetectorScorer(load_detector(folder or subject.target), call)
