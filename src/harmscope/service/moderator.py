"""The framework-free core of the service: wrap a fitted detector, check inputs, map categories to OpenAI's,
time the work, return typed results, and emit one :class:`Decision` per screened text to a
:class:`DecisionSink` (a no-op by default; the audit store plugs in there).

Detector calls are serialised by a lock: detectors and their encoders (torch, the SQLite embedding cache)
are not promised to be thread-safe, and on a small CPU box running two forward passes at once is not
faster than running them in turn. The web layer runs these calls on a worker thread so the event loop
stays free. Prompt text is never logged: logs carry ids, lengths, scores and latency.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from harmscope.errors import HarmscopeError
from harmscope.service._categories import CategoryMapping, CategoryTable, resolve_categories

if TYPE_CHECKING:
    from harmscope.types import Explanation

log = logging.getLogger("harmscope.service")

Endpoint = Literal["moderations", "analyze", "chat"]


class InputError(HarmscopeError, ValueError):
    """A request the service refuses (becomes a 400 in OpenAI's error shape)."""

    def __init__(self, message: str, param: str | None = None, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


# -- the audit seam -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """What the service decided about one text. Holds the text's SHA-256; the text itself only when the
    moderator was built with ``log_prompts=True`` (and never in the repr)."""

    request_id: str
    time: float
    """Unix time (seconds) when the decision was made."""
    endpoint: Endpoint
    input_index: int
    detector: str
    """The detector's name as configured (``default``, a folder, a registered name)."""
    detector_kind: str
    detector_version: str
    score: float
    threshold: float
    flagged: bool
    category: str | None
    """The detector's most likely harm category (assuming unsafe)."""
    openai_categories: tuple[str, ...]
    """The OpenAI categories set for this text (empty when not flagged)."""
    latency_ms: float
    """Detector time for the whole request this text came in."""
    text_sha256: str
    chars: int
    policy_override: bool = False
    text: str | None = field(default=None, repr=False)
    """The screened text, only with ``log_prompts``; None otherwise."""


@runtime_checkable
class DecisionSink(Protocol):
    """Receives every decision (e.g. an audit store). Called on the worker thread; must not raise."""

    def record(self, decision: Decision) -> None: ...


class NullSink:
    """The default sink: keeps nothing."""

    def record(self, decision: Decision) -> None:
        return None


# -- typed results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextVerdict:
    """One text's verdict, in harmscope's and OpenAI's terms."""

    index: int
    score: float
    """P(unsafe) in [0, 1]."""
    threshold: float
    flagged: bool
    category: str | None
    category_scores: Mapping[str, float]
    """The detector's categories: P(category | unsafe); empty without category evidence."""
    openai_categories: Mapping[str, bool]
    openai_scores: Mapping[str, float]
    text_sha256: str
    chars: int


@dataclass(frozen=True)
class TextAnalysis:
    """A verdict with the detector's full explanation behind it."""

    verdict: TextVerdict
    explanation: Explanation


@dataclass(frozen=True)
class ModerationOutcome:
    request_id: str
    verdicts: tuple[TextVerdict, ...]
    latency_ms: float

    @property
    def flagged(self) -> bool:
        return any(v.flagged for v in self.verdicts)

    @property
    def max_score(self) -> float:
        return max((v.score for v in self.verdicts), default=0.0)


@dataclass(frozen=True)
class AnalysisOutcome:
    request_id: str
    analyses: tuple[TextAnalysis, ...]
    latency_ms: float
    policy_applied: bool


@dataclass(frozen=True)
class DetectorInfo:
    """What is loaded, for ``/readyz``."""

    name: str
    kind: str
    version: str
    threshold: float
    categories: tuple[str, ...]
    unmapped_categories: tuple[str, ...]
    """Detector categories the category table does not map to any OpenAI category."""
    steerable: bool
    """Accepts ``weights`` in a per-request policy (the SafetyAnalyst detector)."""
    source: str
    load_seconds: float


@dataclass(frozen=True)
class LoadedDetector:
    """A detector and where it came from."""

    detector: Any
    name: str
    version: str
    source: str
    load_seconds: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)


def load_service_detector(spec: str) -> LoadedDetector:
    """Load ``spec``: ``default`` (``harmscope fit``'s detector), a folder written by ``detector.save()``,
    or a registered detector name (fitted on the training pool now, threshold chosen on its validation
    split; slow). Raises HarmscopeError saying how to fix a bad spec."""
    from harmscope.registry import DETECTORS

    start = time.perf_counter()
    if spec == "default":
        from harmscope.detectors import load_default
        from harmscope.detectors._default import default_dir

        detector = load_default()
        folder = default_dir()
        return LoadedDetector(detector, spec, _folder_version(folder), str(folder), time.perf_counter() - start)
    path = Path(spec).expanduser()
    if path.is_dir():
        from harmscope.detectors import load_detector

        detector = load_detector(path)
        return LoadedDetector(detector, spec, _folder_version(path), str(path), time.perf_counter() - start)
    if spec in DETECTORS.names():
        from harmscope.detectors import fit_and_validate

        fit = fit_and_validate(spec)
        return LoadedDetector(fit.detector, spec, f"pool:{fit.pool_hash}", "fitted on the training pool",
                              time.perf_counter() - start, {"validation_f1": fit.validation.f1})
    raise HarmscopeError(f"detector {spec!r} is not 'default', a folder, or a registered detector "
                         f"({', '.join(DETECTORS.names())}); run `harmscope fit` for 'default' or give the "
                         "folder written by detector.save()")


def _folder_version(folder: Path) -> str:
    """First 12 hex of the SHA-256 of the saved ``detector.json`` (changes whenever the detector does)."""
    meta = folder / "detector.json"
    try:
        return "sha256:" + hashlib.sha256(meta.read_bytes()).hexdigest()[:12]
    except OSError:
        return "unknown"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_request_id() -> str:
    return "modr-" + uuid.uuid4().hex


# -- the moderator ------------------------------------------------------------------------------------

class Moderator:
    """Screens texts with one fitted detector; thread-safe (detector calls are serialised).

    ``detector``: a fitted harmscope detector or a :class:`LoadedDetector`. ``max_inputs`` and
    ``max_input_chars`` bound one request. ``sink`` receives one :class:`Decision` per text; the
    decisions carry the raw text only when ``log_prompts`` is true (off by default: privacy).
    """

    def __init__(self, detector: Any, *, name: str = "detector", version: str = "unsaved",
                 category_table: CategoryTable | None = None, sink: DecisionSink | None = None,
                 max_inputs: int = 32, max_input_chars: int = 32_000, log_prompts: bool = False) -> None:
        loaded = detector if isinstance(detector, LoadedDetector) else LoadedDetector(
            detector, name, version, "in-process")
        for attr in ("explain", "threshold", "get_params"):
            if not hasattr(loaded.detector, attr):
                raise TypeError(f"detector must be a fitted harmscope detector (it has no {attr!r}), "
                                f"got {type(loaded.detector).__name__}")
        if sink is not None and not isinstance(sink, DecisionSink):
            raise TypeError(f"sink must have a record(decision) method, got {type(sink).__name__}")
        self.loaded = loaded
        self.detector = loaded.detector
        self.sink: DecisionSink = sink or NullSink()
        self.max_inputs = max_inputs
        self.max_input_chars = max_input_chars
        self.log_prompts = log_prompts
        self.mapping: CategoryMapping = resolve_categories(list(getattr(self.detector, "categories_", [])),
                                                           category_table)
        self._lock = threading.Lock()
        if self.mapping.unmapped:
            log.warning("detector categories with no OpenAI category: %s", ", ".join(self.mapping.unmapped))

    # -- info ------------------------------------------------------------------------------------------
    @property
    def steerable(self) -> bool:
        return "policy" in self.detector.get_params()

    def info(self) -> DetectorInfo:
        return DetectorInfo(
            name=self.loaded.name, kind=str(getattr(self.detector, "kind", type(self.detector).__name__)),
            version=self.loaded.version, threshold=float(self.detector.threshold),
            categories=tuple(getattr(self.detector, "categories_", ())),
            unmapped_categories=self.mapping.unmapped, steerable=self.steerable, source=self.loaded.source,
            load_seconds=round(self.loaded.load_seconds, 3))

    def warm_up(self) -> float:
        """Run the detector once on a fixed text so that lazily loaded models (the encoder) are in memory
        before the service reports ready. Emits no decision. Returns the seconds it took."""
        from harmscope.encoders import embedding_cache_disabled

        start = time.perf_counter()
        # Past the embedding cache: a cached "warm-up" vector would leave the encoder unloaded until the
        # first real request (measured: 113 MB at /readyz, 252 MB after one request).
        with embedding_cache_disabled():
            self._explain(self.detector, ["warm-up"])
        return time.perf_counter() - start

    # -- checks ----------------------------------------------------------------------------------------
    def check_texts(self, texts: Sequence[str], param: str = "input", max_inputs: int | None = None) -> list[str]:
        """``texts`` as a list; InputError for none, too many, empty or too long texts."""
        items = list(texts)
        limit = self.max_inputs if max_inputs is None else max_inputs
        if not items:
            raise InputError(f"{param} is empty; give at least one text", param, "empty_input")
        if len(items) > limit:
            raise InputError(f"{param} has {len(items)} texts; at most {limit} per request "
                             "(split the request)", param, "too_many_inputs")
        for i, text in enumerate(items):
            where = param if len(items) == 1 else f"{param}[{i}]"
            if not isinstance(text, str):
                raise InputError(f"{where} must be a string", where, "invalid_type")
            if not text.strip():
                raise InputError(f"{where} is empty; give non-empty text", where, "empty_input")
            if len(text) > self.max_input_chars:
                raise InputError(f"{where} has {len(text)} characters; at most {self.max_input_chars} "
                                 "are accepted (shorten or split it)", where, "input_too_long")
        return items

    # -- work ------------------------------------------------------------------------------------------
    def moderate(self, texts: Sequence[str], *, request_id: str | None = None,
                 endpoint: Endpoint = "moderations", max_inputs: int | None = None) -> ModerationOutcome:
        """Verdicts for ``texts`` (checked first; ``max_inputs`` overrides the count limit), one detector
        pass; a Decision per text to the sink."""
        items = self.check_texts(texts, max_inputs=max_inputs)
        rid = request_id or new_request_id()
        explanations, ms = self._explain(self.detector, items)
        verdicts = tuple(self._verdict(i, t, e) for i, (t, e) in enumerate(zip(items, explanations, strict=True)))
        self._emit(rid, endpoint, verdicts, ms, policy_override=False, texts=items)
        outcome = ModerationOutcome(rid, verdicts, ms)
        log.info("screened request=%s endpoint=%s n=%d chars=%d flagged=%d max_score=%.3f latency_ms=%.1f",
                 rid, endpoint, len(items), sum(v.chars for v in verdicts), sum(v.flagged for v in verdicts),
                 outcome.max_score, ms)
        return outcome

    def analyze(self, texts: Sequence[str], *, threshold: float | None = None,
                weights: Mapping[str, Any] | None = None, request_id: str | None = None) -> AnalysisOutcome:
        """Full explanations for ``texts``, optionally under a per-request ``threshold`` (any detector) and
        SafetyAnalyst ``weights`` (policy layout). Overrides act on a shallow copy of the detector: the
        shared detector is never changed, so concurrent requests do not see each other's policies."""
        items = self.check_texts(texts)
        rid = request_id or new_request_id()
        detector = self._steered(threshold, weights)
        explanations, ms = self._explain(detector, items)
        analyses = tuple(TextAnalysis(self._verdict(i, t, e), e)
                         for i, (t, e) in enumerate(zip(items, explanations, strict=True)))
        applied = detector is not self.detector
        self._emit(rid, "analyze", tuple(a.verdict for a in analyses), ms, policy_override=applied, texts=items)
        log.info("analyzed request=%s n=%d flagged=%d policy_override=%s latency_ms=%.1f", rid, len(items),
                 sum(a.verdict.flagged for a in analyses), applied, ms)
        return AnalysisOutcome(rid, analyses, ms, applied)

    def _steered(self, threshold: float | None, weights: Mapping[str, Any] | None) -> Any:
        if threshold is None and weights is None:
            return self.detector
        detector = copy.copy(self.detector)  # shares fitted arrays (read-only); parameters are its own
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
                raise InputError(f"policy.threshold must be a number in [0, 1], got {threshold!r}",
                                 "policy.threshold")
            detector.set_params(threshold=float(threshold))
        if weights is not None:
            if not self.steerable:
                raise InputError(f"policy.weights applies only to the SafetyAnalyst detector; the loaded "
                                 f"detector is {self.info().kind!r} (send only policy.threshold)",
                                 "policy.weights", "unsupported_policy")
            detector.set_params(policy=_merge_policy(_policy_changes(self.detector), dict(weights)))
            try:
                detector.effective_params()
            except (HarmscopeError, ValueError, TypeError) as error:
                raise InputError(f"policy.weights is invalid: {error}", "policy.weights") from None
        return detector

    def _explain(self, detector: Any, texts: list[str]) -> tuple[list[Explanation], float]:
        with self._lock:
            start = time.perf_counter()
            explanations: list[Explanation] = detector.explain(texts)
            ms = (time.perf_counter() - start) * 1000.0
        return explanations, ms

    def _verdict(self, index: int, text: str, e: Explanation) -> TextVerdict:
        flagged = e.verdict == "unsafe"
        shares = {s.category: float(s.score) for s in e.category.scores}
        return TextVerdict(
            index=index, score=float(e.score), threshold=float(e.threshold), flagged=flagged,
            category=e.category.category, category_scores=shares,
            openai_categories=self.mapping.flags(flagged, e.category.category),
            openai_scores=self.mapping.scores(e.score, shares),
            text_sha256=text_digest(text), chars=len(text))

    def _emit(self, rid: str, endpoint: Endpoint, verdicts: Sequence[TextVerdict], ms: float, *,
              policy_override: bool, texts: Sequence[str]) -> None:
        now = time.time()
        info = self.loaded
        kind = str(getattr(self.detector, "kind", type(self.detector).__name__))
        for v in verdicts:
            decision = Decision(
                request_id=rid, time=now, endpoint=endpoint, input_index=v.index, detector=info.name,
                detector_kind=kind, detector_version=info.version, score=v.score, threshold=v.threshold,
                flagged=v.flagged, category=v.category,
                openai_categories=tuple(k for k, on in v.openai_categories.items() if on), latency_ms=ms,
                text_sha256=v.text_sha256, chars=v.chars, policy_override=policy_override,
                text=texts[v.index] if self.log_prompts else None)
            try:
                self.sink.record(decision)
            except Exception:  # an audit failure must not fail the user's request
                log.exception("decision sink failed for request=%s", rid)


def _policy_changes(detector: Any) -> dict[str, Any]:
    """The detector's own policy as a plain mapping (a YAML path is read), so a request adds to it."""
    policy = detector.get_params().get("policy")
    if policy is None:
        return {}
    if isinstance(policy, Mapping):
        return dict(policy)
    from harmscope.detectors.harm_benefit import load_policy

    return dict(load_policy(policy).changes)


def _merge_policy(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``; weight tables are merged key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def explanation_extras(e: Explanation) -> dict[str, Any] | None:
    """The SafetyAnalyst part of an explanation as JSON-ready data, or None for other detectors."""
    tree = getattr(e, "tree", None)
    analysis = getattr(e, "analysis", None)
    signals = getattr(e, "signals", None)
    if tree is None and analysis is None:
        return None
    return {
        "tree": tree.model_dump(mode="json") if tree is not None else None,
        "analysis": analysis.to_json() if analysis is not None else None,
        "signals": asdict(signals) if is_dataclass(signals) and not isinstance(signals, type) else None,
        "totals_by_action": analysis.totals("action") if analysis is not None else {},
    }
