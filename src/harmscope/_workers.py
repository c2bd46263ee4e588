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


def core_count(limit: int = 2) -> int:
    """Cores to use side by side: min(``limit``, cores), at least 1."""
    return max(1, min(limit, os.cpu_count() or 1))
