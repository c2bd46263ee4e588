"""`harmscope encoders` (list encoder ids, their width and whether they are installed) and
`harmscope encode` (turn texts into vectors: print a summary or save a .npy).

Only stdlib at top level; encoders and numpy are imported when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PREVIEW_ROWS = 5
PREVIEW_VALUES = 6


def register(sub: Any) -> None:
    listing: argparse.ArgumentParser = sub.add_parser(
        "encoders", help="list encoder ids, their vector width and whether their package is installed"
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    listing.set_defaults(func=run_list)

    encode: argparse.ArgumentParser = sub.add_parser(
        "encode", help="encode texts with an encoder; print a summary or save the vectors as .npy"
    )
    encode.add_argument("texts", nargs="*", metavar="TEXT", help="texts to encode (or use --input)")
    encode.add_argument("--encoder", "-e", required=True, help="encoder id (see `harmscope encoders`)")
    encode.add_argument("--input", "-i", type=Path, help="UTF-8 text file, one text per line (blank lines skipped)")
    encode.add_argument("--output", "-o", type=Path, help="save the (n, dim) float32 array to this .npy file")
    encode.add_argument("--base-url", help="for openai:<model>: API root, e.g. http://localhost:8000/v1")
    encode.add_argument("--batch-size", type=int, help="texts per forward pass / request")
    encode.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    encode.set_defaults(func=run_encode)

    tune: argparse.ArgumentParser = sub.add_parser(
        "finetune", help="fine-tune an encoder contrastively on the training pool; the result becomes "
                         "'minilm-safety' (or --encoder mpnet-safety)"
    )
    tune.add_argument("--encoder", default="minilm-safety",
                      help="which fine-tuned encoder to build: minilm-safety (default) or mpnet-safety")
    tune.add_argument("--epochs", type=float, help="passes over the examples (default 1)")
    tune.add_argument("--max-examples", type=int,
                      help="train on at most this many pool examples, pairs first (default 9000; 0 = all)")
    tune.add_argument("--freeze-layers", type=int,
                      help="lowest transformer layers kept frozen (default 3; mpnet-safety 6)")
    tune.add_argument("--learning-rate", type=float, help="default 5e-5 (mpnet-safety 3e-5)")
    tune.add_argument("--seed", type=int, help="default 0")
    tune.add_argument("--json", action="store_true", help="print where the model is and its training figures as JSON")
    tune.set_defaults(func=run_finetune)


def run_finetune(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from harmscope.encoders.finetune import METADATA_FILE, build_safety_encoder, safety_encoder_spec

    spec = safety_encoder_spec(args.encoder)
    given = {"epochs": args.epochs, "freeze_layers": args.freeze_layers, "learning_rate": args.learning_rate,
             "seed": args.seed}
    options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if args.max_examples is not None:
        options["max_examples"] = args.max_examples or None
    folder = build_safety_encoder(spec.name, replace(spec.config, **options))
    meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    summary = {"encoder": spec.name, "folder": str(folder), **{k: meta[k] for k in
               ("key", "examples", "steps", "seconds", "final_loss")}}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{spec.name} = {folder}\n  {meta['examples']} examples, {meta['steps']} steps, "
              f"{meta['seconds']:.0f} s, final loss {meta['final_loss']:.3f}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from harmscope.encoders import list_encoders
    from harmscope.encoders._catalog import CATALOG, encoder_status

    rows: list[dict[str, Any]] = []
    for name in list_encoders():
        spec = CATALOG.get(name)
        if spec is None:
            rows.append({"id": name, "dim": None, "installed": None, "packages": [], "missing": [],
                         "summary": ""})
            continue
        status = encoder_status(spec)
        rows.append({"id": name, "dim": spec.dim, "installed": status.installed, "packages": list(spec.packages),
                     "missing": list(status.missing), "summary": spec.summary})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["id"]) for r in rows)
    print(f"{'id':<{width}}  {'dim':>4}  {'installed':<9}  description")
    for r in rows:
        dim = str(r["dim"]) if r["dim"] is not None else "-"
        installed = {True: "yes", False: "NO", None: "?"}[r["installed"]]
        note = r["summary"] + (f" [missing: {', '.join(r['missing'])}]" if r["missing"] else "")
        print(f"{r['id']:<{width}}  {dim:>4}  {installed:<9}  {note}")
    return 0


def _read_texts(args: argparse.Namespace) -> list[str]:
    from harmscope.errors import HarmscopeError

    if args.input is not None and args.texts:
        raise HarmscopeError("give texts either as arguments or with --input FILE, not both")
    if args.input is None:
        if not args.texts:
            raise HarmscopeError("nothing to encode: give TEXT arguments or --input FILE (one text per line)")
        return list(args.texts)
    path: Path = args.input
    if not path.is_file():
        raise HarmscopeError(f"--input {path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise HarmscopeError(f"--input {path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return [line for line in lines if line.strip()]


def run_encode(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError

    texts = _read_texts(args)
    options: dict[str, Any] = {}
    if args.no_cache:
        options["use_cache"] = False
    if args.batch_size is not None:
        if args.batch_size < 1:
            raise HarmscopeError("--batch-size must be at least 1")
        options["batch_size"] = args.batch_size
    if args.base_url:
        if not args.encoder.startswith("openai:"):
            raise HarmscopeError("--base-url applies only to openai:<model> encoders")
        options["base_url"] = args.base_url

    import numpy as np

    from harmscope.encoders import get_encoder

    encoder = get_encoder(args.encoder, **options)
    vectors = encoder.encode(texts)
    n, dim = vectors.shape
    if args.output is not None:
        output: Path = args.output
        if output.suffix != ".npy":
            output = output.with_name(output.name + ".npy")  # np.save would add it silently
        output.parent.mkdir(parents=True, exist_ok=True)
        np.save(output, vectors)
        print(f"saved {n} x {dim} {vectors.dtype} from {encoder.id} to {output}")
        return 0
    print(f"{encoder.id}: {n} x {dim} {vectors.dtype}")
    for i in range(min(n, PREVIEW_ROWS)):
        row = vectors[i]
        head = ", ".join(f"{v:+.4f}" for v in row[:PREVIEW_VALUES])
        print(f"[{i}] norm={float(np.linalg.norm(row)):.4f}  [{head}, ...]")
    if n > PREVIEW_ROWS:
        print(f"... {n - PREVIEW_ROWS} more rows (use --output FILE.npy to keep them)", file=sys.stderr)
    return 0
