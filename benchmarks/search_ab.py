"""Batch search of the exact bank, four ways: ms per 64-prompt batch of search + explanation, in-process.

The exact index (detectors/_bank.py) speeds up a batch search two ways: a tile pre-selection instead of
``argpartition`` over every bank column, and the batch's halves searched side by side from two threads
(each on one BLAS thread). This times the default detector's scoring path with neither, each alone and
both, alternating, on texts encoded once (the encoder is left out), and checks that all four give the
same hits.

    .venv/bin/python benchmarks/search_ab.py [--passes 6] [--batches 10] [--detector DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--detector", type=Path, default=None, help="a saved detector folder (default: the default)")
    args = parser.parse_args()

    import harmscope.detectors._bank as bank_module
    from harmscope.detectors import load_detector
    from harmscope.detectors._default import load_default
    from harmscope.speed._prompts import speed_texts

    det: Any = load_detector(args.detector) if args.detector else load_default()
    texts = speed_texts(64 * args.batches, seed=2)
    encoded = [det._encode(texts[i:i + 64]) for i in range(0, len(texts), 64)]
    tiles, cores = bank_module._candidates, bank_module.thread_budget
    ways = {"neither": (False, False), "tiles": (True, False), "2 threads": (False, True), "both (used)": (True, True)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    hits: dict[str, list[Any]] = {}
    try:
        for _ in range(args.passes):
            for name, (use_tiles, use_threads) in ways.items():
                bank_module._candidates = tiles if use_tiles else (lambda block, k: None)
                bank_module.thread_budget = cores if use_threads else (lambda: 1)
                start = time.perf_counter()
                found = []
                for x in encoded:
                    det.bank_._last = None  # no reuse of the previous search
                    det._explain_arrays(x, None)
                    found.append(det.bank_._last[1].index)
                times[name].append((time.perf_counter() - start) * 1000 / len(encoded))
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
