"""Dataset loaders: every public safety-prompt set in the shared data folder, and path-based loaders for
benchmarks that are not shipped, all returning :class:`~harmscope.types.PromptRecord` lists.

>>> from harmscope.data import load_dataset
>>> records = load_dataset("xstest")                      # doctest: +SKIP
>>> records = load_dataset("wildguardtest:wgt.parquet")   # doctest: +SKIP

Only the standard library is imported here; pyarrow is imported only to read parquet.
"""

from __future__ import annotations

from harmscope.data._api import (
    DatasetInfo,
    LabelCounts,
    dataset_info,
    list_datasets,
    load_dataset,
    load_dataset_with_report,
    registered_names,
)
from harmscope.data._base import Loaded
from harmscope.data._pool import (
    EVAL_SOURCES,
    EXCLUDED_SOURCES,
    TRAIN_SOURCES,
    EvalSource,
    ExcludedSource,
    Pool,
    PoolConfig,
    PoolExample,
    PoolSummary,
    SourceCounts,
    TrainSource,
    assemble_pool,
    build_pool,
    normalize_text,
)

__all__ = [
    "EVAL_SOURCES",
    "EXCLUDED_SOURCES",
    "TRAIN_SOURCES",
    "DatasetInfo",
    "EvalSource",
    "ExcludedSource",
    "LabelCounts",
    "Loaded",
    "Pool",
    "PoolConfig",
    "PoolExample",
    "PoolSummary",
    "SourceCounts",
    "TrainSource",
    "assemble_pool",
    "build_pool",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "load_dataset_with_report",
    "normalize_text",
    "registered_names",
]
