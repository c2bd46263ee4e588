"""The moderation service behind ``harmscope serve``: an OpenAI-compatible ``/v1/moderations``, a full
``/v1/analyze``, health/readiness/metrics, and a two-step guard gateway for ``/v1/chat/completions``.
See docs/service.md.

The moderator (framework-free) and settings import only pydantic; ``create_app`` and ``Gateway`` import
FastAPI/httpx when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harmscope.service._categories import (
    OPENAI_CATEGORIES,
    CategoryMapping,
    CategoryTable,
    load_category_table,
    resolve_categories,
)
from harmscope.service.moderator import (
    AnalysisOutcome,
    Decision,
    DecisionSink,
    DetectorInfo,
    InputError,
    LoadedDetector,
    ModerationOutcome,
    Moderator,
    NullSink,
    TextAnalysis,
    TextVerdict,
    load_service_detector,
)
from harmscope.service.settings import GatewaySettings, ServiceSettings, UpstreamSettings, load_settings

if TYPE_CHECKING:
    from harmscope.service.app import create_app
    from harmscope.service.gateway import Gateway

__all__ = [
    "OPENAI_CATEGORIES", "AnalysisOutcome", "CategoryMapping", "CategoryTable", "Decision", "DecisionSink",
    "DetectorInfo", "Gateway", "GatewaySettings", "InputError", "LoadedDetector", "ModerationOutcome",
    "Moderator", "NullSink", "ServiceSettings", "TextAnalysis", "TextVerdict", "UpstreamSettings",
    "create_app", "load_category_table", "load_service_detector", "load_settings", "resolve_categories",
]

_LAZY = {"create_app": "harmscope.service.app", "Gateway": "harmscope.service.gateway"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harmscope.service' has no attribute {name!r}")
