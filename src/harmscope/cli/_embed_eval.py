"""`harmscope embed-eval`: the Safe-Embed tasks (avg-sim, challenging, taxonomy, contrast, report).

Only stdlib at import time; the analysis code, encoders and rich load inside the command functions.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_CONTRAST_SETS = ("xstest_aug", "jbb", "physical_safety", "dna-contrast")
_AVG_SIM_HELP = ("normalisation constant: 'compute' (default; mean cosine of random BeaverTails prompt pairs, "
                 "cached), 'paper' (the paper's published value for this encoder) or a number such as 0.092")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "embed-eval", help="Safe-Embed tasks: how well an encoder separates unsafe from safe prompts",
        description="Safe-Embed evaluation tasks (Kim et al. 2024, arXiv 2407.06851). See docs/safe-embed.md.")
    p.set_defaults(func=lambda args: _print_help(p))
    tasks = p.add_subparsers(dest="task", metavar="TASK")

    a = tasks.add_parser("avg-sim", help="compute an encoder's normalisation constant (mean cosine of unrelated "
                         "prompts) with its standard error")
    _encoder_arg(a)
    a.add_argument("--seed", type=int, default=0, help="seed of the prompt and pair sample (default 0)")
    a.add_argument("--n-prompts", type=int, default=None,
                   help="prompts to sample, half bad and half good (default 2400: two halves of 1200)")
    a.add_argument("--no-cache", action="store_true", help="recompute even if a cached value exists")
    _json_arg(a)
    a.set_defaults(func=_avg_sim)

    c = tasks.add_parser("challenging", help="Safety-Challenging: unsafe vs safe look-alike on XSTest-aug, "
                         "per type")
    _encoder_arg(c)
    _avg_sim_arg(c)
    _json_arg(c, "print one JSON object {type: value}")
    c.set_defaults(func=_challenging)

    t = tasks.add_parser("taxonomy", help="Safety-Taxonomy: Categorical Purity on Do-Not-Answer's harm types")
    _encoder_arg(t)
    t.add_argument("--k", type=int, default=10, help="neighbours per prompt (default 10, as in the paper)")
    t.add_argument("--plot", metavar="OUT.png", default=None, help="also write a t-SNE scatter coloured by type")
    t.add_argument("--seed", type=int, default=0, help="t-SNE seed (default 0)")
    _json_arg(t)
    t.set_defaults(func=_taxonomy)

    s = tasks.add_parser("contrast", help="Safety-Contrast: max similarity of each unsafe prompt to its safe "
                         "contrasts")
    _encoder_arg(s)
    s.add_argument("--set", dest="set_name", choices=_CONTRAST_SETS, default="xstest_aug",
                   help="which paired set (default xstest_aug; dna-contrast is the paper's setting)")
    _avg_sim_arg(s)
    _json_arg(s)
    s.set_defaults(func=_contrast)

    r = tasks.add_parser("report", help="run every task for several encoders; write report.md, PNGs and "
                         "results.json")
    r.add_argument("--encoders", required=True, help="comma-separated encoder names, e.g. minilm,mpnet")
    r.add_argument("--out", required=True, help="output folder (created if missing)")
    r.add_argument("--avg-sim", default="compute",
                   help=_AVG_SIM_HELP + "; also 'prefer-paper' (published where it exists, else computed)")
    r.add_argument("--k", type=int, default=10, help="CP neighbours (default 10)")
    r.add_argument("--sets", default=",".join(_CONTRAST_SETS),
                   help=f"contrast sets, comma-separated (default all: {','.join(_CONTRAST_SETS)})")
    r.add_argument("--seed", type=int, default=0, help="seed for avg-sim sampling and t-SNE (default 0)")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    r.set_defaults(func=_report)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _encoder_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encoder", required=True, help="encoder name (minilm, mpnet, minilm-int8, paraphrase-l3, "
                   "e5-small, st:<path>, ...; see `harmscope encoders`)")


def _avg_sim_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--avg-sim", default=None, metavar="X", help=_AVG_SIM_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed used when the constant is computed (default 0)")


def _json_arg(p: argparse.ArgumentParser, text: str = "print JSON instead of a table") -> None:
    p.add_argument("--json", action="store_true", help=text)


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _console() -> Any:
    from rich.console import Console

    return Console()


def _avg_sim_line(avg: Any) -> str:
    if avg.source == "computed":
        return f"avg sim {avg.value:.4f} ± {avg.stderr:.4f} (computed, seed {avg.seed}, {avg.n_pairs} pairs)"
    return f"avg sim {avg.value:.3f} ({avg.source})"


# ---- commands -------------------------------------------------------------------------------------------


def _avg_sim(args: argparse.Namespace) -> int:
    from harmscope.analysis import DEFAULT_AVG_SIM_PROMPTS, compute_avg_sim
    from harmscope.encoders import get_encoder

    result = compute_avg_sim(get_encoder(args.encoder), seed=args.seed,
                             n_prompts=args.n_prompts or DEFAULT_AVG_SIM_PROMPTS, use_cache=not args.no_cache)
    if args.json:
        _emit_json({**result.to_json(), "encoder": args.encoder, "encoder_id": result.encoder})
    else:
        print(f"{args.encoder}: {result.value:.4f} ± {result.stderr:.4f} (standard error; seed {result.seed}, "
              f"{result.n_prompts} BeaverTails prompts, {result.n_pairs} pairs)")
    return 0


def _challenging(args: argparse.Namespace) -> int:
    from harmscope.analysis import resolve_avg_sim, run_challenging
    from harmscope.encoders import get_encoder

    encoder = get_encoder(args.encoder)
    avg = resolve_avg_sim(args.avg_sim, encoder_name=args.encoder, encoder=encoder, seed=args.seed)
    result = run_challenging(encoder, avg_sim=avg)
    if args.json:
        _emit_json(result.per_type)
        return 0
    from rich.table import Table

    table = Table(title=f"Safety-Challenging: {args.encoder} ({_avg_sim_line(avg)})")
    table.add_column("XSTest type")
    table.add_column("pairs", justify="right")
    table.add_column("norm. cosine", justify="right")
    for name, value in result.per_type.items():
        table.add_row(name, str(result.counts[name]), f"{value:.3f}")
    table.add_row("[b]all pairs[/b]", str(sum(result.counts.values())), f"[b]{result.overall:.3f}[/b]")
    _console().print(table)
    return 0


def _taxonomy(args: argparse.Namespace) -> int:
    from harmscope.analysis import EmbeddingScatterDisplay, run_taxonomy
    from harmscope.encoders import get_encoder

    result = run_taxonomy(get_encoder(args.encoder), k=args.k)
    if args.plot:
        display = EmbeddingScatterDisplay.from_embeddings(
            result.embeddings, result.categories, random_state=args.seed,
            title=f"Do-Not-Answer harm types, t-SNE of {args.encoder} embeddings")
        display.figure_.savefig(args.plot, dpi=110)
    p = result.purity
    if args.json:
        _emit_json({"per_category": dict(p.per_category), "macro": p.macro, "micro": p.micro, "k": p.k})
        return 0
    from rich.table import Table

    table = Table(title=f"Safety-Taxonomy: {args.encoder}, Categorical Purity @ {p.k}")
    table.add_column("harm type")
    table.add_column("prompts", justify="right")
    table.add_column("CP", justify="right")
    for name, value in p.per_category.items():
        table.add_row(name, str(p.counts[name]), f"{value:.3f}")
    table.add_row("[b]macro[/b]", "", f"[b]{p.macro:.3f}[/b]")
    table.add_row("[b]micro[/b]", str(sum(p.counts.values())), f"[b]{p.micro:.3f}[/b]")
    console = _console()
    console.print(table)
    if args.plot:
        console.print(f"t-SNE plot written to {args.plot}")
    return 0


def _contrast(args: argparse.Namespace) -> int:
    from harmscope.analysis import resolve_avg_sim, run_contrast
    from harmscope.encoders import get_encoder

    encoder = get_encoder(args.encoder)
    avg = resolve_avg_sim(args.avg_sim, encoder_name=args.encoder, encoder=encoder, seed=args.seed)
    result = run_contrast(encoder, set_name=args.set_name, avg_sim=avg)
    if args.json:
        _emit_json({"set": result.set, "overall": result.overall, "per_category": result.per_category,
                    "n": result.n})
        return 0
    from rich.table import Table

    table = Table(title=f"Safety-Contrast on {result.set}: {args.encoder} ({_avg_sim_line(avg)})")
    table.add_column("category")
    table.add_column("max norm. cosine", justify="right")
    for name, value in result.per_category.items():
        table.add_row(name, f"{value:.3f}")
    table.add_row(f"[b]all ({result.n} unsafe, {result.n_contrasts} contrasts)[/b]", f"[b]{result.overall:.3f}[/b]")
    _console().print(table)
    return 0


def _report(args: argparse.Namespace) -> int:
    from harmscope.reports import run_safe_embed_report

    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    report = run_safe_embed_report(encoders, args.out, avg_sim=args.avg_sim, k=args.k, seed=args.seed,
                                   contrast_sets=sets, plots=not args.no_plots)
    print(f"wrote {', '.join(report.files)} to {args.out}")
    return 0
