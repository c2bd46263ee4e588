"""The audit store's engine, shared by the SQLite and PostgreSQL backends: a bounded queue, one background
writer thread that owns the write connection and inserts in batches, and typed reads.

Why this shape: ``record()`` runs on the service's worker threads (never on the event loop) and must
cost a request almost nothing, so it only puts the decision on a queue. One thread drains the queue and
writes batches with ``executemany`` in one transaction each: one connection, no lock contention between
writers, few commits under load. ``close()`` stops taking decisions, writes everything queued, and
closes the connection.

Exactly once: every row has the unique key ``(request_id, text_index)`` and inserts skip rows whose key
is already stored. A batch whose commit failed (or whose outcome is unknown, e.g. the connection broke)
is retried on a fresh connection without risk of duplicates.

Back-pressure: the queue is bounded (``queue_size``). When it is full, ``record()`` blocks for up to
``put_timeout_s`` (the request's worker thread waits; the event loop does not), then drops the decision
and counts it (``stats().dropped``, ``harmscope_audit_decisions_total{outcome="dropped"}``) with a
warning in the log. A batch the database keeps refusing after ``max_attempts`` tries is counted as
``failed`` and logged as an error. Decisions are never lost without being counted.
"""

from __future__ import annotations

import abc
import atexit
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from harmscope.errors import HarmscopeError
from harmscope.service.audit.records import (
    COLUMNS,
    AuditRecord,
    AuditStats,
    AuditSummary,
    EndpointCount,
    as_utc,
    decision_row,
    record_from_row,
)

if TYPE_CHECKING:
    from harmscope.service.moderator import Decision

log = logging.getLogger("harmscope.service.audit")

SCHEMA_VERSION = 1
"""Version of the audit table layout, kept in the ``audit_meta`` table (``schema_version`` row)."""
TABLE = "audit_decisions"
META = "audit_meta"


class AuditStoreError(HarmscopeError):
    """The audit database cannot be opened or used (bad URL, server down, newer schema)."""


