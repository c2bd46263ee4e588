"""The audit store: every decision of the moderation service, stored exactly once.

Per screened text: request id, position in the request, time (UTC), endpoint, detector name, type and
version, score, threshold, flagged, harm category, OpenAI categories (JSON), latency, SHA-256 and length
of the text, whether a per-request policy applied; the raw text only when the service runs with
``log_prompts``. Backends: SQLite (default, one file) and PostgreSQL (psycopg 3). See docs/service.md.

Only the standard library is imported here; psycopg and prometheus_client load when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from harmscope.service.audit.metrics import AuditCollector, register_audit_metrics
from harmscope.service.audit.postgres_store import PostgresAuditStore, redact_dsn
from harmscope.service.audit.records import AuditRecord, AuditStats, AuditSummary, EndpointCount
from harmscope.service.audit.sqlite_store import SQLiteAuditStore
from harmscope.service.audit.store import SCHEMA_VERSION, AuditStore, AuditStoreError

__all__ = [
    "DEFAULT_FILE", "DISABLED", "SCHEMA_VERSION", "AuditCollector", "AuditRecord", "AuditStats", "AuditStore",
    "AuditStoreError", "AuditSummary", "EndpointCount", "PostgresAuditStore", "SQLiteAuditStore",
    "default_audit_path", "open_audit_store", "parse_audit_db", "redact_dsn", "register_audit_metrics",
    "resolve_audit_db",
]

DEFAULT_FILE = "audit.sqlite3"
DISABLED = ("none", "off", "false", "no")
"""Values of the ``db`` setting (any case) that turn the audit store off."""


def default_audit_path() -> Path:
    """``<cache>/audit.sqlite3`` (the cache is ``$HARMSCOPE_CACHE`` or ``~/.cache/harmscope``)."""
    from harmscope._paths import cache_dir

    return cache_dir() / DEFAULT_FILE


def resolve_audit_db(db: str | None) -> str | None:
    """The store URL a ``db`` setting means: None -> the default SQLite file, ``none``/``off`` -> None
    (no audit store), anything else unchanged."""
    if db is None:
        return str(default_audit_path())
    if db.strip().lower() in DISABLED:
        return None
    return db


def parse_audit_db(db: str) -> tuple[Literal["sqlite", "postgres"], str]:
    """``("postgres", dsn)`` for ``postgresql://…``/``postgres://…``, ``("sqlite", path)`` for
    ``sqlite:///path`` or a plain file path. Raises :class:`AuditStoreError` for any other scheme."""
    text = db.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return "sqlite", text
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return "postgres", text
    if scheme == "sqlite":
        if not rest.strip("/"):
            raise AuditStoreError(f"--db {db!r} names no file; write sqlite:///path/to/audit.sqlite3")
        return "sqlite", rest
    raise AuditStoreError(f"--db {redact_dsn(db)!r}: unknown database scheme {scheme!r}; give postgresql://…, "
                          "sqlite:///path or a file path (or 'none' for no audit store)")


def open_audit_store(db: str, **options: Any) -> AuditStore:
    """Open (and create if needed) the audit store at ``db``: ``postgresql://…`` or ``postgres://…`` ->
    :class:`PostgresAuditStore`; ``sqlite:///path`` or a plain file path -> :class:`SQLiteAuditStore`.
    ``options`` go to the store (``queue_size``, ``batch_size``, ``put_timeout_s``, ``max_attempts``; and
    ``schema`` for PostgreSQL). Raises :class:`AuditStoreError` for an unknown scheme or an unusable
    database."""
    kind, where = parse_audit_db(db)
    if kind == "postgres":
        return PostgresAuditStore(where, **options)
    return SQLiteAuditStore(where, **options)
