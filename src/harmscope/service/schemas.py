"""Request and response bodies of the service (pydantic), in OpenAI's shapes where OpenAI defines one.

Requests are strict: unknown fields, wrong JSON types and empty inputs are rejected (400, OpenAI's error
shape) rather than guessed at. Responses are built from the moderator's typed results.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harmscope.service._categories import OPENAI_CATEGORIES


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TextPart(_Request):
    """A multi-modal input item as OpenAI's moderation endpoint takes it; only text is supported."""

    type: Literal["text"]
    text: str


ModerationInput = str | list[str | TextPart]


class ModerationRequest(_Request):
    """``POST /v1/moderations``: ``{"input": str | [str | {"type": "text", "text": str}], "model"?: str}``."""

    input: ModerationInput
    model: str | None = None


class PolicyOverride(_Request):
    """A per-request policy for ``/v1/analyze``; applied to a copy of the detector, never to the shared one."""

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Decision threshold on P(unsafe) for this request (any detector)."""
    weights: dict[str, Any] | None = None
    """SafetyAnalyst aggregation changes in the policy-file layout (``action_weights``, ``effect_weights``,
    ``extent_weights``, ``threshold`` …; see docs/safety-analyst.md). Only for the SafetyAnalyst detector."""


class AnalyzeRequest(_Request):
    """``POST /v1/analyze``: the full explanation of each input."""

    input: ModerationInput
    policy: PolicyOverride | None = None
    neighbours: int = Field(default=3, ge=0)
    """Nearest known prompts to return per input (similarity detectors); capped by the server."""


# -- responses ----------------------------------------------------------------------------------------

class ModerationResult(BaseModel):
    """One input's result, as OpenAI's ``Moderation`` object."""

    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


def applied_input_types() -> dict[str, list[str]]:
    """Every category applies to text only (images are not supported)."""
    return {name: ["text"] for name in OPENAI_CATEGORIES}


class NeighbourOut(BaseModel):
    text: str
    similarity: float
    label: str
    category: str | None


class HarmBenefitOut(BaseModel):
    """The SafetyAnalyst evidence: the tree, its aggregation (score, threshold, contributions) and signals."""

    tree: dict[str, Any] | None
    analysis: dict[str, Any] | None
    signals: dict[str, Any] | None
    totals_by_action: dict[str, float]


class AnalysisResult(BaseModel):
    index: int
    verdict: Literal["safe", "unsafe"]
    flagged: bool
    score: float
    threshold: float
    category: str | None
    category_scores: dict[str, float]
    """The detector's own categories: P(category | unsafe)."""
    openai_categories: dict[str, bool]
    openai_category_scores: dict[str, float]
    neighbours: list[NeighbourOut]
    details: dict[str, float]
    harm_benefit: HarmBenefitOut | None
    text_sha256: str
    chars: int


class AnalyzeResponse(BaseModel):
    id: str
    detector: str
    detector_version: str
    policy_applied: bool
    latency_ms: float
    results: list[AnalysisResult]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorBody


# -- GET /v1/policy (what the playground's sliders steer) ---------------------------------------------

class PolicyGroup(BaseModel):
    """One steerable block of the SafetyAnalyst aggregation: a weight table or a single number.

    The page sends changed values back as ``policy.weights`` of ``/v1/analyze``: a table as
    ``{key: {name: value}}``, a single number as ``{key: value}``.
    """

    key: str
    """The policy key (``action_weights``, ``effect_weights``, …, ``benefit_weight``)."""
    label: str
    description: str
    scalar: bool
    """True for a single number (``values`` then holds one entry named ``key``)."""
    min: float
    max: float
    """A sensible slider range (the parameter's validity range where it has an upper bound)."""
    values: dict[str, float]
    """The weights in force: the fitted ones with the detector's own policy applied."""


class PolicyInfo(BaseModel):
    """``GET /v1/policy``: what a per-request ``policy`` of ``/v1/analyze`` can change, and current values."""

    detector: str
    """The detector's type (``knn``, ``safety-analyst``, …)."""
    detector_version: str
    threshold: float
    """The decision threshold on P(unsafe) in force (``policy.threshold`` overrides it; any detector)."""
    steerable: bool
    """Whether ``policy.weights`` is accepted (the SafetyAnalyst detector)."""
    groups: list[PolicyGroup]
    """The weight blocks, empty unless steerable."""
