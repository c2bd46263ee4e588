"""Dev-suite figures for every detector type × representation: the table behind the choice of the default.

Each cell fits the detector on the training pool (threshold chosen on the pool's validation split, as
`harmscope fit` does), then scores it on `harmscope bench --suite dev`. Results go to one JSON file per
cell in --out (a rerun skips cells already there, so the long matrix can be built in pieces), and the
script prints a Markdown table of the headline figures over all cells in --out.

    .venv/bin/python benchmarks/dev_matrix.py --detectors knn,probe-lr --representations minilm,minilm-safety
    .venv/bin/python benchmarks/dev_matrix.py --table-only          # just print what --out holds
    .venv/bin/python benchmarks/dev_matrix.py --detectors probe-lr --representations hs:smollm2-135m@23 \
        --sample-train 2000 --sample-val 800   # slow representations: a seeded sample of the pool

Never tunes anything on the dev sets: they only score.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

HEADLINES: tuple[tuple[str, str, str], ...] = (
    # (column, dataset, figure)
    ("XSTest F1", "xstest", "f1"),
    ("XSTest FPR", "xstest", "fpr"),
    ("JBB F1", "jbb_behaviors", "f1"),
    ("JBB FPR", "jbb_behaviors", "fpr"),
    ("DNA F1", "do_not_answer_fp_fn", "f1"),
    ("CoCoNot F1", "coconot_contrast_vs_safety", "f1"),
    ("PhysSafety F1", "physical_safety", "f1"),
    ("HB std R", "harmbench/standard", "recall"),
    ("HB ctx R", "harmbench/contextual", "recall"),
    ("SST R", "simplesafetytests", "recall"),
    ("StrongREJECT R", "strongreject", "recall"),
    ("SORRY R", "sorry_bench", "recall"),
    ("AILuminate R", "ailuminate_demo", "recall"),
    ("JBB-art R", "jbb_artifacts", "recall"),
    ("ITW-jb R", "inthewild_jailbreak", "recall"),
    ("OKTest FPR", "oktest", "fpr"),
    ("AlpacaEval FPR", "alpaca_eval", "fpr"),
    ("Alpaca FPR", "alpaca_sample", "fpr"),
)


def cell_name(detector: str, representation: str, extra: str) -> str:
    return re.sub(r"[^A-Za-z0-9.@_-]+", "_", f"{detector}__{representation}{'__' + extra if extra else ''}")


def sample_pool(sample_train: int | None, sample_val: int | None) -> Any:
    """A seeded sample of the training pool (each label in proportion, the layer sweep's sampler and
    seeds), for representations too slow to encode all ~29k pool texts (LM hidden states: a few texts/s)."""
    from types import SimpleNamespace

    from harmscope.analysis._layer_sweep import stratified_sample
    from harmscope.data import build_pool

    pool = build_pool()
    return SimpleNamespace(train=stratified_sample(pool.train, sample_train, 0),
                           val=stratified_sample(pool.val, sample_val, 1))


def run_cell(detector: str, representation: str, params: dict[str, Any], threshold_method: str,
             pool: Any = None) -> dict[str, Any]:
    from harmscope.detectors import fit_and_validate  # type: ignore[attr-defined,unused-ignore]
    from harmscope.evaluation import evaluate_sets
    from harmscope.evaluation_suites import get_suite, load_entry

    spec = {"type": detector, "params": {"representation": representation, **params}}
    start = time.perf_counter()
    fitted = fit_and_validate(spec, pool=pool, threshold_method=threshold_method)  # type: ignore[arg-type]
    sets = [load_entry(e) for e in get_suite("dev")]
    report = evaluate_sets(fitted.detector, sets, detector_name=json.dumps(spec))
    v = fitted.validation
    return {"detector": detector, "representation": representation, "params": params, "spec": spec,
            "threshold_method": threshold_method, "threshold": v.threshold,
            "validation": {"f1": v.f1, "fpr": v.fpr, "reference_fpr": v.reference_fpr, "auprc": v.auprc},
            "n_train": len(pool.train) if pool is not None else None,
            "n_val": len(pool.val) if pool is not None else None,
            "datasets": report.to_json()["datasets"], "seconds": round(time.perf_counter() - start, 1)}


def table(results: list[dict[str, Any]]) -> str:
    head = ["detector", "representation", "thr", "val F1", *[h[0] for h in HEADLINES]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(results, key=lambda r: (r["representation"], r["detector"], json.dumps(r["params"]))):
        by = {d["name"]: d for d in r["datasets"]}
        cells = []
        for _, name, figure in HEADLINES:
            value = by.get(name, {}).get(figure)
            cells.append("–" if value is None else f"{value:.3f}")
        label = r["detector"] + (f" {json.dumps(r['params'], sort_keys=True)}" if r["params"] else "")
        lines.append("| " + " | ".join([label, r["representation"], f"{r['threshold']:.3f}",
                                         f"{r['validation']['f1']:.3f}", *cells]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detectors", default="knn,probe-lr,probe-mlp,prototype,ensemble")
    parser.add_argument("--representations", default="minilm,minilm-safety")
    parser.add_argument("--params", default="{}", help="JSON params added to every detector spec")
    parser.add_argument("--threshold-method", default="max_f1", choices=("max_f1", "target_fpr"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dev_matrix"))
    parser.add_argument("--sample-train", type=int, help="fit on a seeded stratified sample of this many pool-train rows")
    parser.add_argument("--sample-val", type=int, help="choose the threshold on a sample of this many validation rows")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    params = json.loads(args.params)
    if not args.table_only:
        sampled = args.sample_train is not None or args.sample_val is not None
        extra = (json.dumps(params, sort_keys=True) if params else "") + (
            "" if args.threshold_method == "max_f1" else args.threshold_method) + (
            f"sample{args.sample_train}-{args.sample_val}" if sampled else "")
        pool = sample_pool(args.sample_train, args.sample_val) if sampled else None
        for representation in args.representations.split(","):
            for detector in args.detectors.split(","):
                file = args.out / f"{cell_name(detector, representation, extra)}.json"
                if file.exists():
                    print(f"[skip] {file.name} (already measured)", file=sys.stderr)
                    continue
                print(f"[run] {detector} on {representation} ...", file=sys.stderr, flush=True)
                result = run_cell(detector, representation, params, args.threshold_method, pool)
                file.write_text(json.dumps(result, indent=2), encoding="utf-8")
                print(f"[done] {file.name} in {result['seconds']} s", file=sys.stderr, flush=True)
    results = [json.loads(f.read_text(encoding="utf-8")) for f in sorted(args.out.glob("*.json"))]
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
