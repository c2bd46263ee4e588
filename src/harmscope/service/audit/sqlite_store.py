"""The SQLite audit backend (the default: one file, no server).

WAL journal mode, so ``harmscope audit`` and other readers can read while the service writes; the
writer thread owns the only write connection, reads open their own short-lived connections. Times are
stored as fixed-width ISO 8601 UTC strings (they sort as text), booleans as 0/1, categories as JSON text.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harmscope.service.audit.records import COLUMNS
from harmscope.service.audit.store import META, SCHEMA_VERSION, TABLE, AuditStore, AuditStoreError

log = logging.getLogger("harmscope.service.audit")

_DDL = f"""
CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {TABLE} (
    request_id TEXT NOT NULL,
    text_index INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    detector TEXT NOT NULL,
    detector_kind TEXT NOT NULL,
    detector_version TEXT NOT NULL,
    score REAL NOT NULL,
    threshold REAL NOT NULL,
    flagged INTEGER NOT NULL,
    category TEXT,
    categories TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    text_sha256 TEXT NOT NULL,
    chars INTEGER NOT NULL,
    policy_override INTEGER NOT NULL,
    text TEXT,
    PRIMARY KEY (request_id, text_index)
);
CREATE INDEX IF NOT EXISTS {TABLE}_created_at ON {TABLE} (created_at);
CREATE INDEX IF NOT EXISTS {TABLE}_text_sha256 ON {TABLE} (text_sha256);
INSERT OR IGNORE INTO {META} (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
"""

_INSERT = (f"INSERT OR IGNORE INTO {TABLE} ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in COLUMNS)})")


class SQLiteAuditStore(AuditStore):
    """Audit decisions into the SQLite file ``path`` (created with its folder; schema created once)."""

    def __init__(self, path: str | Path, **options: Any) -> None:
        super().__init__(**options)
        raw = str(path)
        if not raw.strip() or raw == ":memory:" or raw.startswith("file:"):
            raise AuditStoreError(f"the audit SQLite database must be a file path, got {raw!r}")
        file = Path(raw).expanduser()
        if file.is_dir():
            raise AuditStoreError(f"the audit database {file} is a folder; give a file path such as "
                                  f"{file / 'audit.sqlite3'}")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AuditStoreError(f"cannot create the folder of the audit database {file}: "
                                  f"{error.strerror}") from None
        self.path = file.resolve()
        self._ensure_schema()

    @property
    def location(self) -> str:
        return f"sqlite://{self.path}"  # resolved, so absolute: sqlite:///abs/path

    def _table(self, name: str) -> str:
        return name

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses at most the last commits
        return conn

    def _ensure_schema(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error as error:
            raise AuditStoreError(f"cannot open the audit database {self.path}: {error}") from None
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. a file system without shared memory: still correct, slower
                log.warning(
                    "audit database %s: WAL mode not available (journal_mode=%s)", self.path, mode)
            conn.executescript(_DDL)
            conn.commit()
            row = conn.execute(f"SELECT value FROM {META} WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as error:
            raise AuditStoreError(f"{self.path} is not a usable audit database: {error}") from None
        finally:
            conn.close()
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise AuditStoreError(f"{self.path} holds audit schema version {row[0] if row else '?'}; this "
                                  f"harmscope reads and writes version {SCHEMA_VERSION} (use another --db)")

    def _insert(self, conn: Any, rows: Sequence[Mapping[str, Any]]) -> int:
        values = [tuple(_sqlite_value(c, r[c]) for c in COLUMNS) for r in rows]
        cursor = conn.executemany(_INSERT, values)  # on error the writer closes conn: rolled back
        conn.commit()
        return int(cursor.rowcount)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            conn = self._connect()
            try:
                conn.row_factory = sqlite3.Row
                return [dict(r) for r in conn.execute(sql, tuple(params)).fetchall()]
            finally:
                conn.close()
        except sqlite3.Error as error:
            raise AuditStoreError(f"cannot read the audit database {self.path}: {error}") from None


def _sqlite_value(column: str, value: Any) -> Any:
    if column == "created_at":
        return value.isoformat(timespec="microseconds")  # aware UTC: fixed width, sorts as text
    if isinstance(value, bool):
        return int(value)
    return value
