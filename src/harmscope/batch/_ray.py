"""The Ray engine: the same job on Ray Data, with the detector loaded once per actor.

Reading goes through harmscope's own readers plugged in as a Ray ``Datasource`` (jsonl split into byte
ranges at chunk boundaries, parquet into row ranges, csv read by one task): Ray's ``read_json`` and
``read_csv`` fail the whole job on one bad line and keep no line numbers, and the bad-row report needs
both. Read tasks cover whole chunks (a few each, so results stream back in small steps); Ray may glue a
task's chunks into one block, so each scoring actor cuts what it gets back at the chunk boundaries and
scores chunk by chunk: the batches are exactly the local engine's chunks. ``preserve_order`` keeps the
output in input order, which the checkpoint (a row position) relies on.

Only imported for ``--engine ray``; without ``--ray-address`` it starts a small local Ray (no
dashboard, no usage report, small object store) that needs no network, and stops it afterwards.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

from harmscope.batch._detector_source import DetectorSource
from harmscope.batch._formats import source_schema
from harmscope.batch._position import Position
from harmscope.batch._readers import InputScan, SourceReader, aligned_chunks
from harmscope.batch._scoring import score_chunk
from harmscope.errors import HarmscopeError, MissingPackageError

try:
    import pyarrow as pa
    import ray
    import ray.data
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask
except ImportError:  # pragma: no cover - ray is pinned in requirements.lock
    raise MissingPackageError("ray", "--engine ray", "pip install 'ray[data]==2.60.0'") from None

OBJECT_STORE_BYTES = 256 * 1024 * 1024
"""Object store of a local Ray: enough for a few chunks in flight; Ray Data applies back-pressure."""
READ_TASK_CPUS = 0.0
"""Read tasks are cheap and must not wait for a CPU that the scoring actors hold for the whole job."""
MAX_READ_TASKS = 2000
"""Read tasks cover one chunk each up to this many; more chunks are shared out evenly."""
_PASS_ENV = ("HARMSCOPE_CACHE", "HARMSCOPE_DATA")


class SourceDatasource(Datasource):
    """harmscope's reader as a Ray Data source: read tasks over consecutive ranges, in order."""

    def __init__(self, reader: SourceReader, scan: InputScan, ranges: list[tuple[Position, int | None]]) -> None:
        super().__init__()
        self.reader, self.scan, self.ranges = reader, scan, ranges

    def estimate_inmemory_data_size(self) -> int | None:
        # Unknown on purpose: with a size estimate Ray may split read blocks (to reach a block size or a
        # parallelism), and a chunk split between two actors would be scored in two batches.
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        # Ray's ``parallelism`` is ignored: the ranges follow the chunks (override_num_blocks = their number).
        tasks = []
        for begin, stop in self.ranges:
            end = stop if stop is not None else self.scan.rows
            rows = None if end is None or not self.scan.rows_exact else max(0, end - begin.row)
            meta = BlockMetadata(num_rows=rows, size_bytes=None, input_files=(str(self.reader.path),),
                                 exec_stats=None)
            tasks.append(ReadTask(functools.partial(_read_range, self.reader, begin, stop), meta,
                                  schema=source_schema(), per_task_row_limit=per_task_row_limit))
        return tasks


def _read_range(reader: SourceReader, begin: Position, stop: int | None) -> Iterator[pa.Table]:
    try:
        yield from reader.chunks(begin, stop)
    except HarmscopeError as error:
        # Subclasses such as DataFormatError take several arguments and do not survive pickling
        # back to the driver; the plain class with the same one-line message does.
        raise HarmscopeError(str(error)) from None


