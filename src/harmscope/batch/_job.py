"""``moderate_batch``: one batch job from input file to output, resumable, with either engine.

The job owns everything that must be the same whatever engine scores: the reader (and so which rows
exist and how they are chunked), the writers, the checkpoint, the counts and the progress bar. An engine
only turns source chunks into scored chunks, in input order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harmscope.batch._checkpoint import (
    Checkpoint,
    Counts,
    checkpoint_path,
    errors_path,
    job_mismatch,
    read_checkpoint,
    write_checkpoint,
)
from harmscope.batch._detector_source import DetectorSource, resolve_detector
from harmscope.batch._formats import input_format, output_format
from harmscope.batch._position import Position
from harmscope.batch._progress_bar import RowProgress
from harmscope.batch._readers import InputScan, SourceReader, open_reader
from harmscope.batch._summary import BatchSummary
from harmscope.batch._writers import ErrorWriter, ResultWriter, remove_output, result_writer
from harmscope.errors import HarmscopeError

if TYPE_CHECKING:
    import pyarrow as pa

Engine = Literal["local", "ray"]
ENGINES: tuple[Engine, ...] = ("local", "ray")
DEFAULT_CHUNK_SIZE = 1000
DEFAULT_TOP_CATEGORIES = 3


def moderate_batch(
    input: str | Path,
    output: str | Path,
    *,
    detector: str = "default",
    text_field: str = "text",
    id_field: str | None = None,
    input_format_name: str | None = None,
    output_format_name: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    top_categories: int = DEFAULT_TOP_CATEGORIES,
    engine: Engine = "local",
    ray_address: str | None = None,
    ray_workers: int | None = None,
    overwrite: bool = False,
    embedding_cache: bool = False,
    progress: bool = True,
    part_rows: int = 200_000,
    commit_seconds: float = 60.0,
) -> BatchSummary:
    """Score every record of ``input`` (jsonl, csv, parquet) into ``output`` (jsonl file or parquet folder).

    A rerun with the same input, detector and options resumes where the last commit left off (a finished
    output is left as it is); anything else that finds an existing output fails unless ``overwrite``.
    Bad records go to ``<output>.errors.jsonl`` with their row and line. ``id_field`` given means every
    record must have one; by default the ``id`` field is used where present, else the row number.
    ``embedding_cache=False`` (default) keeps the SQLite embedding cache out of the job (see docs/batch.md).
    """
    if engine not in ENGINES:
        raise HarmscopeError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    if chunk_size < 1:
        raise HarmscopeError(f"--chunk-size must be >= 1, got {chunk_size}")
    if top_categories < 0:
        raise HarmscopeError(f"--top-categories must be >= 0, got {top_categories}")
    if ray_address is not None and engine != "ray":
        raise HarmscopeError("--ray-address only applies with --engine ray")
    if ray_workers is not None and ray_workers < 1:
        raise HarmscopeError(f"--ray-workers must be >= 1, got {ray_workers}")
    in_path, out_path = Path(input).expanduser(), Path(output).expanduser()
    in_fmt = input_format(in_path, input_format_name)
    out_fmt = output_format(out_path, output_format_name)
    if out_path.resolve() == in_path.resolve():
        raise HarmscopeError("--output is the --input file; write the results somewhere else")
    reader = open_reader(in_path, in_fmt, text_field=text_field, id_field=id_field or "id",
                         id_required=id_field is not None, chunk_size=chunk_size)
    first = reader.start()
    scan = reader.scan(find_boundaries=engine == "ray")
    with resolve_detector(detector) as source:
        job = {"input": str(in_path.resolve()), "input_sha256": scan.sha256, "input_size": scan.size,
               "input_format": in_fmt, "output_format": out_fmt, "detector": source.fingerprint,
               "detector_name": source.name, "text_field": text_field, "id_field": id_field or "id",
               "id_required": id_field is not None, "chunk_size": chunk_size, "top_categories": top_categories}
        run = _Run(reader, scan, source, job, out_path, result_writer(out_fmt, out_path, part_rows=part_rows,
                                                                       commit_seconds=commit_seconds))
        checkpoint = run.open(overwrite=overwrite, first=first)
        if checkpoint.complete:
            return run.summary(checkpoint, engine=engine, resumed_from=checkpoint.position.row, seconds=0.0)
        scorer = _engine(engine)
        chunks = scorer(reader, scan, checkpoint.position, source, top_categories=top_categories,
                        embedding_cache=embedding_cache, ray_address=ray_address, ray_workers=ray_workers)
        return run.consume(checkpoint, chunks, engine=engine, progress=progress)


def _engine(name: Engine) -> Callable[..., Iterator[pa.Table]]:
    if name == "ray":
        from harmscope.batch._ray import ray_scored_chunks

        return ray_scored_chunks
    from harmscope.batch._local import local_scored_chunks

    return local_scored_chunks


def _threshold(folder: Path) -> float | None:
    """The saved detector's threshold, read from detector.json without loading the detector."""
    from harmscope.detectors import _io

    try:
        params = _io.decode_json(_io.read_meta(folder).get("params", {}))
        value = params.get("threshold") if isinstance(params, dict) else None
        return float(value) if isinstance(value, (int, float)) else None
    except (HarmscopeError, OSError, ValueError):
        return None


