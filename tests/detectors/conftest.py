"""Detector tests use tiny matrices: BLAS threads only add contention on shared CI cores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _single_blas_thread() -> Iterator[None]:
    import scipy.linalg  # noqa: F401  (load every BLAS first: threadpoolctl only limits loaded ones)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
