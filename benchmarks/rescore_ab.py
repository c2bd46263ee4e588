"""Bank re-scoring, product-then-sum vs einsum: ms per 64-prompt batch of search + explanation, in-process.

The exact index re-scores each query's k candidates pair by pair so that a similarity has the same bits
alone or in a batch (detectors/_bank.py). This times the default detector's scoring path with the former
implementation (``np.sum(vectors[rows] * q, axis=-1)``) and the current one (``np.einsum``), alternating,
on texts encoded once (so the encoder, ~80 % of a real call, is left out).

    .venv/bin/python benchmarks/rescore_ab.py [--passes 6] [--batches 10]
"""

from __future__ import annotations

from typing import Any

import numpy as np


def product_then_sum(self: Any, queries: Any, rows: Any, batch_sims: Any) -> Any:
    exact = np.sum(self.vectors[rows] * queries[:, None, :], axis=-1, dtype=np.float32)
    return np.where(np.isfinite(batch_sims), exact, -np.inf).astype(np.float32)


def main() -> int:
    from _explain_path import encoded_batches, parse_args, time_explain

    from harmscope.detectors._bank import ExactIndex

    args = parse_args(__doc__.split("\n")[0])
    det, encoded = encoded_batches(args)
    current = ExactIndex._rescore
    times: dict[str, list[float]] = {"product-then-sum": [], "einsum": []}
    try:
        for _ in range(args.passes):
            for name, impl in (("product-then-sum", product_then_sum), ("einsum", current)):
                ExactIndex._rescore = impl
                times[name].append(time_explain(det, encoded)[0])
    finally:
        ExactIndex._rescore = current
    for name, values in times.items():
        print(f"{name:17s} ms per 64-prompt batch: median {np.median(values):.1f}  ({', '.join(f'{v:.1f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
