"""Errors keep their message and attributes through pickling (they cross process boundaries)."""

from __future__ import annotations

import pickle

import pytest

from harmscope.data.taxonomy._taxonomy import UnknownCategoryError, mapping_tables
from harmscope.errors import (
    DataFormatError,
    DataNotFoundError,
    HarmscopeError,
    MissingPackageError,
    UnknownNameError,
)
from harmscope.service.moderator import InputError


def _examples() -> list[HarmscopeError]:
    table = next(iter(mapping_tables().values()))
    return [
        UnknownNameError("encoder", "nope", ["minilm", "mpnet"]),
        MissingPackageError("faiss-cpu", "the hnsw index"),
        DataFormatError("/data/x.jsonl", "not valid JSON", line=7),
        DataNotFoundError("/data/missing.csv"),
        UnknownCategoryError("sorry_bench", "zzz", table),
        InputError("input is empty", param="input", code="empty"),
        HarmscopeError("plain message"),
    ]


@pytest.mark.parametrize("error", _examples(), ids=lambda e: type(e).__name__)
def test_errors_round_trip_through_pickle(error: HarmscopeError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert copy.__dict__.keys() == error.__dict__.keys()