class AuditStore(abc.ABC):
    """A :class:`~harmscope.service.moderator.DecisionSink` that stores every decision once.

    ``queue_size``: most decisions waiting to be written; ``batch_size``: most rows per insert;
    ``put_timeout_s``: how long ``record()`` waits on a full queue before dropping (and counting);
    ``max_attempts``: tries per batch before it is counted as failed. The writer thread starts on the
    first ``record()``, so a store opened only to read (``harmscope audit``) starts no thread.
    """

    placeholder = "?"
    """The DB-API parameter marker of the backend."""

    def __init__(self, *, queue_size: int = 10_000, batch_size: int = 500, put_timeout_s: float = 2.0,
                 max_attempts: int = 5) -> None:
        if queue_size < 1 or batch_size < 1 or max_attempts < 1 or put_timeout_s < 0:
            raise AuditStoreError("queue_size, batch_size and max_attempts must be >= 1, put_timeout_s >= 0")
        self.queue_size, self.batch_size = queue_size, batch_size
        self.put_timeout_s, self.max_attempts = put_timeout_s, max_attempts
        self._queue: queue.Queue[Decision] = queue.Queue(maxsize=queue_size)
        self._cond = threading.Condition()
        self._closed = False
        self._active_puts = 0
        self._pending = 0
        self._counts = {"recorded": 0, "written": 0, "duplicates": 0, "dropped": 0, "failed": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what a backend provides ---------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the store is, safe to print (no password)."""

    @abc.abstractmethod
    def _table(self, name: str) -> str:
        """The SQL name of table ``name`` (schema-qualified where the backend has schemas)."""

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new DB-API connection (not autocommit)."""

    @abc.abstractmethod
    def _insert(self, conn: Any, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert ``rows`` skipping existing keys, in one transaction, and commit. Returns rows inserted
        (-1 if the driver cannot tell)."""

    @abc.abstractmethod
    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read query on a short-lived connection; rows as column -> value."""

    # -- DecisionSink ----------------------------------------------------------------------------------
    def record(self, decision: Decision) -> None:
        """Queue ``decision`` for writing. Never raises: a full queue (past ``put_timeout_s``) or a
        closed store drops the decision, counts it and logs a warning (ids only, never text)."""
        with self._cond:
            self._counts["recorded"] += 1
            if self._closed:
                self._drop(decision, "the audit store is closed")
                return
            self._active_puts += 1
            self._pending += 1
        try:
            self._start_writer()
            if self.put_timeout_s > 0:
                self._queue.put(decision, timeout=self.put_timeout_s)
            else:
                self._queue.put_nowait(decision)
        except queue.Full:
            with self._cond:
                self._pending -= 1
                self._drop(decision, f"the audit queue stayed full ({self.queue_size}) for "
                           f"{self.put_timeout_s:g} s")
        finally:
            with self._cond:
                self._active_puts -= 1
                self._cond.notify_all()

    def _drop(self, decision: Decision, why: str) -> None:
        """Count a dropped decision (caller holds ``_cond``)."""
        self._counts["dropped"] += 1
        log.warning("audit decision dropped: request=%s index=%d: %s (dropped so far: %d)",
                    decision.request_id, decision.input_index, why, self._counts["dropped"])

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued decision is committed (or counted as failed). False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop accepting decisions, write everything queued, close the connection. Idempotent; reads
        still work afterwards (they use their own connections)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._closed = True
            while self._active_puts > 0 and time.monotonic() < deadline:
                self._cond.wait(0.1)
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.error("audit store %s: %d decisions still unwritten after %.0f s at close", self.location,
                          self._pending, timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> AuditStats:
        with self._cond:
            return AuditStats(queued=self._pending, **self._counts)

    # -- the writer ------------------------------------------------------------------------------------
    def _start_writer(self) -> None:
        if self._thread is not None:
            return
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="harmscope-audit-writer", daemon=True)
                self._thread.start()
                atexit.register(self.close, 10.0)  # a process that never closed the store still flushes it

    def _run(self) -> None:
        conn: Any = None
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                try:
                    conn = self._write(conn, batch)
                except Exception:  # a bug, not a database error (those are retried in _write)
                    log.exception("audit writer failed on %d decisions; they are NOT stored", len(batch))
                    self._settle(batch, written=0, duplicates=0, failed=len(batch))
                    _close_quietly(conn)
                    conn = None
        finally:
            _close_quietly(conn)

    def _next_batch(self) -> list[Decision] | None:
        """Up to ``batch_size`` queued decisions (waits for the first); None once stopped and empty."""
        while True:
            try:
                first = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if self._stop.is_set():
                    return None
        batch = [first]
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, conn: Any, batch: list[Decision]) -> Any:
        """Insert ``batch``, retrying on a fresh connection; returns the connection to reuse."""
        rows = [decision_row(d) for d in batch]
        for attempt in range(1, self.max_attempts + 1):
            try:
                if conn is None:
                    conn = self._connect()
                inserted = self._insert(conn, rows)
            except Exception as error:  # noqa: BLE001  (any driver error: reconnect and retry)
                _close_quietly(conn)
                conn = None
                reason = error_line(error)
                if attempt < self.max_attempts:
                    log.warning("audit write of %d decisions failed (attempt %d of %d), retrying: %s",
                                len(rows), attempt, self.max_attempts, reason)
                    time.sleep(min(0.1 * 2 ** (attempt - 1), 2.0))
                    continue
                log.error("audit write of %d decisions failed %d times, they are NOT stored (first request "
                          "%s): %s", len(rows), attempt, batch[0].request_id, reason)
                self._settle(batch, written=0, duplicates=0, failed=len(rows))
                return None
            written = len(rows) if inserted < 0 else inserted
            self._settle(batch, written=written, duplicates=len(rows) - written, failed=0)
            return conn
        return conn  # pragma: no cover  (the loop always returns)

    def _settle(self, batch: list[Decision], *, written: int, duplicates: int, failed: int) -> None:
        with self._cond:
            self._counts["written"] += written
            self._counts["duplicates"] += duplicates
            self._counts["failed"] += failed
            self._pending -= len(batch)
            self._cond.notify_all()

    # -- reads -----------------------------------------------------------------------------------------
    def count(self, *, request_id: str | None = None) -> int:
        """Stored decisions (of one request when ``request_id`` is given). Call ``flush()`` first to
        include what is still queued."""
        where, params = self._where(request_id=request_id)
        rows = self._fetch(f"SELECT COUNT(*) AS n FROM {self._table(TABLE)}{where}", params)
        return int(rows[0]["n"])

    def recent(self, limit: int = 20) -> list[AuditRecord]:
        """The ``limit`` newest decisions, newest first (texts of one request in input order)."""
        if limit < 0:
            raise AuditStoreError(f"limit must be >= 0, got {limit}")
        return self._records("", (), "ORDER BY created_at DESC, request_id, text_index", limit)

    def query(self, *, request_id: str | None = None, text_sha256: str | None = None,
              limit: int | None = None) -> list[AuditRecord]:
        """Decisions of one request and/or of one text (by its SHA-256), oldest first."""
        where, params = self._where(request_id=request_id, text_sha256=text_sha256)
        return self._records(where, params, "ORDER BY created_at, request_id, text_index", limit)

    def summary(self) -> AuditSummary:
        """Counts over the whole store: decisions, flagged, distinct requests, rows with text, per endpoint."""
        t = self._table(TABLE)
        flagged = "SUM(CASE WHEN flagged THEN 1 ELSE 0 END)"
        per = self._fetch(f"SELECT endpoint, COUNT(*) AS n, {flagged} AS f FROM {t} GROUP BY endpoint "
                          "ORDER BY endpoint")
        overall = self._fetch(f"SELECT COUNT(*) AS n, {flagged} AS f, COUNT(DISTINCT request_id) AS r, "
                              f"COUNT(text) AS w, MIN(created_at) AS lo, MAX(created_at) AS hi FROM {t}")[0]
        return AuditSummary(
            decisions=int(overall["n"]), flagged=int(overall["f"] or 0), requests=int(overall["r"]),
            with_text=int(overall["w"]),
            by_endpoint=tuple(EndpointCount(str(r["endpoint"]), int(r["n"]), int(r["f"] or 0)) for r in per),
            first=as_utc(overall["lo"]) if overall["lo"] is not None else None,
            last=as_utc(overall["hi"]) if overall["hi"] is not None else None)

    def _where(self, **filters: str | None) -> tuple[str, tuple[Any, ...]]:
        given = [(k, v) for k, v in filters.items() if v is not None]
        if not given:
            return "", ()
        return (" WHERE " + " AND ".join(f"{k} = {self.placeholder}" for k, _ in given),
                tuple(v for _, v in given))

    def _records(self, where: str, params: tuple[Any, ...], order: str, limit: int | None) -> list[AuditRecord]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM {self._table(TABLE)}{where} {order}"
        if limit is not None:
            sql += f" LIMIT {self.placeholder}"
            params = (*params, int(limit))
        return [record_from_row(r) for r in self._fetch(sql, params)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


def _close_quietly(conn: Any) -> None:
    if conn is None:
        return
    try:
        conn.close()
    except Exception:  # noqa: BLE001,S110  (a broken connection may fail to close; nothing to do)
        pass


def error_line(error: BaseException) -> str:
    """``Type: first line of the message`` (driver messages can run to many lines of context)."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
