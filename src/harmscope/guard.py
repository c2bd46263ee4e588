"""A two-step guard: screen each prompt with a detector, send only benign ones to the LLM.

>>> from harmscope.guard import Guard
>>> guard = Guard("default", llm=my_llm)                   # doctest: +SKIP
>>> result = guard("how do I bake bread?")                 # doctest: +SKIP
>>> result.routed_to, result.response                       # doctest: +SKIP

A flagged prompt never reaches ``llm``: it gets the ``on_unsafe`` answer (a fixed refusal, or a callable
given the prompt and the verdict), or goes to ``safe_llm`` (e.g. the same model with a stricter system
prompt) when one is given. Prompt texts are never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harmscope.errors import HarmscopeError
from harmscope.types import Label

if TYPE_CHECKING:
    from harmscope.detectors import BaseDetector, Detector
    from harmscope.types import Explanation

Route = Literal["llm", "refusal", "safe_llm"]

DEFAULT_REFUSAL = "I can't help with that request."


@dataclass(frozen=True)
class Verdict:
    """The detector's decision on one prompt."""

    label: Label
    """``"unsafe"`` iff ``score >= threshold``."""
    score: float
    """P(unsafe) in [0, 1]."""
    threshold: float
    category: str | None
    """Most likely harm category (assuming unsafe), ``None`` if the detector has no category evidence."""

    @property
    def flagged(self) -> bool:
        return self.label == "unsafe"


@dataclass(frozen=True)
class GuardResult:
    """What happened to one prompt."""

    verdict: Verdict
    routed_to: Route
    """``"llm"`` (benign), ``"refusal"`` (flagged, answered by ``on_unsafe``) or ``"safe_llm"`` (flagged)."""
    response: str
    latency_ms: float
    """Wall time for this prompt: its share of the screening plus its answer, in milliseconds."""
    screen_ms: float
    """Its share of the detector's time, in milliseconds."""

    @property
    def score(self) -> float:
        return self.verdict.score

    @property
    def flagged(self) -> bool:
        return self.verdict.flagged


class Guard:
    """Screen prompts with ``detector``; only prompts it does not flag are sent to ``llm``.

    ``detector``: a fitted detector, ``"default"`` (the one built by ``harmscope fit``) or a folder
    written by ``detector.save()``. ``llm``: ``prompt -> response``. ``on_unsafe``: the answer to a flagged
    prompt, a string or ``(prompt, verdict) -> str``. ``safe_llm``: ``prompt -> response`` for flagged
    prompts instead of ``on_unsafe`` (give one or the other).
    """

    def __init__(
        self,
        detector: BaseDetector | Detector | str | Path,
        llm: Callable[[str], str],
        on_unsafe: str | Callable[[str, Verdict], str] = DEFAULT_REFUSAL,
        safe_llm: Callable[[str], str] | None = None,
    ) -> None:
        if isinstance(detector, (str, Path)):
            detector = _load(detector)
        for name in ("score", "predict_category", "threshold"):
            if not hasattr(detector, name):
                raise TypeError(f"detector must be a fitted harmscope detector (has no {name!r}), "
                                f"got {type(detector).__name__}")
        if not callable(llm):
            raise TypeError(f"llm must be a callable prompt -> response, got {type(llm).__name__}")
        if not (isinstance(on_unsafe, str) or callable(on_unsafe)):
            raise TypeError(f"on_unsafe must be a string or a callable (prompt, verdict) -> str, "
                            f"got {type(on_unsafe).__name__}")
        if safe_llm is not None and not callable(safe_llm):
            raise TypeError(f"safe_llm must be a callable prompt -> response, got {type(safe_llm).__name__}")
        if safe_llm is not None and on_unsafe is not DEFAULT_REFUSAL:
            raise ValueError("give either on_unsafe or safe_llm, not both: flagged prompts go to one of them")
        self.detector: BaseDetector | Detector = detector
        self.llm = llm
        self.on_unsafe = on_unsafe
        self.safe_llm = safe_llm

    def __call__(self, prompt: str) -> GuardResult:
        """Screen one prompt and answer it (via ``llm`` only if not flagged)."""
        if isinstance(prompt, (list, tuple)):
            raise TypeError("Guard() takes one prompt string; use guard.batch(prompts) for several")
        return self.batch([prompt])[0]

    def screen(self, prompts: Sequence[str]) -> list[Verdict]:
        """Verdicts only (no LLM call), one per prompt, in one detector pass."""
        items = _check_prompts(prompts)
        if not items:
            return []
        explanations: list[Explanation] = self.detector.explain(items)
        return [Verdict(label=e.verdict, score=e.score, threshold=e.threshold, category=e.category.category)
                for e in explanations]

    def batch(self, prompts: Sequence[str]) -> list[GuardResult]:
        """Screen all ``prompts`` in one detector pass, then answer each in order."""
        items = _check_prompts(prompts)
        if not items:
            return []
        start = time.perf_counter()
        verdicts = self.screen(items)
        screen_ms = (time.perf_counter() - start) * 1000.0 / len(items)
        results = []
        for prompt, verdict in zip(items, verdicts):
            t0 = time.perf_counter()
            route, response = self._answer(prompt, verdict)
            results.append(GuardResult(verdict=verdict, routed_to=route, response=response,
                                       latency_ms=screen_ms + (time.perf_counter() - t0) * 1000.0,
                                       screen_ms=screen_ms))
        return results

    def _answer(self, prompt: str, verdict: Verdict) -> tuple[Route, str]:
        if not verdict.flagged:
            return "llm", _check_response(self.llm(prompt), "llm")
        if self.safe_llm is not None:
            return "safe_llm", _check_response(self.safe_llm(prompt), "safe_llm")
        if isinstance(self.on_unsafe, str):
            return "refusal", self.on_unsafe
        return "refusal", _check_response(self.on_unsafe(prompt, verdict), "on_unsafe")

    def __repr__(self) -> str:
        return f"Guard(detector={type(self.detector).__name__}, threshold={getattr(self.detector, 'threshold', float('nan')):.3f})"


def _load(detector: str | Path) -> BaseDetector:
    from harmscope.detectors import load_default, load_detector

    if str(detector) == "default":
        return load_default()
    path = Path(detector).expanduser()
    if not path.is_dir():
        raise HarmscopeError(f"detector {str(detector)!r} is neither 'default' nor a folder written by "
                             "detector.save()")
    return load_detector(path)


def _check_prompts(prompts: Sequence[str]) -> list[str]:
    if isinstance(prompts, (str, bytes)):
        raise TypeError("prompts must be a list of strings, not a single string; use guard(prompt) for one")
    items = list(prompts)
    for i, p in enumerate(items):
        if not isinstance(p, str):
            raise TypeError(f"prompt {i} is {type(p).__name__}, expected str")
        if not p.strip():
            raise ValueError(f"prompt {i} is empty; give non-empty text")
    return items


def _check_response(response: object, who: str) -> str:
    if not isinstance(response, str):
        raise TypeError(f"{who} returned {type(response).__name__}; it must return the response text (str)")
    return response


__all__ = ["DEFAULT_REFUSAL", "Guard", "GuardResult", "Route", "Verdict"]
