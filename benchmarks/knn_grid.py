"""kNN hyperparameters (k × temperature) on one representation: the grid behind DEFAULT_SPEC's k and temperature.

Each cell fits ``knn`` on the training pool's train split and reports the validation split's AUPRC and
max-F1 threshold (the selection figures: the pick is the best validation AUPRC) next to the AUPRC on the
five dev-suite two-class sets (a report only: nothing here is chosen on them).

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

TWO_CLASS = ("xstest", "jbb_behaviors", "do_not_answer_fp_fn", "coconot_contrast_vs_safety", "physical_safety")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--representation", default="minilm-safety-int8")
    parser.add_argument("--k", default="10,20,40,80", help="comma-separated k values")
    parser.add_argument("--temperature", default="0.02,0.05", help="comma-separated softmax temperatures")
    parser.add_argument("--json", action="store_true", help="one JSON object per cell instead of the table")
    args = parser.parse_args(argv)

    import numpy as np
    from sklearn.metrics import average_precision_score

    from harmscope.data import build_pool
    from harmscope.detectors import build_detector
    from harmscope.detectors._threshold import select_threshold
    from harmscope.evaluation_suites import get_suite, load_entry

    pool = build_pool()
    train = [e.text for e in pool.train]
    y_train = [int(e.y) for e in pool.train]
    categories = [e.category for e in pool.train]
    val = [e.text for e in pool.val]
    y_val = np.array([int(e.y) for e in pool.val])
    dev = {s.name: s for s in (load_entry(e) for e in get_suite("dev")) if s.name in TWO_CLASS}
    if not args.json:
        print("| k | temperature | val AUPRC | val F1 (thr) | " + " | ".join(f"{n} AUPRC" for n in TWO_CLASS)
              + " | mean |")
        print("|" + "---|" * (5 + len(TWO_CLASS)))
    for k in (int(x) for x in args.k.split(",")):
        for t in (float(x) for x in args.temperature.split(",")):
            det = build_detector({"type": "knn", "params": {"representation": args.representation, "k": k,
                                                            "temperature": t}})
            det.fit(train, y_train, categories=categories)
            scores = det.score(val)
            choice = select_threshold(y_val, scores)
            dev_ap: dict[str, float] = {}
            for name in TWO_CLASS:
                s = dev[name]
                y = np.array([1 if r.label == "unsafe" else 0 for r in s.records])
                dev_ap[name] = float(average_precision_score(y, det.score([r.text for r in s.records])))
            cell: dict[str, Any] = {"k": k, "temperature": t, "val_auprc": float(average_precision_score(y_val, scores)),
                                    "val_f1": choice.f1, "threshold": choice.threshold, "dev_auprc": dev_ap,
                                    "dev_mean_auprc": float(np.mean(list(dev_ap.values())))}
            if args.json:
                print(json.dumps(cell), flush=True)
            else:
                print(f"| {k} | {t:g} | {cell['val_auprc']:.3f} | {choice.f1:.3f} ({choice.threshold:.3f}) | "
                      + " | ".join(f"{dev_ap[n]:.3f}" for n in TWO_CLASS) + f" | {cell['dev_mean_auprc']:.3f} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
