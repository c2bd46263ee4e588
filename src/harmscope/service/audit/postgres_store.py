"""The PostgreSQL audit backend (psycopg 3): for a service with several replicas or a central audit.

The writer thread owns one connection and reconnects after a failure (the batch is retried; the unique
key makes that safe). Reads open a short-lived autocommit connection. Times are ``TIMESTAMPTZ``,
categories ``JSONB``. ``schema`` puts the tables in their own PostgreSQL schema (created if missing);
by default they go where the connection's ``search_path`` says (normally ``public``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from harmscope.service.audit.records import COLUMNS
from harmscope.service.audit.store import META, SCHEMA_VERSION, TABLE, AuditStore, AuditStoreError, error_line

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SCHEMA_LOCK = 0x6861726D73636F70  # pg_advisory_xact_lock key ("harmscop"): concurrent openers queue up


def redact_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***`` (URL and ``key=value`` forms), safe to print or log."""
    out = re.sub(r"^([a-z]+://[^:/@?#]*):[^@/?#]*@", r"\1:***@", dsn)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", out, flags=re.IGNORECASE)


class PostgresAuditStore(AuditStore):
    """Audit decisions into PostgreSQL at ``dsn`` (``postgresql://user:password@host:port/db`` or a libpq
    ``key=value`` string); ``schema``: a lower-case schema name for the tables (None = search_path)."""

    placeholder = "%s"

    def __init__(self, dsn: str, *, schema: str | None = None, connect_timeout_s: float = 5.0,
                 **options: Any) -> None:
        super().__init__(**options)
        if schema is not None and not _IDENTIFIER.match(schema):
            raise AuditStoreError(f"schema {schema!r} is not a plain lower-case SQL name (letters, digits, _)")
        try:
            import psycopg
        except ImportError:
            from harmscope.errors import MissingPackageError

            raise MissingPackageError("psycopg", "a PostgreSQL audit store",
                                      'pip install "psycopg[binary]==3.3.9"') from None
        self._psycopg = psycopg
        self.dsn, self.schema, self.connect_timeout_s = dsn, schema, connect_timeout_s
        self.application_name = f"harmscope-audit-writer:{schema or 'search_path'}"
        """The writer connection's ``application_name`` (find it in ``pg_stat_activity``)."""
        self._ensure_schema()

    @property
    def location(self) -> str:
        where = redact_dsn(self.dsn)
        return f"{where} (schema {self.schema})" if self.schema else where

    def _table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.schema else name

    def _connect(self, *, autocommit: bool = False) -> Any:
        """The writer's connection; with ``autocommit`` a reader's (named ``harmscope-audit-reader:…``)."""
        name = self.application_name.replace("-writer", "-reader") if autocommit else self.application_name
        return self._psycopg.connect(self.dsn, connect_timeout=max(1, round(self.connect_timeout_s)),
                                     autocommit=autocommit, application_name=name)

    def _ensure_schema(self) -> None:
        meta, table = self._table(META), self._table(TABLE)
        statements = [f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})"]
        if self.schema:
            statements.append(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        statements += [
            f"CREATE TABLE IF NOT EXISTS {meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            f"""CREATE TABLE IF NOT EXISTS {table} (
                request_id TEXT NOT NULL,
                text_index INTEGER NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                endpoint TEXT NOT NULL,
                detector TEXT NOT NULL,
                detector_kind TEXT NOT NULL,
                detector_version TEXT NOT NULL,
                score DOUBLE PRECISION NOT NULL,
                threshold DOUBLE PRECISION NOT NULL,
                flagged BOOLEAN NOT NULL,
                category TEXT,
                categories JSONB NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                text_sha256 TEXT NOT NULL,
                chars INTEGER NOT NULL,
                policy_override BOOLEAN NOT NULL,
                text TEXT,
                PRIMARY KEY (request_id, text_index))""",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_created_at ON {table} (created_at)",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_text_sha256 ON {table} (text_sha256)",
            (f"INSERT INTO {meta} (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}') "
            "ON CONFLICT (key) DO NOTHING"),
        ]
        try:
            with self._connect() as conn:  # one transaction: commits on success, rolls back on error
                for statement in statements:
                    conn.execute(statement)
                row = conn.execute(f"SELECT value FROM {meta} WHERE key = 'schema_version'").fetchone()
        except self._psycopg.Error as error:
            raise AuditStoreError(f"cannot open the PostgreSQL audit store {self.location}: "
                                  f"{error_line(error)}; check --db and that the server is running") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise AuditStoreError(f"{self.location} holds audit schema version {row[0] if row else '?'}; this "
                                  f"harmscope reads and writes version {SCHEMA_VERSION}")

    def _insert(self, conn: Any, rows: Sequence[Mapping[str, Any]]) -> int:
        markers = ", ".join("%s::jsonb" if c == "categories" else "%s" for c in COLUMNS)
        sql = (f"INSERT INTO {self._table(TABLE)} ({', '.join(COLUMNS)}) VALUES ({markers}) "
               "ON CONFLICT (request_id, text_index) DO NOTHING")
        with conn.cursor() as cursor:
            cursor.executemany(sql, [tuple(r[c] for c in COLUMNS) for r in rows])
            inserted = int(cursor.rowcount)
        conn.commit()
        return inserted

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        try:
            with self._connect(autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cursor:
                cursor.execute(sql, tuple(params))
                return [dict(r) for r in cursor.fetchall()]
        except self._psycopg.Error as error:
            raise AuditStoreError(f"cannot read the PostgreSQL audit store {self.location}: "
                                  f"{error_line(error)}") from None

    def drop(self) -> None:
        """Remove this store's schema (with ``schema``) or its two tables, and everything in them.
        For tests and throw-away stores."""
        with self._connect(autocommit=True) as conn:
            if self.schema:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            else:
                conn.execute(f"DROP TABLE IF EXISTS {self._table(TABLE)}, {self._table(META)}")
