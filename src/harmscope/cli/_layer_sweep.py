"""`harmscope layer-sweep`: validation F1 of a detector on each hidden layer of a small LM (table + PNG).

Only stdlib at top level; the LM, scikit-learn and matplotlib load when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "layer-sweep", help="validation F1 of a detector on every hidden layer of a small LM (table + PNG)",
        description="Fit the detector on each layer's hidden states of a capped, seeded sample of the training "
        "pool's train split and score the pool's validation split. Each text passes the LM once.",
    )
    p.add_argument("--lm", default="smollm2-135m", help="hidden-state LM (default smollm2-135m)")
    p.add_argument("--detector", default="probe-lr", metavar="SPEC",
                   help="detector type or JSON spec fitted per layer (default probe-lr)")
    p.add_argument("--layers", default="all", help="'all' (default) or comma-separated indices, e.g. 0,4,8,-1")
    p.add_argument("--pooling", choices=("last", "mean"), default="last",
                   help="last-token state (default) or mean over the prompt's tokens")
    p.add_argument("--chat", action="store_true", help="wrap each prompt in the LM's chat template first")
    p.add_argument("--max-train", type=int, default=None, metavar="N",
                   help="training texts sampled from the pool (default 1200)")
    p.add_argument("--max-val", type=int, default=None, metavar="N",
                   help="validation texts sampled from the pool (default 600)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write layer_sweep.json and layer_sweep.png here (default: cache_dir/layer-sweep/...)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout instead of a table")
    p.set_defaults(func=run_layer_sweep)


def parse_layers(text: str) -> list[int] | None:
    """``all`` -> None; ``0,4,-1`` -> [0, 4, -1]; HarmscopeError otherwise."""
    from harmscope.errors import HarmscopeError

    if text.strip().lower() == "all":
        return None
    try:
        layers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HarmscopeError(f"--layers {text!r}: give 'all' or comma-separated integers such as 0,4,8") from None
    if not layers:
        raise HarmscopeError("--layers is empty; give 'all' or comma-separated integers such as 0,4,8")
    return layers


def _detector_spec(text: str) -> Any:
    from harmscope.cli._specs import parse_detector_spec

    return parse_detector_spec(text)


def format_table(result: Any) -> str:
    """Plain-text table: one line per layer, the best layer marked."""
    best = result.best.layer
    lines = [f"{'layer':>5}  {'F1':>6}  {'prec':>6}  {'recall':>6}  {'bestF1':>6}  {'AUPRC':>6}"]
    for s in result.scores:
        auprc = "-" if s.auprc is None else f"{s.auprc:.3f}"
        mark = "  <- best" if s.layer == best else ""
        lines.append(f"{s.layer:>5}  {s.f1:6.3f}  {s.precision:6.3f}  {s.recall:6.3f}  {s.best_f1:6.3f}  "
                     f"{auprc:>6}{mark}")
    return "\n".join(lines)


def run_layer_sweep(args: argparse.Namespace) -> int:
    from harmscope._paths import cache_dir
    from harmscope.analysis._layer_sweep import DEFAULT_MAX_TRAIN, DEFAULT_MAX_VAL, layer_sweep
    from harmscope.encoders._lm import lm_spec

    lm_spec(args.lm)  # unknown LM: fail before building the pool
    layers = parse_layers(args.layers)
    spec = _detector_spec(args.detector)
    max_train = DEFAULT_MAX_TRAIN if args.max_train is None else args.max_train
    max_val = DEFAULT_MAX_VAL if args.max_val is None else args.max_val
    print(f"harmscope layer-sweep: {args.lm} ({args.pooling}{', chat' if args.chat else ''}), "
          f"{max_train} train / {max_val} validation texts from the training pool ...", file=sys.stderr, flush=True)
    result = layer_sweep(args.lm, detector=spec, layers=layers, pooling=args.pooling, chat=args.chat,
                         max_train=max_train, max_val=max_val, seed=args.seed)
    tag = f"{args.lm}-{args.pooling}" + ("-chat" if args.chat else "")
    out: Path = args.out if args.out is not None else cache_dir("layer-sweep", tag)
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    (out / "layer_sweep.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    png = result.save_png(out / "layer_sweep.png")
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_table(result))
        print(f"\n{result.n_train} train ({result.n_train_unsafe} unsafe), {result.n_val} validation "
              f"({result.n_val_unsafe} unsafe); hidden states {result.feature_seconds:.0f}s, "
              f"fits {result.fit_seconds:.0f}s")
    print(f"harmscope layer-sweep: wrote {out / 'layer_sweep.json'} and {png}", file=sys.stderr)
    return 0
