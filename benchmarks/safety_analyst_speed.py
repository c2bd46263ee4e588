"""SafetyAnalyst aggregation: scoring speed and fit comparison on synthetic harm-benefit trees (no model).

    .venv/bin/python benchmarks/safety_analyst_speed.py [--n-score 10000] [--n-fit 3000] [--de-maxiter 100]

Prints: featurize and score times for --n-score trees; then, on --n-fit synthetic trees (2/3 train, 1/3
validation; labels from hidden random parameters with 5 % flipped), fit time, train/val F1 and NLL of the
neutral priors, L-BFGS-B, and differential evolution, next to the hidden parameters ("oracle").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harmscope.detectors.harm_benefit import (
    ALL_BLOCKS,
    HarmBenefitModel,
    TreeFeaturizer,
    default_params,
    evaluate,
    fit_de,
    fit_lbfgs,
    synthetic_trees,
)


def _best_of(fn: object, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-score", type=int, default=10_000)
    ap.add_argument("--n-fit", type=int, default=3_000)
    ap.add_argument("--de-maxiter", type=int, default=100)
    ap.add_argument("--de-popsize", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    data = synthetic_trees(args.n_score, seed=args.seed)
    fz = TreeFeaturizer()
    n_effects = sum(len(t.iter_effects()) for t in data.trees)
    t0 = time.perf_counter()
    feats = fz.transform(data.trees)
    t_feat = time.perf_counter() - t0
    model = HarmBenefitModel(data.true_params, fz)
    t_score = _best_of(lambda: model.scores(feats))
    t_explain = _best_of(lambda: [model.explain(t) for t in data.trees[:1000]], repeats=1)
    print(f"scoring {args.n_score} trees ({n_effects} effects, {feats.harm.shape[1] + feats.benefit.shape[1]} "
          f"feature cells):")
    print(f"  featurize          {t_feat:8.3f} s")
    print(f"  score (featurized) {t_score * 1000:8.2f} ms   (best of 5)")
    print(f"  explain            {t_explain:8.3f} s per 1000 trees")

    fit_data = synthetic_trees(args.n_fit, seed=args.seed + 1)
    f = fz.transform(fit_data.trees)
    n_tr = (2 * args.n_fit) // 3
    tr, va = np.arange(n_tr), np.arange(n_tr, args.n_fit)
    xtr, ytr, xva, yva = f.rows(tr), fit_data.labels[tr], f.rows(va), fit_data.labels[va]
    print(f"\nfitting on {n_tr} synthetic trees, validating on {len(va)}:")
    print(f"  {'method':<28}{'time s':>8}{'evals':>9}{'train F1':>10}{'val F1':>8}{'train NLL':>11}{'val NLL':>9}")

    def row(name: str, params: object, seconds: float | None, evals: int | None) -> None:
        a, b = evaluate(params, xtr, ytr), evaluate(params, xva, yva)  # type: ignore[arg-type]
        s = f"{seconds:8.2f}" if seconds is not None else f"{'-':>8}"
        e = f"{evals:9d}" if evals is not None else f"{'-':>9}"
        print(f"  {name:<28}{s}{e}{a.f1:10.3f}{b.f1:8.3f}{a.nll:11.4f}{b.nll:9.4f}")

    row("oracle (hidden params)", fit_data.true_params, None, None)
    row("priors (default_weights)", default_params(), None, None)
    lb = fit_lbfgs(xtr, ytr)
    row("L-BFGS-B", lb.params, lb.seconds, lb.n_evaluations)
    lbb = fit_lbfgs(xtr, ytr, free=ALL_BLOCKS)
    row("L-BFGS-B + bias", lbb.params, lbb.seconds, lbb.n_evaluations)
    de = fit_de(xtr, ytr, seed=args.seed, maxiter=args.de_maxiter, popsize=args.de_popsize)
    row(f"DE (maxiter {args.de_maxiter}, pop {args.de_popsize}x)", de.params, de.seconds, de.n_evaluations)


if __name__ == "__main__":
    main()
