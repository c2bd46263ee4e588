"""Batch moderation of prompt files: ``moderate_batch(input, output, ...)`` scores every record of a jsonl,
csv or parquet file into a jsonl file or parquet folder, resumably, locally or on Ray (see docs/batch.md).

Nothing heavy is imported here: pyarrow, the detector and Ray load when a job runs.
"""

from __future__ import annotations

from harmscope.batch._formats import INPUT_FORMATS, OUTPUT_COLUMNS, OUTPUT_FORMATS
from harmscope.batch._job import DEFAULT_CHUNK_SIZE, DEFAULT_TOP_CATEGORIES, ENGINES, moderate_batch
from harmscope.batch._summary import BatchSummary

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_TOP_CATEGORIES",
    "ENGINES",
    "INPUT_FORMATS",
    "OUTPUT_COLUMNS",
    "OUTPUT_FORMATS",
    "BatchSummary",
    "moderate_batch",
]
