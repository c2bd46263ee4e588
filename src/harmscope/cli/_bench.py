"""`harmscope bench`: score a fitted detector on benchmark sets or a suite; table, JSON or a report folder.

Only stdlib at import time; detectors, data, numpy, rich and matplotlib load inside the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_DETECTOR_HELP = ("the detector: 'default' (the fitted default, built by `harmscope fit`; the default), a folder "
                  "written by detector.save(), or a detector type or JSON spec (knn, probe-lr, "
                  "'{\"type\": \"knn\", \"params\": {\"k\": 5}}') to fit on the training pool first")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench", help="evaluate a detector on benchmark sets: F1/precision/recall/FPR/AUPRC per set",
        description="Score a fitted detector on labelled sets. Two-class sets report F1 (and PR curves), "
        "unsafe-only sets recall, benign-only sets the false-positive rate. See docs/benchmarks.md.")
    p.add_argument("--detector", default="default", metavar="PATH|default|SPEC", help=_DETECTOR_HELP)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", action="append", metavar="NAME[:PATH]",
                       help="a registered dataset (xstest, harmbench/standard, ...) or a path-based one "
                       "(toxicchat:FILE, wildguardtest:FILE, openai-moderation:FILE); repeat for several")
    which.add_argument("--suite", metavar="NAME", help="a named suite of sets: dev")
    p.add_argument("--task", choices=("binary", "category"), default="binary",
                   help="binary (default) or category: also macro-F1 of the predicted harm category")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="also write report.md, pr_curves.png and results.json into DIR")
    p.set_defaults(func=_bench)


def resolve_detector(spec: str) -> Any:
    """The fitted detector named by ``--detector``: ``default``, a saved folder, or a spec to fit on the pool.

    A folder wins over a detector type of the same name.
    """
    from harmscope.errors import HarmscopeError
    from harmscope.registry import DETECTORS

    if spec == "default":
        try:
            from harmscope.detectors import load_default  # type: ignore[attr-defined,unused-ignore]
        except ImportError as error:
            raise HarmscopeError("no default detector is available in this build; pass --detector FOLDER "
                                 "(a detector saved with detector.save())") from error
        return load_default()
    path = Path(spec).expanduser()
    if path.is_dir():
        from harmscope.detectors import load_detector

        return load_detector(path)
    from harmscope.cli._specs import parse_detector_spec

    parsed: Any = parse_detector_spec(spec)
    if isinstance(parsed, str) and spec not in DETECTORS:
        hint = "no such folder" if not path.exists() else "not a folder"
        raise HarmscopeError(f"--detector {spec!r}: {hint}, and not a detector type; give 'default', a folder "
                             f"written by detector.save(), or one of: {', '.join(DETECTORS.names())}")
    try:
        from harmscope.detectors import fit_on_pool  # type: ignore[attr-defined,unused-ignore]
    except ImportError as error:
        raise HarmscopeError("fitting a detector on the training pool is not available in this build; "
                             "fit and save one, then pass --detector FOLDER") from error
    print("fitting the detector on the training pool first ...", file=sys.stderr)
    return fit_on_pool(parsed)


def _bench(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError
    from harmscope.evaluation import EvalSet, evaluate_sets

    notes: dict[str, str] = {}
    if args.suite is not None:
        from harmscope.evaluation_suites import get_suite, load_entry

        entries = get_suite(args.suite)
        sets = [load_entry(e) for e in entries]
        notes = {e.name: e.note for e in entries}
    else:
        from harmscope.data import load_dataset

        names = list(dict.fromkeys(args.dataset))  # a name given twice is scored once
        sets = [EvalSet(name, load_dataset(name)) for name in names]
    detector = resolve_detector(args.detector)
    if args.task == "category" and not getattr(detector, "categories_", None):
        print("harmscope: warning: the detector was fitted without categories; category macro-F1 will be 0",
              file=sys.stderr)
    try:
        report = evaluate_sets(detector, sets, task=args.task, detector_name=args.detector)
    except ValueError as error:  # e.g. a path-based set whose file holds no labelled row
        raise HarmscopeError(str(error)) from error
    if args.report:
        from harmscope.reports._bench import write_bench_report

        title = f"Benchmark suite `{args.suite}`" if args.suite else "Benchmark"
        files = write_bench_report(report, args.report, notes=notes, title=title)
        print(f"wrote {files.report}, {files.pr_curves.name}, {files.results.name}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        _print_table(report)
    return 0


def _print_table(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    def cell(value: float | None, headline: bool) -> str:
        text = "–" if value is None else f"{value:.3f}"
        return f"[b]{text}[/b]" if headline else text

    table = Table(title=f"{report.detector} (threshold {report.threshold:.4g}); bold = headline")
    for name, justify in [("dataset", "left"), ("role", "left"), ("n", "right"), ("F1", "right"),
                          ("precision", "right"), ("recall", "right"), ("FPR", "right"), ("AUPRC", "right")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if report.task == "category":
        table.add_column("cat. macro-F1", justify="right")
    for r in report.datasets:
        head = r.headline.metric
        row = [r.name, r.role, str(r.n), cell(r.f1, head == "f1"), cell(r.precision, False),
               cell(r.recall, head == "recall"), cell(r.fpr, head == "fpr"), cell(r.auprc, False)]
        if report.task == "category":
            row.append(cell(r.category_macro_f1, False))
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # piped output: keep names whole instead of rich's 80-column default
        console.width = max(console.width, 132)
    console.print(table)
