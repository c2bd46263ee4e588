"""kNN hyperparameters (k × temperature) on one representation: the grid behind DEFAULT_SPEC's k and temperature.

Each cell fits ``knn`` on the training pool's train split and reports the validation split's AUPRC and
max-F1 threshold (``fit_and_validate``, as ``harmscope fit``; the pick is the best validation AUPRC) next
to the AUPRC on the dev suite's two-class sets (a report only: nothing here is chosen on them).

    .venv/bin/python benchmarks/knn_grid.py --k 5,10,20,40,80,160 --temperature 0.01,0.02,0.05,0.1
    .venv/bin/python benchmarks/knn_grid.py --representation minilm --json

Embeddings come from the cache once the pool and the dev sets were encoded (`harmscope fit`,
`harmscope bench --suite dev`), so a cell costs a fit's leave-one-out search: seconds to a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--representation", default="minilm-safety-int8")
    parser.add_argument("--k", default="10,20,40,80", help="comma-separated k values")
    parser.add_argument("--temperature", default="0.02,0.05", help="comma-separated softmax temperatures")
    parser.add_argument("--json", action="store_true", help="one JSON object per cell instead of the table")
    args = parser.parse_args(argv)

    from harmscope.data import build_pool
    from harmscope.detectors import fit_and_validate  # type: ignore[attr-defined,unused-ignore]
    from harmscope.evaluation import evaluate_sets
    from harmscope.evaluation_suites import get_suite, load_entry

    pool = build_pool()
    two_class = [load_entry(e) for e in get_suite("dev") if e.role == "two-class"]
    names = [s.name for s in two_class]
    if not args.json:
        print("| k | temperature | val AUPRC | val F1 (thr) | " + " | ".join(f"{n} AUPRC" for n in names) + " | mean |")
        print("|" + "---|" * (5 + len(names)))
    for k in (int(x) for x in args.k.split(",")):
        for t in (float(x) for x in args.temperature.split(",")):
            spec = {"type": "knn", "params": {"representation": args.representation, "k": k, "temperature": t}}
            fitted = fit_and_validate(spec, pool=pool)  # threshold and figures from the validation split
            v = fitted.validation
            dev_ap = {r.name: float(r.auprc or 0.0) for r in evaluate_sets(fitted.detector, two_class).datasets}
            mean = sum(dev_ap.values()) / len(dev_ap)
            cell: dict[str, Any] = {"k": k, "temperature": t, "val_auprc": v.auprc, "val_f1": v.f1,
                                    "threshold": v.threshold, "dev_auprc": dev_ap, "dev_mean_auprc": mean}
            if args.json:
                print(json.dumps(cell), flush=True)
            else:
                print(f"| {k} | {t:g} | {v.auprc:.3f} | {v.f1:.3f} ({v.threshold:.3f}) | "
                      + " | ".join(f"{dev_ap[n]:.3f}" for n in names) + f" | {mean:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
