"""The process-wide worker pools: shared per name and size, and fresh in a forked child."""

from __future__ import annotations

import os

import pytest

from harmscope import _workers
from harmscope._workers import thread_budget, worker_pool


def test_pools_are_shared_per_name_and_size() -> None:
    assert worker_pool("test", 2) is worker_pool("test", 2)
    assert worker_pool("test", 2) is not worker_pool("test", 1)
    assert worker_pool("test", 2) is not worker_pool("other", 2)
    assert list(worker_pool("test", 2).map(abs, [-1, -2, 3])) == [1, 2, 3]


def test_thread_budget_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARMSCOPE_ORT_THREADS", raising=False)
    assert 1 <= thread_budget() <= 2
    monkeypatch.setenv("HARMSCOPE_ORT_THREADS", "3")
    assert thread_budget() == 3
    for ignored in ("0", "-1", "two", ""):
        monkeypatch.setenv("HARMSCOPE_ORT_THREADS", ignored)
        assert 1 <= thread_budget() <= 2


def test_forked_child_gets_fresh_pools() -> None:
    worker_pool("fork", 2).submit(int).result()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's pool (whose threads did not survive the fork) is gone
        os.write(write, b"1" if not _workers._POOLS else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert ("fork", 2) in _workers._POOLS
