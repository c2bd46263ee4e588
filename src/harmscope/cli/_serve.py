"""`harmscope serve`: run the moderation service (OpenAI-compatible /v1/moderations, /v1/analyze, the guard
gateway, health and metrics) with uvicorn. See docs/service.md.

The detector is loaded before the server starts listening, so a bad ``--detector`` fails at once with a
one-line error instead of a server that is never ready. Only stdlib at top level.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the moderation service (OpenAI-compatible /v1/moderations, guard gateway)",
        description="Serve a detector over HTTP: POST /v1/moderations (OpenAI-compatible), POST /v1/analyze, "
        "POST /v1/chat/completions (guard gateway, when configured), GET /healthz, /readyz, /metrics. "
        "API keys come from the config file or HARMSCOPE_API_KEYS (comma-separated).",
    )
    p.add_argument("--detector", default=None, metavar="NAME|PATH",
                   help="'default' (built by `harmscope fit`; the default), a folder written by detector.save(), "
                   "or a registered detector name (fitted on the training pool at start-up: slow)")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=None, help="port to bind (default 8000)")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="YAML settings (limits, API keys, CORS, gateway upstreams); options given here win")
    p.add_argument("--upstream", default=None, metavar="URL",
                   help="enable the guard gateway: forward benign chats to this OpenAI-compatible base URL "
                   "(e.g. http://127.0.0.1:8080/v1); flagged chats get a refusal")
    p.add_argument("--db", default=None, metavar="URL",
                   help="audit store of every decision: postgresql://user:pass@host/db, sqlite:///path or a "
                   "file path (default: <cache>/audit.sqlite3; 'none' = no audit store)")
    p.add_argument("--log-prompts", action="store_true", default=None,
                   help="also store the raw prompt text in the audit store (default: only its SHA-256)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run_serve)


def build_settings(args: argparse.Namespace) -> Any:
    """ServiceSettings from ``--config`` and the options given on the command line (``--upstream`` sets
    only the gateway's upstream URL; other gateway settings from the config file stay)."""
    from pydantic import ValidationError

    from harmscope.errors import HarmscopeError
    from harmscope.service.settings import ServiceSettings, load_settings

    settings = load_settings(args.config, detector=args.detector, host=args.host, port=args.port,
                             db=args.db, log_prompts=args.log_prompts)
    if args.upstream is None:
        return settings
    data = settings.model_dump()
    gateway = data.get("gateway") or {}
    gateway["upstream"] = {**(gateway.get("upstream") or {}), "base_url": args.upstream}
    data["gateway"] = gateway
    try:
        return ServiceSettings.model_validate(data)
    except ValidationError as error:
        raise HarmscopeError(f"--upstream {args.upstream!r}: {error.errors()[0]['msg']} "
                             "(give an http:// or https:// base URL such as http://127.0.0.1:8080/v1)") from None


def run_serve(args: argparse.Namespace) -> int:
    import logging

    from harmscope.errors import MissingPackageError

    try:
        import uvicorn
    except ImportError:
        raise MissingPackageError("uvicorn", "harmscope serve", "pip install fastapi uvicorn") from None
    from harmscope.service import Moderator, load_category_table, load_service_detector
    from harmscope.service.app import create_app
    from harmscope.service.audit import open_audit_store, register_audit_metrics

    settings = build_settings(args)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("harmscope.service")
    audit_db = audit_url(settings)  # a malformed --db fails before the (slow) detector load
    loaded = load_service_detector(settings.detector)
    store = None if audit_db is None else open_audit_store(audit_db)
    try:
        moderator = Moderator(loaded, category_table=load_category_table(settings.category_table),
                              max_inputs=settings.max_inputs, max_input_chars=settings.max_input_chars,
                              sink=store, log_prompts=settings.log_prompts)
        warm = moderator.warm_up()  # the encoder loads now, not on the first request
        app = create_app(moderator, settings)
        if store is not None:
            register_audit_metrics(app.state.harmscope.metrics.registry, store)
            log.info("audit store: %s; %s", store.location,
                     "PROMPT TEXT STORED (--log-prompts)" if settings.log_prompts else "SHA-256 of texts, no text")
        else:
            log.warning("audit store disabled (db: none): decisions are not recorded")
        log.info("serving detector %s (%s, %s; loaded in %.1f s, warm-up %.1f s) on http://%s:%d", loaded.name,
                 moderator.info().kind, loaded.version, loaded.load_seconds, warm, settings.host, settings.port)
        # uvicorn's access log would repeat ours; ours never carries bodies either.
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
    finally:
        if store is not None:
            store.close()  # the app's shutdown already flushed it; idempotent
    return 0


def audit_url(settings: Any) -> str | None:
    """The audit store URL the settings ask for (None when ``db: none``), checked for form only (no
    connection, no file created); HarmscopeError for a malformed one."""
    from harmscope.errors import HarmscopeError
    from harmscope.service.audit import parse_audit_db, resolve_audit_db

    db = resolve_audit_db(settings.db)
    if db is None:
        if settings.log_prompts:
            raise HarmscopeError("--log-prompts needs an audit store, but db is 'none'; drop one of them")
        return None
    parse_audit_db(db)
    return db


def open_store(settings: Any) -> Any:
    """The audit store the settings ask for (None when ``db: none``); AuditStoreError for a bad one."""
    from harmscope.service.audit import open_audit_store

    db = audit_url(settings)
    return None if db is None else open_audit_store(db)
