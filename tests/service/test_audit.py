"""The audit store, on SQLite and on a real PostgreSQL server (``HARMSCOPE_TEST_POSTGRES``): every field
round-trips, no raw text unless ``log_prompts``, one row per (request id, text index), ``close()``
flushes, drops and failures are counted, and under 32 concurrent clients x 50 requests through the
real service every decision is stored exactly once."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from harmscope.cli import _audit, _serve
from harmscope.cli.main import main
from harmscope.detectors._knn import KNNDetector
from harmscope.errors import HarmscopeError
from harmscope.service import Decision, Moderator, ServiceSettings, create_app
from harmscope.service.audit import (
    AuditStore,
    AuditStoreError,
    PostgresAuditStore,
    SQLiteAuditStore,
    open_audit_store,
    parse_audit_db,
    redact_dsn,
    register_audit_metrics,
    resolve_audit_db,
)

UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"
PG_ENV = "HARMSCOPE_TEST_POSTGRES"
MakeStore = Callable[..., AuditStore]


def postgres_dsn() -> str:
    """The test server's DSN; skip without one, but fail under CI (CI must test the real server)."""
    dsn = os.environ.get(PG_ENV, "").strip()
    if dsn:
        return dsn
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail(f"{PG_ENV} is not set but CI is: the audit store must be tested against a real PostgreSQL "
                    "(.ci/run runs scripts/system-services.sh and exports it)")
    pytest.skip(f"{PG_ENV} is not set (run scripts/system-services.sh and export it to test PostgreSQL)")


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Builds stores of one backend: SQLite files in tmp_path, or PostgreSQL stores each in a fresh schema
    that is dropped afterwards."""
    dsn = postgres_dsn() if request.param == "postgres" else ""
    stores: list[AuditStore] = []

    def make(**options: Any) -> AuditStore:
        store: AuditStore
        if request.param == "sqlite":
            store = SQLiteAuditStore(tmp_path / f"audit-{len(stores)}.sqlite3", **options)
        else:
            store = PostgresAuditStore(dsn, schema=f"hs_test_{uuid.uuid4().hex[:16]}", **options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()
        if isinstance(store, PostgresAuditStore):
            store.drop()


def decision(request_id: str = "req-1", index: int = 0, **changes: Any) -> Decision:
    base = Decision(request_id=request_id, time=1_790_000_000.123456, endpoint="analyze", input_index=index,
                    detector="test-knn", detector_kind="knn", detector_version="sha256:abc", score=0.8125,
                    threshold=0.4, flagged=True, category="indiscriminate_weapons",
                    openai_categories=("illicit/violent", "violence"), latency_ms=12.5, text_sha256="f" * 64,
                    chars=42, policy_override=True)
    return dataclasses.replace(base, **changes)


# -- the store contract, both backends ------------------------------------------------------------------

def test_every_field_round_trips(make_store: MakeStore) -> None:
    store = make_store()
    given = [decision("req-1", 0), decision("req-1", 1, flagged=False, category=None, openai_categories=(),
                                               score=0.01, endpoint="chat", policy_override=False),
             decision("req-2", 0, text="stored only with log_prompts", time=1_790_000_100.5)]
    for d in given:
        store.record(d)
    assert store.flush(10)
    got = {(r.request_id, r.text_index): r for r in store.query()}
    assert len(got) == 3
    for d in given:
        r = got[(d.request_id, d.input_index)]
        assert r.created_at == datetime.fromtimestamp(d.time, tz=UTC) and r.created_at.tzinfo is not None
        assert (r.endpoint, r.detector, r.detector_kind, r.detector_version) == (
            d.endpoint, d.detector, d.detector_kind, d.detector_version)
        assert (r.score, r.threshold, r.flagged, r.category, r.categories) == (
            d.score, d.threshold, d.flagged, d.category, d.openai_categories)
        assert (r.latency_ms, r.text_sha256, r.chars, r.policy_override, r.text) == (
            d.latency_ms, d.text_sha256, d.chars, d.policy_override, d.text)
    assert [r.text_index for r in store.query(request_id="req-1")] == [0, 1]
    assert store.count() == 3 and store.count(request_id="req-1") == 2 and store.count(request_id="x") == 0
    assert [(r.request_id, r.text_index) for r in store.recent(2)] == [("req-2", 0), ("req-1", 0)]
    summary = store.summary()
    assert (summary.decisions, summary.flagged, summary.requests, summary.with_text) == (3, 2, 2, 1)
    assert {e.endpoint: (e.decisions, e.flagged) for e in summary.by_endpoint} == {"analyze": (2, 2),
                                                                                   "chat": (1, 0)}
    assert "stored only" not in repr(got[("req-2", 0)])  # the text never shows in a repr


def test_no_raw_text_unless_log_prompts(make_store: MakeStore, knn: KNNDetector) -> None:
    quiet, loud = make_store(), make_store()
    Moderator(knn, sink=quiet).moderate([UNSAFE, SAFE], request_id="quiet")
    Moderator(knn, sink=loud, log_prompts=True).moderate([UNSAFE, SAFE], request_id="loud")
    quiet.close()
    loud.close()
    assert [r.text for r in quiet.query(request_id="quiet")] == [None, None]
    assert quiet.summary().with_text == 0
    assert [r.text for r in loud.query(request_id="loud")] == [UNSAFE, SAFE]
    assert quiet.query(request_id="quiet")[0].text_sha256 == loud.query(request_id="loud")[0].text_sha256
    if isinstance(quiet, SQLiteAuditStore):  # not in the file at all, nor in its write-ahead log
        raw = b"".join(p.read_bytes() for p in quiet.path.parent.glob(quiet.path.name + "*"))
        assert b"pipe bomb" not in raw and b"sourdough" not in raw


def test_duplicate_key_is_stored_once(make_store: MakeStore) -> None:
    store = make_store(batch_size=2)
    store.record(decision("dup", 0, score=0.9))
    store.record(decision("dup", 0, score=0.1))  # same batch
    store.record(decision("dup", 1))
    assert store.flush(10)
    store.record(decision("dup", 0, score=0.5))  # a later retry of the same write
    store.close()
    assert store.count() == 2
    assert store.query(request_id="dup")[0].score == 0.9  # the first write wins
    stats = store.stats()
    assert (stats.recorded, stats.written, stats.duplicates, stats.dropped, stats.failed, stats.queued) == (
        4, 2, 2, 0, 0, 0)


def test_close_flushes_and_refuses_later_decisions(make_store: MakeStore, caplog: pytest.LogCaptureFixture) -> None:
    store = make_store(batch_size=7)
    for i in range(500):
        store.record(decision(f"req-{i}", 0))
    store.close()  # no flush() before: close must write everything queued
    assert store.count() == 500
    with caplog.at_level(logging.WARNING, logger="harmscope.service.audit"):
        store.record(decision("late", 0))
    assert store.count() == 500 and store.stats().dropped == 1
    assert "closed" in caplog.text and "late" in caplog.text
    store.close()  # idempotent


Serving = Callable[[Any], AbstractContextManager[str]]

CLIENTS, REQUESTS, TEXTS = 32, 50, 2


def test_concurrent_clients_store_every_decision_exactly_once(make_store: MakeStore, knn: KNNDetector,
                                                              serving: Serving) -> None:
    """32 client threads x 50 requests (2 texts each; every 5th through /v1/analyze) against the real app
    under uvicorn; a small queue so that back-pressure is exercised. Every request id a client got back is
    stored with exactly TEXTS rows, and nothing else is."""
    store = make_store(queue_size=64, batch_size=50, put_timeout_s=10)
    app = create_app(Moderator(knn, name="test-knn", version="test-1", sink=store), ServiceSettings())
    seen: list[list[str]] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []
    start = threading.Barrier(CLIENTS)

    def client(c: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=60, trust_env=False) as http:
            start.wait()
            for k in range(REQUESTS):
                path = "/v1/analyze" if k % 5 == 0 else "/v1/moderations"
                r = http.post(path, json={"input": [f"{SAFE} ({c}-{k})", f"{UNSAFE} ({c}-{k})"]})
                if r.status_code != 200:
                    errors.append(f"{path} {r.status_code} {r.text[:200]}")
                    continue
                seen[c].append(r.headers["x-request-id"])

    began = time.perf_counter()
    with serving(app) as base:
        threads = [threading.Thread(target=client, args=(c, base)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    seconds = time.perf_counter() - began
    # the app's shutdown closed (flushed) the store: no flush() here
    assert not errors, errors[:3]
    ids = [rid for ids in seen for rid in ids]
    assert len(ids) == len(set(ids)) == CLIENTS * REQUESTS
    assert store.count() == CLIENTS * REQUESTS * TEXTS
    summary = store.summary()
    assert summary.requests == CLIENTS * REQUESTS and summary.decisions == CLIENTS * REQUESTS * TEXTS
    assert summary.flagged == CLIENTS * REQUESTS  # the UNSAFE text of each request
    assert {e.endpoint: e.decisions for e in summary.by_endpoint} == {
        "analyze": CLIENTS * REQUESTS // 5 * TEXTS, "moderations": CLIENTS * REQUESTS * 4 // 5 * TEXTS}
    stored = {r.request_id for r in store.query()}
    assert stored == set(ids)
    stats = store.stats()
    assert (stats.written, stats.duplicates, stats.dropped, stats.failed, stats.queued) == (
        CLIENTS * REQUESTS * TEXTS, 0, 0, 0, 0)
    print(f"{type(store).__name__}: {CLIENTS * REQUESTS} requests in {seconds:.1f} s")


# -- failures are counted, never silent (SQLite: the engine is shared by both backends) --------------------

@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteAuditStore]:
    store = SQLiteAuditStore(tmp_path / "audit.sqlite3", put_timeout_s=0.05, queue_size=2, batch_size=1)
    yield store
    store.close()


def test_full_queue_drops_are_counted_and_logged(sqlite_store: SQLiteAuditStore, caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    insert = sqlite_store._insert

    def slow_insert(conn: Any, rows: Any) -> int:
        entered.set()
        release.wait(10)
        return insert(conn, rows)

    monkeypatch.setattr(sqlite_store, "_insert", slow_insert)
    with caplog.at_level(logging.WARNING, logger="harmscope.service.audit"):
        sqlite_store.record(decision("r0", 0, text="secret prompt 0"))
        assert entered.wait(10)  # the writer holds r0 and is stuck in the database
        for i in range(1, 10):
            sqlite_store.record(decision(f"r{i}", 0, text=f"secret prompt {i}"))
    release.set()
    sqlite_store.close()
    stats = sqlite_store.stats()
    # one batch in the writer's hands + a full queue of 2 were kept; the rest waited 0.05 s, then dropped
    assert stats.recorded == 10 and stats.written == sqlite_store.count() == 3 and stats.dropped == 7
    assert stats.written + stats.dropped == stats.recorded
    assert caplog.text.count("audit decision dropped") == 7 and "queue stayed full" in caplog.text
    assert "secret prompt" not in caplog.text
    registry = _registry()
    register_audit_metrics(registry, sqlite_store)
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()
    assert 'harmscope_audit_decisions_total{outcome="dropped"} 7.0' in text
    assert 'harmscope_audit_decisions_total{outcome="written"} 3.0' in text


def _registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def test_failed_write_is_retried_without_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteAuditStore(tmp_path / "audit.sqlite3", batch_size=100)
    insert = store._insert
    calls = {"n": 0}

    def flaky(conn: Any, rows: Any) -> int:
        calls["n"] += 1
        inserted = insert(conn, rows)  # committed ...
        if calls["n"] == 1:
            raise sqlite3.OperationalError("disk I/O error")  # ... but reported as failed: retried
        return inserted

    monkeypatch.setattr(store, "_insert", flaky)
    with caplog.at_level(logging.WARNING, logger="harmscope.service.audit"):
        for i in range(5):
            store.record(decision(f"r{i}", 0))
        store.close()
    assert calls["n"] >= 2 and "retrying" in caplog.text
    assert store.count() == 5
    stats = store.stats()
    assert stats.failed == 0 and stats.written + stats.duplicates == 5


def test_a_batch_the_database_keeps_refusing_is_counted_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteAuditStore(tmp_path / "audit.sqlite3", max_attempts=2)

    def broken(conn: Any, rows: Any) -> int:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "_insert", broken)
    with caplog.at_level(logging.WARNING, logger="harmscope.service.audit"):
        store.record(decision("r", 0))
        store.close()
    assert store.stats().failed == 1 and store.count() == 0
    assert "NOT stored" in caplog.text and "database is locked" in caplog.text


# -- opening stores --------------------------------------------------------------------------------------

def test_urls_choose_the_backend(tmp_path: Path) -> None:
    assert parse_audit_db("postgresql://u:p@h:5432/db") == ("postgres", "postgresql://u:p@h:5432/db")
    assert parse_audit_db("postgres://h/db")[0] == "postgres"
    assert parse_audit_db("sqlite:///var/lib/a.sqlite3") == ("sqlite", "/var/lib/a.sqlite3")
    assert parse_audit_db("audit.sqlite3") == ("sqlite", "audit.sqlite3")
    store = open_audit_store(f"sqlite://{tmp_path}/nested/a.sqlite3")
    assert isinstance(store, SQLiteAuditStore) and store.path == tmp_path / "nested" / "a.sqlite3"
    assert store.location == f"sqlite://{tmp_path}/nested/a.sqlite3" and store.path.is_file()
    assert isinstance(open_audit_store(str(tmp_path / "plain.db")), SQLiteAuditStore)
    with pytest.raises(AuditStoreError, match="unknown database scheme 'mysql'"):
        open_audit_store("mysql://u:secret@h/db")
    with pytest.raises(AuditStoreError, match="names no file"):
        open_audit_store("sqlite:///")
    with pytest.raises(AuditStoreError, match="must be a file path"):
        open_audit_store(":memory:")
    with pytest.raises(AuditStoreError, match="is a folder"):
        open_audit_store(str(tmp_path))
    not_db = tmp_path / "notes.txt"
    not_db.write_text("not a database " * 100, encoding="utf-8")
    with pytest.raises(AuditStoreError, match="file is not a database"):
        open_audit_store(str(not_db))


def test_passwords_are_redacted() -> None:
    assert redact_dsn("postgresql://harmscope:s3cr3t@127.0.0.1:5432/db") == "postgresql://harmscope:***@127.0.0.1:5432/db"
    assert redact_dsn("host=h user=u password=s3cr3t dbname=d") == "host=h user=u password=*** dbname=d"
    assert redact_dsn("postgresql://h/db") == "postgresql://h/db"
    with pytest.raises(AuditStoreError) as info:
        open_audit_store("mysql://u:s3cr3t@h/db")
    assert "s3cr3t" not in str(info.value)


def test_schema_is_created_once_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    first = SQLiteAuditStore(path)
    first.record(decision())
    first.close()
    again = SQLiteAuditStore(path)  # idempotent: the row is still there
    assert again.count() == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("UPDATE audit_meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(AuditStoreError, match="schema version 2"):
        SQLiteAuditStore(path)


# -- wiring: settings, `harmscope serve`, the app's shutdown, `harmscope audit` ---------------------------

def _serve_args(*argv: str) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    _serve.register(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_serve_options_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))
    defaults = _serve.build_settings(_serve_args())
    assert defaults.db is None and defaults.log_prompts is False
    assert resolve_audit_db(None) == str(tmp_path / "cache" / "audit.sqlite3")
    assert resolve_audit_db("None") is None and resolve_audit_db("off") is None
    store = _serve.open_store(defaults)
    assert isinstance(store, SQLiteAuditStore) and store.path == tmp_path / "cache" / "audit.sqlite3"
    config = tmp_path / "serve.yaml"
    config.write_text("db: /from/file.sqlite3\nlog_prompts: true\n", encoding="utf-8")
    from_file = _serve.build_settings(_serve_args("--config", str(config)))
    assert (from_file.db, from_file.log_prompts) == ("/from/file.sqlite3", True)
    given = _serve.build_settings(_serve_args("--config", str(config), "--db", "sqlite:///x.db"))
    assert (given.db, given.log_prompts) == ("sqlite:///x.db", True)
    assert _serve.build_settings(_serve_args("--log-prompts")).log_prompts is True
    assert _serve.open_store(_serve.build_settings(_serve_args("--db", "none"))) is None
    with pytest.raises(HarmscopeError, match="--log-prompts needs an audit store"):
        _serve.open_store(_serve.build_settings(_serve_args("--db", "none", "--log-prompts")))
    with pytest.raises(AuditStoreError, match="cannot open the PostgreSQL audit store postgresql://u:\\*\\*\\*@"):
        _serve.open_store(_serve.build_settings(_serve_args("--db", "postgresql://u:pw@127.0.0.1:1/db")))
    with pytest.raises(AuditStoreError, match="unknown database scheme"):  # before the detector loads
        _serve.run_serve(_serve_args("--db", "mysql://x/y", "--detector", str(tmp_path / "no-detector")))
    with pytest.raises(HarmscopeError, match="not 'default', a folder"):  # no store opened for a bad detector
        _serve.run_serve(_serve_args("--db", str(tmp_path / "unused.sqlite3"), "--detector", str(tmp_path / "nope")))
    assert not (tmp_path / "unused.sqlite3").exists()


def test_app_shutdown_closes_the_store(tmp_path: Path, knn: KNNDetector) -> None:
    store = SQLiteAuditStore(tmp_path / "audit.sqlite3")
    moderator = Moderator(knn, sink=store)
    with TestClient(create_app(moderator, ServiceSettings())) as client:
        rid = client.post("/v1/moderations", json={"input": [SAFE, UNSAFE]}).headers["x-request-id"]
        client.post("/v1/analyze", json={"input": SAFE})
    # no flush: leaving the client ran the app's shutdown, which closed the store
    assert store._closed and store.count() == 3
    assert [(r.text_index, r.flagged, r.endpoint) for r in store.query(request_id=rid)] == [
        (0, False, "moderations"), (1, True, "moderations")]


def _filled(tmp_path: Path, knn: KNNDetector) -> tuple[Path, str]:
    path = tmp_path / "audit.sqlite3"
    store = SQLiteAuditStore(path)
    Moderator(knn, sink=store).moderate([SAFE, UNSAFE], request_id="modr-quiet")
    Moderator(knn, sink=store, log_prompts=True).analyze([UNSAFE], request_id="modr-loud")
    store.close()
    return path, "modr-quiet"


def test_audit_command_json_and_privacy(tmp_path: Path, knn: KNNDetector, capsys: pytest.CaptureFixture[str]) -> None:
    path, rid = _filled(tmp_path, knn)
    assert main(["audit", "--db", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    body = json.loads(out)
    assert body["db"] == f"sqlite://{path}"
    assert body["summary"]["decisions"] == 3 and body["summary"]["flagged"] == 2
    assert body["summary"]["by_endpoint"] == {"analyze": {"decisions": 1, "flagged": 1},
                                              "moderations": {"decisions": 2, "flagged": 1}}
    assert len(body["decisions"]) == 3 and all("text" not in d for d in body["decisions"])
    assert "pipe bomb" not in out and "sourdough" not in out  # never printed without --show-text
    assert [d["text_stored"] for d in body["decisions"]] == [True, False, False]

    assert main(["audit", "--db", f"sqlite://{path}", "--json", "--show-text", "--limit", "1"]) == 0
    (loud,) = json.loads(capsys.readouterr().out)["decisions"]
    assert loud["request_id"] == "modr-loud" and loud["text"] == UNSAFE

    assert main(["audit", "--db", str(path), "--json", "--request-id", rid]) == 0
    quiet = json.loads(capsys.readouterr().out)["decisions"]
    assert [(d["text_index"], d["flagged"]) for d in quiet] == [(0, False), (1, True)]


def test_audit_command_table_and_errors(tmp_path: Path, knn: KNNDetector, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path, rid = _filled(tmp_path, knn)
    assert main(["audit", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert rid in out and "3 decisions, 2 flagged, 2 requests, 1 with text" in out and "pipe bomb" not in out
    assert main(["audit", "--db", str(path), "--show-text"]) == 0
    shown = capsys.readouterr().out
    assert "bomb" in shown and "(not stored)" in shown

    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "empty-cache"))
    assert main(["audit"]) == 2
    assert "no audit database at" in capsys.readouterr().err
    assert not (tmp_path / "empty-cache" / "audit.sqlite3").exists()  # reading never creates a store
    assert main(["audit", "--db", str(path), "--request-id", "nope"]) == 2
    assert "no decisions with request id 'nope'" in capsys.readouterr().err
    assert main(["audit", "--db", "none"]) == 2
    assert main(["audit", "--db", str(path), "--limit", "-1"]) == 2
    with pytest.raises(HarmscopeError, match="no audit database"):
        _audit.open_for_reading(str(tmp_path / "missing.sqlite3"))
