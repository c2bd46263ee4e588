"""`harmscope audit`: what the moderation service decided, from its audit store.

Shows the store's counts (decisions, flagged, requests, per endpoint, first and last time) and the most
recent decisions, or one request's decisions (``--request-id``). Prompt text is never printed unless
``--show-text`` (and it exists only if the service ran with ``--log-prompts``); the database password is
never printed. Only stdlib at top level.

JSON (``--json``): ``{"db", "summary": {decisions, flagged, requests, with_text, by_endpoint, first,
last}, "decisions": [{request_id, text_index, created_at, endpoint, detector, detector_kind,
detector_version, score, threshold, flagged, category, categories, latency_ms, text_sha256, chars,
policy_override, text_stored, text (only with --show-text)}]}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "audit", help="show the moderation service's recorded decisions (audit store) and their counts",
        description="Read the audit store written by `harmscope serve`: counts and the most recent decisions. "
        "See docs/service.md (Audit store).")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the audit store: postgresql://user:pass@host/db, sqlite:///path or a file path "
                   "(default: <cache>/audit.sqlite3, where `harmscope serve` writes by default)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="most recent decisions to show (default 20)")
    p.add_argument("--request-id", default=None, metavar="ID", help="show only this request's decisions")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--show-text", action="store_true",
                   help="include stored prompt text (stored only when the service ran with --log-prompts)")
    p.set_defaults(func=run_audit)


def open_for_reading(db: str | None) -> Any:
    """The store named by ``--db`` (default file when None); HarmscopeError when there is none to read."""
    from pathlib import Path

    from harmscope.errors import HarmscopeError
    from harmscope.service.audit import open_audit_store, parse_audit_db, resolve_audit_db

    url = resolve_audit_db(db)
    if url is None:
        raise HarmscopeError(f"--db {db!r} means no audit store; give the store `harmscope serve` wrote to")
    kind, where = parse_audit_db(url)
    if kind == "sqlite" and not Path(where).expanduser().is_file():
        raise HarmscopeError(f"no audit database at {where}; `harmscope serve` creates it on start "
                             "(default <cache>/audit.sqlite3), or give --db")
    return open_audit_store(url)


def run_audit(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError

    if args.limit < 0:
        raise HarmscopeError(f"--limit must be >= 0, got {args.limit}")
    store = open_for_reading(args.db)
    summary = store.summary()
    if args.request_id is not None:
        records = store.query(request_id=args.request_id)
        if not records:
            raise HarmscopeError(f"no decisions with request id {args.request_id!r} in {store.location}")
    else:
        records = store.recent(args.limit)
    if args.json:
        out = {"db": store.location, "summary": summary.to_json(),
               "decisions": [r.to_json(show_text=args.show_text) for r in records]}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 0
    _print_tables(store.location, summary, records, show_text=args.show_text)
    return 0


def _print_tables(location: str, summary: Any, records: list[Any], *, show_text: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped output: keep ids whole
        console.width = max(console.width, 200)
    span = (f"{summary.first:%Y-%m-%d %H:%M:%S} .. {summary.last:%Y-%m-%d %H:%M:%S} UTC"
            if summary.first and summary.last else "empty")
    console.print(f"audit store: {escape(location)}", soft_wrap=True)
    console.print(f"{summary.decisions} decisions, {summary.flagged} flagged, {summary.requests} requests, "
                  f"{summary.with_text} with text; {span}", soft_wrap=True)
    if summary.by_endpoint:
        counts = Table()
        for name in ("endpoint", "decisions", "flagged"):
            counts.add_column(name, justify="left" if name == "endpoint" else "right")
        for e in summary.by_endpoint:
            counts.add_row(e.endpoint, str(e.decisions), str(e.flagged))
        console.print(counts)
    table = Table(title=f"{len(records)} decisions, newest first" if records else "no decisions")
    columns = ["time (UTC)", "request id", "#", "endpoint", "score", "flagged", "categories", "ms", "detector",
               "sha256"] + (["text"] if show_text else [])
    for name in columns:
        whole = name in ("time (UTC)", "request id")  # ids are lookup keys: never cut
        table.add_column(name, justify="right" if name in ("#", "score", "ms") else "left", no_wrap=whole,
                         overflow="fold")
    for r in records:
        version = r.detector_version.removeprefix("sha256:")
        row = [f"{r.created_at:%Y-%m-%d %H:%M:%S}", r.request_id, str(r.text_index), r.endpoint, f"{r.score:.3f}",
               "yes" if r.flagged else "no", ", ".join(r.categories) or "-", f"{r.latency_ms:.0f}",
               f"{r.detector}@{version}", r.text_sha256[:8]]
        if show_text:
            row.append("(not stored)" if r.text is None else r.text)
        table.add_row(*(escape(c) for c in row))
    console.print(table)
