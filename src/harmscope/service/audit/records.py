"""Typed results of the audit store: one stored decision, the store's write counters, a summary.

A stored decision is a :class:`~harmscope.service.moderator.Decision` as a row: the same facts, the time
as an aware UTC datetime, and the raw text only when the service ran with ``log_prompts``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harmscope.service.moderator import Decision

COLUMNS: tuple[str, ...] = (
    "request_id", "text_index", "created_at", "endpoint", "detector", "detector_kind", "detector_version",
    "score", "threshold", "flagged", "category", "categories", "latency_ms", "text_sha256", "chars",
    "policy_override", "text",
)
"""The audit table's columns, in insert and select order."""


@dataclass(frozen=True)
class AuditRecord:
    """One stored decision (one text of one request)."""

    request_id: str
    text_index: int
    """Position of the text in its request (0 for a single input)."""
    created_at: datetime
    """When the decision was made (aware, UTC)."""
    endpoint: str
    """``moderations``, ``analyze`` or ``chat``."""
    detector: str
    detector_kind: str
    detector_version: str
    score: float
    threshold: float
    flagged: bool
    category: str | None
    """The detector's most likely harm category."""
    categories: tuple[str, ...]
    """OpenAI categories set for this text (empty when not flagged)."""
    latency_ms: float
    text_sha256: str
    chars: int
    policy_override: bool
    text: str | None = field(default=None, repr=False)
    """The raw text, stored only with ``log_prompts``; None otherwise (never in the repr)."""

    def to_json(self, *, show_text: bool = False) -> dict[str, Any]:
        """JSON-ready fields; ``text`` only with ``show_text`` (prompt text is never printed by default)."""
        out: dict[str, Any] = {
            "request_id": self.request_id, "text_index": self.text_index,
            "created_at": self.created_at.isoformat(), "endpoint": self.endpoint, "detector": self.detector,
            "detector_kind": self.detector_kind, "detector_version": self.detector_version,
            "score": self.score, "threshold": self.threshold, "flagged": self.flagged, "category": self.category,
            "categories": list(self.categories), "latency_ms": self.latency_ms, "text_sha256": self.text_sha256,
            "chars": self.chars, "policy_override": self.policy_override, "text_stored": self.text is not None,
        }
        if show_text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class AuditStats:
    """What the writer did since the store was opened (this process only). Nothing is lost silently:
    every recorded decision ends up written, a duplicate, dropped (queue full or store closed), failed
    (the database refused the batch after retries) or still queued."""

    recorded: int
    """Decisions handed to ``record()``."""
    written: int
    """Rows inserted."""
    duplicates: int
    """Decisions whose (request_id, text_index) was already stored (ignored: exactly once)."""
    dropped: int
    """Decisions not queued: the queue stayed full past the put timeout, or the store was closed."""
    failed: int
    """Decisions whose batch the database kept refusing (logged as errors)."""
    queued: int
    """Accepted but not yet committed."""


@dataclass(frozen=True)
class EndpointCount:
    endpoint: str
    decisions: int
    flagged: int


@dataclass(frozen=True)
class AuditSummary:
    """Counts over the whole store."""

    decisions: int
    flagged: int
    requests: int
    """Distinct request ids."""
    with_text: int
    """Rows holding the raw text (stored with ``log_prompts``)."""
    by_endpoint: tuple[EndpointCount, ...]
    first: datetime | None
    last: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"decisions": self.decisions, "flagged": self.flagged, "requests": self.requests,
                "with_text": self.with_text,
                "by_endpoint": {e.endpoint: {"decisions": e.decisions, "flagged": e.flagged}
                                for e in self.by_endpoint},
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None}


def decision_row(d: Decision) -> dict[str, Any]:
    """A decision as column values (backend-neutral: the time as an aware UTC datetime, categories as a
    JSON array string)."""
    return {
        "request_id": d.request_id, "text_index": int(d.input_index),
        "created_at": datetime.fromtimestamp(d.time, tz=UTC), "endpoint": d.endpoint, "detector": d.detector,
        "detector_kind": d.detector_kind, "detector_version": d.detector_version, "score": float(d.score),
        "threshold": float(d.threshold), "flagged": bool(d.flagged), "category": d.category,
        "categories": json.dumps(list(d.openai_categories)), "latency_ms": float(d.latency_ms),
        "text_sha256": d.text_sha256, "chars": int(d.chars), "policy_override": bool(d.policy_override),
        "text": d.text,
    }


def record_from_row(row: Mapping[str, Any]) -> AuditRecord:
    """An :class:`AuditRecord` from a selected row of either backend (SQLite gives text times, integer
    booleans and JSON text; PostgreSQL gives datetimes, booleans and decoded JSON)."""
    categories = row["categories"]
    if isinstance(categories, (str, bytes)):
        categories = json.loads(categories)
    return AuditRecord(
        request_id=str(row["request_id"]), text_index=int(row["text_index"]),
        created_at=as_utc(row["created_at"]), endpoint=str(row["endpoint"]), detector=str(row["detector"]),
        detector_kind=str(row["detector_kind"]), detector_version=str(row["detector_version"]),
        score=float(row["score"]), threshold=float(row["threshold"]), flagged=bool(row["flagged"]),
        category=row["category"], categories=tuple(str(c) for c in categories or ()),
        latency_ms=float(row["latency_ms"]), text_sha256=str(row["text_sha256"]), chars=int(row["chars"]),
        policy_override=bool(row["policy_override"]), text=row["text"])


def as_utc(value: Any) -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC) or an ISO 8601 string."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
