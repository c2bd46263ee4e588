"""Shared by the in-process A/B benchmarks of the default detector's scoring path (`rescore_ab.py`,
`search_ab.py`): their options, the detector with its 64-prompt batches encoded once (so the encoder is
left out), and the timing of search + explanation over those batches."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

BATCH = 64


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--passes", type=int, default=6)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--detector", type=Path, default=None, help="a saved detector folder (default: the default)")
    return parser.parse_args()


def encoded_batches(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The detector and ``args.batches`` batches of 64 bench-speed prompts, encoded by it."""
    from harmscope.detectors import load_detector
    from harmscope.detectors._default import load_default
    from harmscope.speed._prompts import speed_texts

    det: Any = load_detector(args.detector) if args.detector else load_default()
    texts = speed_texts(BATCH * args.batches, seed=2)
    return det, [det._encode(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]


def time_explain(det: Any, encoded: list[Any]) -> tuple[float, list[Any]]:
    """ms per batch of search + explanation over ``encoded`` (no reuse of a previous search), and each
    batch's hit rows."""
    start = time.perf_counter()
    found = []
    for x in encoded:
        det.bank_._last = None
        det._explain_arrays(x, None)
        found.append(det.bank_._last[1].index)
    return (time.perf_counter() - start) * 1000 / len(encoded), found
