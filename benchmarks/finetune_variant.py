"""Build a variant of the `minilm-safety` recipe (or `mpnet-safety`'s) and export it to int8 ONNX, for the dev matrix.

The registered fine-tuned encoders follow their recipe in ``SAFETY_ENCODERS``; this builds the same recipe
with some fields changed, into its own cache folder (``<cache>/models/<name>-<key>``; the registered
encoders' pointers are not touched), exports it like ``minilm-safety-int8`` and prints the encoder id to
give ``benchmarks/dev_matrix.py``:

    .venv/bin/python benchmarks/finetune_variant.py --name minilm-safety-t128 --set max_seq_length=128
    .venv/bin/python benchmarks/dev_matrix.py --detectors knn --representations onnx:<printed folder> \\
        --params '{"k": 80, "temperature": 0.02}' --out benchmarks/results/<dir>

Fine-tuning uses only the pool's train split (``finetuned_folder``), as the registered encoders do.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True, help="cache folder prefix for the variant")
    parser.add_argument("--base-recipe", default="minilm-safety", help="registered encoder whose recipe is changed")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="a FinetuneConfig field to change, value as JSON (repeatable)")
    args = parser.parse_args(argv)

    from harmscope.encoders._onnx_export import META_FILE, export_onnx
    from harmscope.encoders.finetune import SAFETY_ENCODERS, FinetuneConfig, finetuned_folder

    fields = {f.name for f in dataclasses.fields(FinetuneConfig)}
    changes = {}
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in fields:
            parser.error(f"unknown FinetuneConfig field {key!r}; known: {', '.join(sorted(fields))}")
        changes[key] = json.loads(value)
    if args.name in SAFETY_ENCODERS:
        parser.error(f"--name {args.name!r} is a registered encoder; pick another name")
    config = dataclasses.replace(SAFETY_ENCODERS[args.base_recipe].config, **changes)
    start = time.perf_counter()
    folder = finetuned_folder(config, name=args.name)
    out = Path(f"{folder}-int8")
    if not (out / META_FILE).is_file():
        export_onnx(folder, out, quantize=True)
    print(json.dumps({"config": dataclasses.asdict(config), "folder": str(folder),
                      "encoder": f"onnx:{out}", "seconds": round(time.perf_counter() - start, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
