"""Process-wide thread pools for work that releases the GIL (onnxruntime runs, numpy matrix products).

Both cores of these machines are used by running two such calls side by side from Python threads rather
than by one call's own thread pool (onnxruntime intra-op threads, OpenBLAS threads): the one-text encoder
runs and the bank searches of a batch are too small for an inner pool to share well (docs/speed.md).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_LOCK = threading.Lock()
# A forked child has the pools but not their threads (work sent there would wait forever): start afresh.
os.register_at_fork(after_in_child=_POOLS.clear)


def worker_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """The process-wide pool ``name`` of ``workers`` threads (created on first use)."""
    with _LOCK:
        pool = _POOLS.get((name, workers))
        if pool is None:
            pool = _POOLS[(name, workers)] = ThreadPoolExecutor(workers, thread_name_prefix=f"harmscope-{name}")
        return pool


def thread_budget() -> int:
    """How many threads harmscope runs side by side (onnxruntime intra-op threads and one-text callers,
    batch-search parts): ``HARMSCOPE_ORT_THREADS`` if set to a positive integer (named for its first
    use; ``bench-speed --threads N`` sets it), else min(2, cores)."""
    forced = os.environ.get("HARMSCOPE_ORT_THREADS", "").strip()
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    return max(1, min(2, os.cpu_count() or 1))
