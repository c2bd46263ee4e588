"""Fixed, seeded samples of big sets, defined once so that evaluation and the training pool agree.

The benchmark suite (``harmscope bench --suite dev``) measures false positives on a sample of benign
Alpaca instructions; the training pool must leave exactly that sample out. Both call :func:`alpaca_sample`.
"""

from __future__ import annotations

import random
from pathlib import Path

from harmscope.types import PromptRecord

ALPACA_SAMPLE_SOURCE = "refusal_direction_splits/harmless_test"
"""The registered set the Alpaca sample is drawn from (6,266 benign Alpaca instructions)."""
ALPACA_SAMPLE_N = 500
ALPACA_SAMPLE_SEED = 0


def alpaca_sample(n: int = ALPACA_SAMPLE_N, seed: int = ALPACA_SAMPLE_SEED, *,
                  path: Path | str | None = None) -> list[PromptRecord]:
    """``n`` records drawn without replacement from ``refusal_direction_splits/harmless_test``, in file order.

    The draw is ``random.Random(seed).sample(range(len(records)), n)``, which is stable across Python
    versions, so the same ``(n, seed)`` always gives the same prompts. ``path`` overrides where the
    split is read from (as in :func:`harmscope.data.load_dataset`). Records are returned unchanged
    (``source`` stays ``refusal_direction_splits/harmless_test``).
    """
    from harmscope.data._api import load_dataset

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    records = load_dataset(ALPACA_SAMPLE_SOURCE, path=path)
    if n > len(records):
        raise ValueError(f"n={n} is more than the {len(records)} records of {ALPACA_SAMPLE_SOURCE}")
    chosen = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in chosen]