class ChunkScorer:
    """A Ray actor: loads the detector once, then scores each chunk it is given."""

    def __init__(self, folder: str, chunk_size: int, top_categories: int, embedding_cache: bool) -> None:
        from harmscope.detectors import load_detector

        self.detector = load_detector(folder)
        self.chunk_size = chunk_size
        self.top_categories = top_categories
        self.embedding_cache = embedding_cache

    def __call__(self, batch: pa.Table) -> pa.Table:
        from harmscope.encoders import embedding_cache_disabled

        try:
            with nullcontext() if self.embedding_cache else embedding_cache_disabled():
                scored = [score_chunk(self.detector, chunk, top_categories=self.top_categories)
                          for chunk in aligned_chunks([batch], self.chunk_size)]
        except HarmscopeError as error:
            raise HarmscopeError(str(error)) from None  # picklable, see _read_range
        if not scored:
            return score_chunk(self.detector, batch, top_categories=self.top_categories)
        return pa.concat_tables(scored)


def _harmscope_cause(error: BaseException) -> HarmscopeError | None:
    """The HarmscopeError a Ray error wraps (through ``cause``, ``__cause__`` and ``__context__``)."""
    stack: list[BaseException | None] = [error]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, HarmscopeError) and not isinstance(e, ray.exceptions.RayError):
            return e
        stack += [getattr(e, "cause", None), e.__cause__, e.__context__]
    return None


def _quiet() -> None:
    """No Ray progress bars or start-up chatter on the user's terminal (Ray keeps its own log files)."""
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failed job is reported in one line
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False


def start_ray(address: str | None) -> bool:
    """Connect to ``address`` or start a small local Ray; True if this call started it (so must stop it)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HARMSCOPE_PROGRESS": "0",
           **{k: os.environ[k] for k in _PASS_ENV if k in os.environ}}
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR,
                               "runtime_env": {"env_vars": env}}
    if address is None:
        options.update(num_cpus=os.cpu_count() or 1, include_dashboard=False,
                       object_store_memory=OBJECT_STORE_BYTES)
    _quiet()
    try:
        # "local" always starts a new Ray: with None, Ray would join a cluster left by `ray start`.
        ray.init(address=address or "local", **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise HarmscopeError(f"could not start {where} ({error})") from None
    return True


def ray_scored_chunks(reader: SourceReader, scan: InputScan, start: Position, source: DetectorSource, *,
                      top_categories: int, embedding_cache: bool, ray_address: str | None = None,
                      ray_workers: int | None = None, **_: Any) -> Iterator[pa.Table]:
    """Scored chunks from ``start`` to the end of the input, in input order, scored by Ray actors."""
    started = start_ray(ray_address)
    try:
        _quiet()
        workers = ray_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        ranges = reader.splits(start, scan, MAX_READ_TASKS)
        ds = ray.data.read_datasource(SourceDatasource(reader, scan, ranges), num_cpus=READ_TASK_CPUS,
                                      override_num_blocks=len(ranges),
                                      concurrency=min(max(2, workers), len(ranges)))
        # max_restarts=0: a restarted actor could not get its arguments back (ray issue 53727, which Ray
        # logs as an error at start-up otherwise); a failed job is resumed by rerunning the command. Ray
        # 2.60 flags extra remote arguments as deprecated for 2.64; the pin is 2.60.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = ds.map_batches(ChunkScorer, batch_size=None, batch_format="pyarrow", zero_copy_batch=True,
                                compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1, max_restarts=0,
                                fn_constructor_kwargs={"folder": str(source.path),
                                                       "chunk_size": reader.chunk_size,
                                                       "top_categories": top_categories,
                                                       "embedding_cache": embedding_cache},
                                udf_modifying_row_count=False)
        try:
            yield from ds.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=1)
        except ray.exceptions.RayError as error:
            ours = _harmscope_cause(error)
            if ours is not None:  # e.g. a wrong --text-field found by a read task: the same one line
                raise HarmscopeError(str(ours)) from None
            raise HarmscopeError(f"the Ray job failed ({type(error).__name__}); Ray's logs are under "
                                 "/tmp/ray/session_latest/logs") from error
    finally:
        if started:
            ray.shutdown()
