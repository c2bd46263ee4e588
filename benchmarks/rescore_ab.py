"""Bank re-scoring, product-then-sum vs einsum: ms per 64-prompt batch of search + explanation, in-process.

The exact index re-scores each query's k candidates pair by pair so that a similarity has the same bits
alone or in a batch (detectors/_bank.py). This times the default detector's scoring path with the former
implementation (``np.sum(vectors[rows] * q, axis=-1)``) and the current one (``np.einsum``), alternating,
on texts encoded once (so the encoder, ~80 % of a real call, is left out).

    .venv/bin/python benchmarks/rescore_ab.py [--passes 6] [--batches 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np


def product_then_sum(self: Any, queries: Any, rows: Any, batch_sims: Any) -> Any:
    exact = np.sum(self.vectors[rows] * queries[:, None, :], axis=-1, dtype=np.float32)
    return np.where(np.isfinite(batch_sims), exact, -np.inf).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--detector", type=Path, default=None, help="a saved detector folder (default: the default)")
    args = parser.parse_args()

    from harmscope.detectors import load_detector
    from harmscope.detectors._bank import ExactIndex
    from harmscope.detectors._default import load_default
    from harmscope.speed._prompts import speed_texts

    det: Any = load_detector(args.detector) if args.detector else load_default()
    texts = speed_texts(64 * args.batches, seed=2)
    encoded = [det._encode(texts[i:i + 64]) for i in range(0, len(texts), 64)]
    current = ExactIndex._rescore
    times: dict[str, list[float]] = {"product-then-sum": [], "einsum": []}
    try:
        for _ in range(args.passes):
            for name, impl in (("product-then-sum", product_then_sum), ("einsum", current)):
                ExactIndex._rescore = impl  # type: ignore[method-assign]
                start = time.perf_counter()
                for x in encoded:
                    det.bank_._last = None  # no reuse of the previous search
                    det._explain_arrays(x, None)
                times[name].append((time.perf_counter() - start) * 1000 / len(encoded))
    finally:
        ExactIndex._rescore = current  # type: ignore[method-assign]
    for name, values in times.items():
        print(f"{name:17s} ms per 64-prompt batch: median {np.median(values):.1f}  ({', '.join(f'{v:.1f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
