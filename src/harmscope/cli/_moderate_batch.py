"""`harmscope moderate-batch`: score every prompt of a jsonl, csv or parquet file into a jsonl file or a
parquet folder, streaming, resumable, with a bad-row report; locally or on Ray (see docs/batch.md).

Only stdlib at top level. Prompt text is never printed: the summary holds counts, the error report holds
row, line, id and reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_DETECTOR_HELP = ("the detector: 'default' (built by `harmscope fit`; the default), a folder written by "
                  "detector.save(), or a detector type or JSON spec to fit on the training pool first")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "moderate-batch", help="score a file of prompts (jsonl/csv/parquet) into jsonl or parquet, resumably",
        description="Score every record of --input with a detector and write id, row, score, flagged, "
        "category and category_scores per record to --output (a .jsonl file or a .parquet folder of parts). "
        "Bad records go to OUTPUT.errors.jsonl with their row and line. A rerun with the same input, detector "
        "and options resumes after the last committed chunk; a finished output is left as it is. "
        "See docs/batch.md.")
    p.add_argument("--input", required=True, metavar="FILE", help="prompts: .jsonl, .csv (with a header) or "
                   ".parquet")
    p.add_argument("--output", required=True, metavar="PATH", help="results: .jsonl file or .parquet folder")
    p.add_argument("--detector", default="default", metavar="PATH|default|SPEC", help=_DETECTOR_HELP)
    p.add_argument("--text-field", default="text", metavar="F", help="field/column with the prompt (default text)")
    p.add_argument("--id-field", default=None, metavar="F",
                   help="field/column with the row id, required on every row when given (default: 'id' where "
                   "present, else the row number)")
    p.add_argument("--input-format", choices=("auto", "jsonl", "csv", "parquet"), default="auto",
                   help="default: from the --input suffix")
    p.add_argument("--output-format", choices=("auto", "jsonl", "parquet"), default="auto",
                   help="default: from the --output suffix")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (default): this process; ray: Ray Data with one detector per actor")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="with --engine ray: join this Ray cluster (e.g. ray://head:10001 or auto) instead of "
                   "starting a local one")
    p.add_argument("--ray-workers", type=int, default=None, metavar="N",
                   help="with --engine ray: scoring actors (default: the cluster's CPUs)")
    p.add_argument("--chunk-size", type=int, default=1000, metavar="N",
                   help="rows scored at once (default 1000); memory grows with it; a resumed run needs the "
                   "same value")
    p.add_argument("--top-categories", type=int, default=3, metavar="N",
                   help="category scores kept per row, highest first (default 3; 0 = none)")
    p.add_argument("--embedding-cache", action="store_true",
                   help="read and write the SQLite embedding cache (off by default: for unique prompts it only "
                   "costs time and ~1.5 KB of disk per prompt)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete an existing output (and its checkpoint and error report) and start over")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run_moderate_batch)


def run_moderate_batch(args: argparse.Namespace) -> int:
    from harmscope.batch import moderate_batch
    from harmscope.errors import HarmscopeError

    if args.ray_workers is not None and args.engine != "ray":
        raise HarmscopeError("--ray-workers only applies with --engine ray")
    summary = moderate_batch(
        args.input, args.output, detector=args.detector, text_field=args.text_field, id_field=args.id_field,
        input_format_name=args.input_format, output_format_name=args.output_format, chunk_size=args.chunk_size,
        top_categories=args.top_categories, engine=args.engine, ray_address=args.ray_address,
        ray_workers=args.ray_workers, overwrite=args.overwrite, embedding_cache=args.embedding_cache,
    )
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
        return 0
    s = summary
    state = "complete" if s.complete else "incomplete"
    if s.new_rows == 0 and s.resumed_from:
        print(f"{s.output}: already {state} ({s.rows} rows); nothing to do")
    else:
        resumed = f", resumed after row {s.resumed_from}" if s.resumed_from else ""
        print(f"{s.output}: {state}: {s.new_rows} rows in {s.seconds:.1f} s ({s.rows_per_second:.1f} rows/s, "
              f"{s.engine}{resumed})")
    threshold = "?" if s.threshold is None else f"{s.threshold:.3g}"
    print(f"  scored {s.scored}, flagged {s.flagged} (threshold {threshold}, detector {s.detector}), bad {s.bad}")
    if s.bad:
        print(f"  bad rows (row, line, reason): {s.errors_file}", file=sys.stderr)
    return 0
