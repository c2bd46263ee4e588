"""numpy's BLAS on one thread for short calls next to onnxruntime.

OpenBLAS worker threads spin for a while after every call, waiting for more work. Next to an onnxruntime
encoder that already uses both cores, a spinning BLAS thread takes a core from it: on the 2-core
machines here the default detector scored ~290 prompts/s with numpy's 2 BLAS threads and 310-335 with one
(`harmscope bench-speed`, docs/speed.md). Scoring-time similarity searches therefore run their matrix
product on one BLAS thread; large products (fitting, leave-one-out searches) keep every thread.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@functools.lru_cache(maxsize=1)
def _controller() -> Any:
    """Created on first use, after numpy is imported, so it finds numpy's BLAS."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Within this block numpy's BLAS uses one thread (~10 us to set and restore). The setting is
    process-wide: another thread's numpy work in the meantime also runs on one BLAS thread."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
