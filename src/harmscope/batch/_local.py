"""The local engine: read a chunk, score it, hand it on; one process, one chunk in memory at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from harmscope.batch._detector_source import DetectorSource
from harmscope.batch._position import Position
from harmscope.batch._readers import InputScan, SourceReader
from harmscope.batch._scoring import score_chunk

if TYPE_CHECKING:
    import pyarrow as pa


def local_scored_chunks(reader: SourceReader, scan: InputScan, start: Position, source: DetectorSource, *,
                        top_categories: int, embedding_cache: bool, **_: Any) -> Iterator[pa.Table]:
    """Scored chunks from ``start`` to the end of the input, in input order."""
    from harmscope.encoders import embedding_cache_disabled

    detector = source.load()
    for chunk in reader.chunks(start):
        with nullcontext() if embedding_cache else embedding_cache_disabled():
            scored = score_chunk(detector, chunk, top_categories=top_categories)
        yield scored
