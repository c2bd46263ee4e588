"""`harmscope data pool`: build (or read from the cache) the deduplicated training pool and print its
summary: counts per source and label, and how many rows each rule removed. Never prints prompt text;
``--out DIR`` writes the examples themselves to files.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "data", help="training data: build the deduplicated train/validation pool",
        description="Training data built from the shared data folder (see docs/training-data.md).",
    )

    def _help(args: argparse.Namespace) -> int:
        p.print_help()
        return 0

    p.set_defaults(func=_help)
    inner = p.add_subparsers(dest="data_command", metavar="{pool}")
    pool = inner.add_parser(
        "pool", help="build the training pool and print counts per source and label",
        description="Load every training source, drop evaluation prompts and their near-duplicates, "
        "deduplicate, split train/validation with a seed, and print the summary (cached on disk).",
    )
    pool.add_argument("--json", action="store_true", help="print the summary as JSON")
    pool.add_argument("--out", metavar="DIR", default=None,
                      help="also write train.jsonl, val.jsonl and summary.json to DIR")
    pool.add_argument("--seed", type=int, default=0, help="seed of the caps and the split (default 0)")
    pool.add_argument("--val-frac", type=float, default=0.15, help="validation fraction (default 0.15)")
    pool.add_argument("--near-dup-threshold", type=float, default=0.9,
                      help="cosine at or above which texts are near-duplicates (default 0.9)")
    pool.add_argument("--encoder", default="minilm", help="encoder for near-duplicate search (default minilm)")
    pool.add_argument("--exclude", metavar="NAME:PATH", action="append", default=[],
                      help="another held-out set, e.g. wildguardtest:wgt.parquet (repeatable)")
    pool.add_argument("--no-cache", action="store_true", help="rebuild even if a cached pool exists")
    pool.set_defaults(func=_pool)


def _pool(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harmscope.data import PoolConfig, build_pool
    from harmscope.data._pool import write_jsonl

    config = PoolConfig(seed=args.seed, val_frac=args.val_frac, near_dup_threshold=args.near_dup_threshold,
                        encoder=args.encoder, extra_eval=tuple(args.exclude))
    pool = build_pool(config, use_cache=not args.no_cache)
    summary = pool.summary.to_dict()
    if args.out:
        out = Path(args.out).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(pool.train, out / "train.jsonl")
        write_jsonl(pool.val, out / "val.jsonl")
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        print()
        return 0
    _print_table(summary)
    if args.out:
        print(f"wrote {len(pool.train)} train and {len(pool.val)} validation examples to {args.out}")
    return 0


def _print_table(summary: dict[str, Any]) -> None:
    rows = summary["per_source"]
    width = max([len(n) for n in rows] + [len("source")])
    print(f"{'source':<{width}}  {'loaded':>7}  {'trainU':>7}  {'trainB':>7}  {'valU':>6}  {'valB':>6}  removed")
    for name, c in rows.items():
        removed = ", ".join(f"{k} {v}" for k, v in c["removed"].items())
        print(f"{name:<{width}}  {c['candidates']:>7}  {c['train_unsafe']:>7}  {c['train_safe']:>7}  "
              f"{c['val_unsafe']:>6}  {c['val_safe']:>6}  {removed}")
    t = summary["totals"]
    print(f"{'total':<{width}}  {t.get('candidates', 0):>7}  {t.get('train_unsafe', 0):>7}  "
          f"{t.get('train_safe', 0):>7}  {t.get('val_unsafe', 0):>6}  {t.get('val_safe', 0):>6}")
    print("removed: " + ", ".join(f"{k} {v}" for k, v in summary["removed"].items()))
    print("unsafe per category: " + ", ".join(f"{k} {v}" for k, v in summary["categories"].items()))
    print(f"held out: {len(summary['eval_rows'])} sets, {summary['n_eval_rows']} rows; "
          f"encoder {summary['encoder_id']}; cache key {summary['cache_key'] or '(not cached)'}")
