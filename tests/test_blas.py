"""numpy's BLAS runs on one thread inside single_threaded_blas() and gets its threads back after."""

from __future__ import annotations

import numpy as np  # noqa: F401  (loads the BLAS library the controller looks for)
from threadpoolctl import threadpool_info

from harmscope._blas import single_threaded_blas


def _blas_threads() -> list[int]:
    return [int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_single_threaded_blas_sets_and_restores() -> None:
    before = _blas_threads()
    assert before, "numpy's BLAS library was not found"
    with single_threaded_blas():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
