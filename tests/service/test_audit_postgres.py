"""What only the PostgreSQL audit store does, against the real server in ``HARMSCOPE_TEST_POSTGRES``: the
writer reconnects when the server drops its connection (and the retried batch is not duplicated), schemas
keep stores apart, concurrent openers create the schema once, a server that is not there fails at once.
The contract both backends share (round trip, privacy, exactly once under load) is in test_audit.py.

Skipped without ``HARMSCOPE_TEST_POSTGRES``, failed instead under CI (CI must test the real server). Every
test works in its own fresh schema and drops it."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harmscope.service import Decision
from harmscope.service.audit import AuditStoreError, PostgresAuditStore, open_audit_store

PG_ENV = "HARMSCOPE_TEST_POSTGRES"


@pytest.fixture(scope="module")
def dsn() -> str:
    value = os.environ.get(PG_ENV, "").strip()
    if value:
        return value
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail(f"{PG_ENV} is not set but CI is: the audit store must be tested against a real PostgreSQL "
                    "(.ci/run runs scripts/system-services.sh and exports it)")
    pytest.skip(f"{PG_ENV} is not set (run scripts/system-services.sh and export it to test PostgreSQL)")


@pytest.fixture()
def make(dsn: str) -> Iterator[Callable[..., PostgresAuditStore]]:
    """Stores in fresh schemas (``schema=`` reuses one); every schema is dropped afterwards."""
    stores: list[PostgresAuditStore] = []

    def build(schema: str | None = None, **options: Any) -> PostgresAuditStore:
        store = PostgresAuditStore(dsn, schema=schema or f"hs_test_{uuid.uuid4().hex[:16]}", **options)
        stores.append(store)
        return store

    yield build
    for store in stores:
        store.close()
    for schema in {s.schema for s in stores}:
        _sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def decision(request_id: str, index: int = 0) -> Decision:
    return Decision(request_id=request_id, time=time.time(), endpoint="moderations", input_index=index,
                    detector="d", detector_kind="knn", detector_version="v", score=0.3, threshold=0.5,
                    flagged=False, category=None, openai_categories=(), latency_ms=1.0, text_sha256="0" * 64,
                    chars=3)


def _sql(dsn: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description is not None else []


def test_writer_reconnects_after_the_server_drops_it(make: Callable[..., PostgresAuditStore], dsn: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    store = make(max_attempts=5)
    for i in range(20):
        store.record(decision(f"before-{i}"))
    assert store.flush(10) and store.count() == 20
    killed = _sql(dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                  store.application_name)
    assert killed == [(True,)], "the writer's connection was not found"
    with caplog.at_level("WARNING", logger="harmscope.service.audit"):
        for i in range(20):
            store.record(decision(f"after-{i}"))
        assert store.flush(20)
    assert "retrying" in caplog.text
    assert store.count() == 40 and store.stats().failed == 0 and store.stats().dropped == 0


def test_schemas_keep_stores_apart_and_reopen_keeps_rows(make: Callable[..., PostgresAuditStore]) -> None:
    a, b = make(), make()
    a.record(decision("only-in-a"))
    a.close()
    assert a.count() == 1 and b.count() == 0
    again = make(schema=a.schema)  # reopening: schema creation is idempotent, the row stays
    assert again.count() == 1 and again.query(request_id="only-in-a")[0].request_id == "only-in-a"


def test_concurrent_openers_create_the_schema_once(make: Callable[..., PostgresAuditStore]) -> None:
    schema = f"hs_test_{uuid.uuid4().hex[:16]}"
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_one() -> None:
        try:
            store = make(schema=schema)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)
            return
        with lock:
            store.record(decision(f"opener-{threading.get_ident()}"))
        store.close()

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert make(schema=schema).count() == 6


def test_postgres_url_alias_and_unreachable_server(dsn: str) -> None:
    schema = f"hs_test_{uuid.uuid4().hex[:16]}"
    store = open_audit_store(dsn.replace("postgresql://", "postgres://", 1), schema=schema)
    try:
        assert isinstance(store, PostgresAuditStore) and store.count() == 0
        assert "***" in store.location or "@" not in store.location
    finally:
        store.drop()
    start = time.monotonic()
    with pytest.raises(AuditStoreError, match=r"cannot open the PostgreSQL audit store postgresql://u:\*\*\*@"):
        PostgresAuditStore("postgresql://u:hunter2@127.0.0.1:1/db")
    assert time.monotonic() - start < 10
    with pytest.raises(AuditStoreError, match="plain lower-case SQL name"):
        PostgresAuditStore(dsn, schema='x"; DROP TABLE y; --')
