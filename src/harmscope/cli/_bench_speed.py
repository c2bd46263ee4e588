"""`harmscope bench-speed`: batch throughput, single-prompt latency and peak memory per detector, each in a
fresh process, side by side with baseline scorers; plus the start time of `harmscope --help`.

Only stdlib at top level (harmscope.speed imports nothing heavy either; the children load the models).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_DETECTOR_HELP = ("a detector to time (repeat for several; the first one is the guard the targets apply "
                  "to): 'default' (the fitted default; the default), a folder written by detector.save(), a "
                  "detector type or JSON spec (fitted on a pool sample for the run, kept in the cache), a "
                  "baseline name (mpnet-knn, smollm2-probe, nanoguard, prompt-guardrail) or baseline:NAME")

TARGETS = {"p50_ms": 10.0, "p99_ms": 25.0, "prompts_per_s": 300.0, "serve_peak_rss_mb": 1536.0, "cli_help_s": 0.5}
"""The issue's targets for the default guard on a 2-core CPU."""


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench-speed", help="time detectors: prompts/s (batch), p50/p99 single-prompt latency, peak memory",
        description="Time each detector in its own fresh process: load, warm-up, single-prompt latency (one "
        "new text per call), batch throughput (batches of --batch-size), peak RSS. The embedding cache is "
        "off. Baselines (mpnet kNN, SmolLM2 probe, nanoguard, prompt-guardrail) are timed too unless "
        "--no-baselines. Also times `harmscope --help`. See docs/speed.md.")
    p.add_argument("--detector", action="append", metavar="SPEC", help=_DETECTOR_HELP)
    p.add_argument("--baselines", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the baseline scorers (default: yes)")
    p.add_argument("--dataset", metavar="NAME", default=None,
                   help="time a registered dataset's texts instead of the built-in prompts")
    p.add_argument("--batch", type=int, default=1000, metavar="N", help="prompts timed in batches (default 1000)")
    p.add_argument("--single", type=int, default=200, metavar="N",
                   help="single-prompt calls timed for p50/p99 (default 200)")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="prompts per batch call (default 64)")
    p.add_argument("--budget", type=float, default=60.0, metavar="S",
                   help="stop each timed phase after S seconds (slow scorers time fewer prompts; default 60)")
    p.add_argument("--call", choices=("explain", "score"), default="explain",
                   help="what a detector runs: explain (score, category, neighbours: what the guard and the "
                   "service run; default) or score (predict_proba only)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch/BLAS/onnxruntime threads in each child (default: the libraries' own choice)")
    p.add_argument("--fit-limit", type=int, default=1000, metavar="N",
                   help="pool examples a spec detector is fitted on for the run (default 1000)")
    p.add_argument("--refit", action="store_true", help="refit spec detectors instead of reusing the cached fit")
    p.add_argument("--serve", action="store_true",
                   help="also measure the peak RSS of `harmscope serve` with the first detector (default/folder)")
    p.add_argument("--no-help-time", dest="help_time", action="store_false",
                   help="skip timing `harmscope --help`")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_bench_speed)


def _bench_speed(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError
    from harmscope.speed import BASELINES, SpeedOptions, parse_subject, run_speed_bench
    from harmscope.speed._prompts import dataset_texts, speed_texts

    for name in ("batch", "single", "batch_size"):
        if getattr(args, name) < 1:
            raise HarmscopeError(f"--{name.replace('_', '-')} must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise HarmscopeError("--threads must be at least 1")
    subjects = [parse_subject(s) for s in (args.detector or ["default"])]
    if args.baselines:
        subjects += [b for b in BASELINES if b.name not in {s.name for s in subjects}]
    names = [s.name for s in subjects]
    if len(set(names)) != len(names):
        raise HarmscopeError(f"--detector names a detector twice ({', '.join(names)})")
    needed = args.batch_size + args.single + args.batch
    texts = dataset_texts(args.dataset, needed) if args.dataset else speed_texts(needed)
    options = SpeedOptions(batch_size=args.batch_size, n_batch=args.batch, n_single=args.single,
                           budget_s=args.budget, call=args.call, threads=args.threads, fit_limit=args.fit_limit,
                           refit=args.refit)
    serve_rss = None
    if args.serve:
        first = subjects[0]
        if first.kind != "detector" or first.target.lstrip().startswith("{"):
            raise HarmscopeError("--serve needs the first --detector to be 'default' or a saved folder")
        from harmscope.speed._serve import serve_peak_rss

        def serve_rss() -> float | None:
            print("bench-speed: harmscope serve ...", file=sys.stderr)
            try:
                return serve_peak_rss(first.target, texts[:64], threads=args.threads)
            except HarmscopeError as error:
                print(f"harmscope: warning: serve memory not measured: {error}", file=sys.stderr)
                return None

    def started(subject: Any) -> None:
        print(f"bench-speed: {subject.name} ...", file=sys.stderr)

    report = run_speed_bench(subjects, texts, options, texts_source=args.dataset or "built-in",
                             measure_help=args.help_time, serve_rss=serve_rss, on_start=started)
    for row in report.detectors:
        if row.error:
            print(f"harmscope: warning: {row.name}: {row.error}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        _print_table(report)
    return 0


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _print_table(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    o = report.options
    table = Table(title=f"bench-speed: {o.call}, batches of {o.batch_size}, threads "
                        f"{o.threads or 'default'}, load average {', '.join(map(str, report.load_average))}")
    for name, justify in [("detector", "left"), ("prompts/s", "right"), ("p50 ms", "right"), ("p99 ms", "right"),
                          ("peak RSS MB", "right"), ("load s", "right"), ("timed (batch/single)", "right"),
                          ("what", "left")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in report.detectors:
        what = r.description if r.error is None else f"[red]failed: {r.error}[/red]"
        name = f"[b]{r.name}[/b]" if r.name == report.default else r.name
        table.add_row(name, _fmt(r.prompts_per_s), _fmt(r.p50_ms, 2), _fmt(r.p99_ms, 2), _fmt(r.peak_rss_mb, 0),
                      _fmt(r.load_s, 2), f"{r.n_batch}/{r.n_single}", what)
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    console.print(table)
    head = next((r for r in report.detectors if r.name == report.default), None)
    checks = []
    if head is not None and head.error is None:
        for key, label, better in (("p50_ms", "p50", "≤"), ("p99_ms", "p99", "≤"), ("prompts_per_s", "batch", "≥")):
            value = getattr(head, key)
            ok = value is not None and (value <= TARGETS[key] if better == "≤" else value >= TARGETS[key])
            checks.append(f"{label} {_fmt(value, 1)} ({better} {TARGETS[key]:g}: {'ok' if ok else 'MISSED'})")
    if report.serve_peak_rss_mb is not None:
        ok = report.serve_peak_rss_mb <= TARGETS["serve_peak_rss_mb"]
        checks.append(f"serve peak RSS {report.serve_peak_rss_mb:,.0f} MB (≤ 1,536: {'ok' if ok else 'MISSED'})")
    if report.cli_help_s is not None:
        ok = report.cli_help_s < TARGETS["cli_help_s"]
        checks.append(f"`harmscope --help` {report.cli_help_s:.2f} s (< 0.5: {'ok' if ok else 'MISSED'})")
    if checks:
        console.print(f"targets for {report.default}: " + "; ".join(checks))