class _Run:
    """The writers, checkpoint and counters of one job."""

    def __init__(self, reader: SourceReader, scan: InputScan, source: DetectorSource, job: dict[str, Any],
                 output: Path, writer: ResultWriter) -> None:
        self.reader, self.scan, self.source, self.job = reader, scan, source, job
        self.output, self.writer = output, writer
        self.checkpoint_file = checkpoint_path(output)
        self.errors = ErrorWriter(errors_path(output))

    def open(self, *, overwrite: bool, first: Position) -> Checkpoint:
        """The checkpoint to continue from, writers prepared: fresh, resumed or (complete) untouched."""
        fmt = self.job["output_format"]
        if overwrite:
            remove_output(fmt, self.output)
            self.errors.path.unlink(missing_ok=True)
            self.checkpoint_file.unlink(missing_ok=True)
        saved = read_checkpoint(self.checkpoint_file)
        if saved is None:
            if self.output.exists():
                raise HarmscopeError(f"{self.output} exists but has no checkpoint ({self.checkpoint_file.name}), "
                                     "so it was not written by moderate-batch or cannot be resumed; pass "
                                     "--overwrite to replace it or choose another --output")
            self.errors.path.unlink(missing_ok=True)  # a stray report from a run that never committed
            self.writer.prepare(None)
            self.errors.prepare(None)
            fresh = Checkpoint(job=self.job, position=first, output=self.writer.commit(),
                               errors_bytes=self.errors.commit())
            write_checkpoint(self.checkpoint_file, fresh)
            return fresh
        why = job_mismatch(saved.job, self.job)
        if why is not None:
            raise HarmscopeError(f"cannot resume {self.output}: {why}; pass --overwrite to start over or "
                                 "choose another --output")
        if saved.complete and not self.output.exists():
            raise HarmscopeError(f"{self.output} is missing but its checkpoint says the job finished; pass "
                                 "--overwrite to run it again")
        if not saved.complete:
            self.writer.prepare(saved.output)
            self.errors.prepare(saved.errors_bytes)
        return saved

    def consume(self, checkpoint: Checkpoint, chunks: Iterator[pa.Table], *, engine: str,
                progress: bool) -> BatchSummary:
        import pyarrow.compute as pc

        start = time.perf_counter()
        resumed_from = checkpoint.position.row
        position, counts = checkpoint.position, checkpoint.counts
        try:
            with RowProgress(total=self.scan.rows, initial=resumed_from, enabled=progress) as bar:
                for scored in chunks:
                    if not scored.num_rows:
                        continue
                    good = pc.is_null(scored.column("error"))
                    ok, bad = scored.filter(good), scored.filter(pc.invert(good))
                    self.writer.write(ok)
                    self.errors.write(bad)
                    flagged = int(pc.sum(ok.column("flagged")).as_py() or 0)
                    counts = counts.plus(ok.num_rows, flagged, bad.num_rows)
                    position = _end(scored)
                    bar.update(scored.num_rows)
                    if self.writer.wants_commit():
                        checkpoint = self._commit(checkpoint, position, counts, complete=False)
                checkpoint = self._commit(checkpoint, position, counts, complete=True)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            self.writer.close()
            self.errors.close()
        return self.summary(checkpoint, engine=engine, resumed_from=resumed_from,
                            seconds=time.perf_counter() - start)

    def _commit(self, checkpoint: Checkpoint, position: Position, counts: Counts, *,
                complete: bool) -> Checkpoint:
        # Data first, checkpoint last: a crash in between leaves data the checkpoint does not cover,
        # which the next run removes before it continues.
        if complete:
            self.writer.finish()
        state = self.writer.commit()
        errors_bytes = self.errors.commit()
        new = Checkpoint(job=checkpoint.job, position=position, output=state, errors_bytes=errors_bytes,
                         counts=counts, complete=complete)
        write_checkpoint(self.checkpoint_file, new)
        return new

    def summary(self, checkpoint: Checkpoint, *, engine: str, resumed_from: int, seconds: float) -> BatchSummary:
        c = checkpoint.counts
        new_rows = checkpoint.position.row - resumed_from
        return BatchSummary(
            input=str(self.reader.path), output=str(self.output),
            errors_file=str(self.errors.path) if checkpoint.errors_bytes else None,
            checkpoint=str(self.checkpoint_file), input_format=self.job["input_format"],
            output_format=self.job["output_format"], engine=engine, detector=self.source.name,
            detector_fingerprint=self.source.fingerprint, threshold=_threshold(self.source.path),
            rows=c.scored + c.bad, scored=c.scored, flagged=c.flagged, bad=c.bad, resumed_from=resumed_from,
            new_rows=new_rows, seconds=round(seconds, 3),
            rows_per_second=round(new_rows / seconds, 1) if seconds > 0 else 0.0, complete=checkpoint.complete)


def _end(scored: pa.Table) -> Position:
    """The position after the last row of a scored chunk."""
    last = scored.num_rows - 1
    row = int(scored.column("row")[last].as_py())
    end_line = scored.column("end_line")[last].as_py()
    end_offset = scored.column("end_offset")[last].as_py()
    return Position(row, int(end_line or 0), int(end_offset or 0))
