"""`harmscope dna-contrast`: build and check the Safety-Contrast set for Do-Not-Answer.

- ``generate``: ask an OpenAI-compatible chat endpoint for 5 minimal safe edits per sampled prompt
  (resumable JSONL output).
- ``check``: integrity of a contrast file (ids exist, 5 distinct minimal edits, change ratios).
- ``sample``: the seeded stratified sample (ids and harm types; prompt text only with ``--show-text``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_KEY_ENV = "OPENAI_API_KEY"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "dna-contrast", help="Safety-Contrast set for Do-Not-Answer: generate, check, sample",
        description="Do-Not-Answer prompts paired with minimal safe edits (5 per prompt).")
    actions = p.add_subparsers(dest="dna_action", metavar="ACTION")
    p.set_defaults(func=lambda args: _usage(p))

    g = actions.add_parser("generate", help="write safe minimal edits with an OpenAI-compatible chat endpoint",
                           description="Resumable: prompts already in --out are skipped.")
    g.add_argument("--base-url", required=True, help="endpoint base URL, e.g. http://localhost:8000/v1")
    g.add_argument("--model", required=True, help="model name sent to the endpoint")
    g.add_argument("--api-key-env", default=None, metavar="VAR",
                   help=f"environment variable holding the API key (default {DEFAULT_KEY_ENV}; none if unset)")
    g.add_argument("--per-type", type=_positive, default=10, help="prompts per harm type (default 10)")
    g.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    g.add_argument("--out", type=Path, default=None,
                   help="output JSONL (default dna_contrast_<model>_s<seed>.jsonl in the current folder)")
    g.add_argument("--concurrency", type=_positive, default=4, help="requests in flight (default 4)")
    g.add_argument("--max-attempts", type=_positive, default=3, help="tries per prompt (default 3)")
    g.add_argument("--max-change", type=float, default=None,
                   help="largest word-level change ratio accepted per edit (default 0.6)")
    g.add_argument("--temperature", type=float, default=0.7)
    g.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    g.add_argument("--retry-wait", type=float, default=1.0,
                   help="seconds before a retry, times the attempt number (default 1)")
    g.add_argument("--limit", type=_positive, default=None, help="stop after this many prompts (trial run)")
    g.set_defaults(func=_generate)

    c = actions.add_parser("check", help="integrity figures of a contrast file")
    c.add_argument("--file", type=Path, default=None, help="contrast JSONL (default: the shipped set)")
    c.add_argument("--max-change", type=float, default=None, help="flag edits above this ratio (default 0.6)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(func=_check)

    s = actions.add_parser("sample", help="list the seeded stratified Do-Not-Answer sample")
    s.add_argument("--per-type", type=_positive, default=10)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--show-text", action="store_true", help="also print the (unsafe) prompt text")
    s.set_defaults(func=_sample)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _generate(args: argparse.Namespace) -> int:
    from harmscope.data.dna_contrast import MAX_CHANGE_RATIO, generate
    from harmscope.errors import HarmscopeError

    key_env = args.api_key_env or DEFAULT_KEY_ENV
    api_key = os.environ.get(key_env) or None
    if args.api_key_env and api_key is None:
        raise HarmscopeError(f"--api-key-env {key_env}: that environment variable is not set; export it or "
                             "leave the option out for endpoints without a key")
    out = args.out or Path(f"dna_contrast_{re.sub(r'[^A-Za-z0-9._-]+', '_', args.model)}_s{args.seed}.jsonl")
    report = generate(
        base_url=args.base_url, model=args.model, out=out, api_key=api_key, per_type=args.per_type,
        seed=args.seed, concurrency=args.concurrency, max_attempts=args.max_attempts,
        max_change=args.max_change if args.max_change is not None else MAX_CHANGE_RATIO,
        temperature=args.temperature, timeout=args.timeout, retry_wait=args.retry_wait,
        limit=args.limit,
    )
    if report.repaired_tail:
        print(f"note: removed a half-written last line from {out} (interrupted run)", file=sys.stderr)
    print(f"{out}: {report.planned} prompts planned, {report.skipped} already done, "
          f"{report.written} written, {len(report.failed)} failed")
    for dna_id, reason in sorted(report.failed.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
        print(f"  failed dna_id={dna_id}: {reason}", file=sys.stderr)
    if report.failed:
        print("re-run the same command to retry the failed prompts", file=sys.stderr)
    return 1 if report.failed else 0


def _check(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from harmscope.data.dna_contrast import MAX_CHANGE_RATIO, check

    limit = args.max_change if args.max_change is not None else MAX_CHANGE_RATIO
    report = check(args.file, limit)
    if args.json:
        print(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
        return 0 if report.ok else 1
    print(f"prompts {report.prompts}, edits {report.edits}")
    for harm, n in report.per_type.items():
        print(f"  {n:4d}  {harm}")
    print(f"word-level change ratio: median {report.median_change_ratio:.3f}, max {report.max_change_ratio:.3f} "
          f"(limit {limit})")
    for issue in report.issues:
        where = "row" if issue.edit_index is None else f"edit {issue.edit_index + 1}"
        print(f"  dna_id={issue.dna_id} {where}: {issue.problem}")
    print("ok" if report.ok else f"{len(report.issues)} problem(s)")
    return 0 if report.ok else 1


def _sample(args: argparse.Namespace) -> int:
    from harmscope.data.dna_contrast import dna_records, sample_dna

    for record in sample_dna(dna_records(), args.per_type, args.seed):
        line = f"{record.id}\t{record.category}"
        print(f"{line}\t{record.text.strip()}" if args.show_text else line)
    return 0
