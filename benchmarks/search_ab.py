"""Batch search of the exact bank, four ways: ms per 64-prompt batch of search + explanation, in-process.

The exact index (detectors/_bank.py) speeds up a batch search two ways: a tile pre-selection instead of
``argpartition`` over every bank column, and the batch's halves searched side by side from two threads
(each on one BLAS thread). This times the default detector's scoring path with neither, each alone and
both, alternating, on texts encoded once (the encoder is left out), and checks that all four give the
same hits.

    .venv/bin/python benchmarks/search_ab.py [--passes 6] [--batches 10] [--detector DIR]
"""

from __future__ import annotations

from typing import Any

import numpy as np


def main() -> int:
    from _explain_path import encoded_batches, parse_args, time_explain

    import harmscope.detectors._bank as bank_module

    args = parse_args(__doc__.split("\n")[0])
    det, encoded = encoded_batches(args)
    tiles, cores = bank_module._candidates, bank_module.thread_budget
    ways = {"neither": (False, False), "tiles": (True, False), "2 threads": (False, True), "both (used)": (True, True)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    hits: dict[str, list[Any]] = {}
    try:
        for _ in range(args.passes):
            for name, (use_tiles, use_threads) in ways.items():
                bank_module._candidates = tiles if use_tiles else (lambda block, k: None)
                bank_module.thread_budget = cores if use_threads else (lambda: 1)
                ms, found = time_explain(det, encoded)
                times[name].append(ms)
                hits.setdefault(name, found)
    finally:
        bank_module._candidates, bank_module.thread_budget = tiles, cores
    same = all(all(np.array_equal(a, b) for a, b in zip(found, hits["neither"])) for found in hits.values())
    base = float(np.median(times["neither"]))
    for name, values in times.items():
        median = float(np.median(values))
        print(f"{name:12s} ms per 64-prompt batch: median {median:5.1f} ({base / median:4.2f}x)  "
              f"({', '.join(f'{v:.1f}' for v in values)})")
    print(f"same hits in all four ways: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
