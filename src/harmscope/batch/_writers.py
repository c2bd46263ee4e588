"""Crash-safe writers for ``moderate-batch``: results (jsonl file or parquet folder) and the bad-row report.

Nothing is trusted until it is *committed*: a commit makes the written data durable (fsync) and returns
the writer's state, which the job stores in its checkpoint. On resume each writer is put back to the
state of the last checkpoint, so a crash anywhere leaves no half-written or duplicated rows:

- jsonl: one file, appended and fsynced per commit; on resume it is truncated to the committed size
  (which drops a half-written last line).
- parquet: a folder of part files ``part-000000.parquet``, ...; a part is written under a hidden
  temporary name (``.part-000000.parquet.tmp``, which parquet readers skip), one row group per chunk, and
  renamed into place when committed. On resume, parts the checkpoint does not list are deleted.
- errors: ``<output>.errors.jsonl``, one object per bad row (row, line, id, reason; never the text),
  created at the first bad row, handled like the jsonl output.
"""

from __future__ import annotations

import json
import os
import re
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from harmscope.batch._formats import OUTPUT_COLUMNS, OutputFormat, output_schema
from harmscope.errors import HarmscopeError

if TYPE_CHECKING:
    import pyarrow as pa

PART_RE = re.compile(r"^part-(\d{6})\.parquet$")
TMP_RE = re.compile(r"^\.part-(\d{6})\.parquet\.tmp$")
ERROR_FIELDS: tuple[str, ...] = ("row", "line", "id", "reason")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _AppendFile:
    """An append-only file whose committed length is recorded; created on the first write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: BinaryIO | None = None
        self._committed = 0

    def prepare(self, committed: int | None) -> None:
        """Fresh (``None``: the file must not exist) or back to ``committed`` bytes (resume)."""
        if committed is None:
            if self.path.exists():
                raise HarmscopeError(f"{self.path} already exists; pass --overwrite to replace it")
            self._committed = 0
            return
        if self.path.exists():
            size = self.path.stat().st_size
            if size < committed:
                raise HarmscopeError(f"{self.path} is shorter ({size} bytes) than its checkpoint says "
                                     f"({committed}); it was changed by hand: pass --overwrite to start over")
            if committed == 0:
                self.path.unlink()
            elif size > committed:
                with self.path.open("r+b") as f:
                    f.truncate(committed)
        elif committed:
            raise HarmscopeError(f"{self.path} is missing but its checkpoint lists {committed} bytes; "
                                 "pass --overwrite to start over")
        self._committed = committed

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._f is None:
            self._f = self.path.open("ab")
        self._f.write(data)

    def commit(self) -> int:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._committed = self._f.tell()
        return self._committed

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in rows).encode("utf-8")


class ResultWriter(ABC):
    """Where scored rows go. ``state()``/``prepare(state)`` round-trip through the checkpoint."""

    format: OutputFormat

    def __init__(self, path: Path) -> None:
        self.path = path

    @abstractmethod
    def prepare(self, state: dict[str, Any] | None) -> None:
        """Start fresh (``None``) or return to a committed ``state`` (resume)."""

    @abstractmethod
    def write(self, table: pa.Table) -> None:
        """Append scored rows (``_formats.output_schema``)."""

    @abstractmethod
    def wants_commit(self) -> bool:
        """Whether enough has been written since the last commit to make it durable now."""

    @abstractmethod
    def commit(self) -> dict[str, Any]:
        """Make everything written so far durable; the state to store in the checkpoint."""

    @abstractmethod
    def close(self) -> None:
        """Release files without committing (what is uncommitted is cleaned up on resume)."""

    def finish(self) -> None:
        """Before the last commit: make sure an output exists even when no row was scored."""

    @staticmethod
    @abstractmethod
    def remove(path: Path) -> None:
        """Delete an output of this format (``--overwrite``); refuse to delete what it did not write."""


class JsonlResultWriter(ResultWriter):
    """One JSON object per scored row, committed after every chunk."""

    format = "jsonl"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file = _AppendFile(path)

    def prepare(self, state: dict[str, Any] | None) -> None:
        if self.path.is_dir():
            raise HarmscopeError(f"{self.path} is a folder; a jsonl output is a file: choose another --output")
        self._file.prepare(None if state is None else int(state["bytes"]))

    def write(self, table: pa.Table) -> None:
        self._file.write(_jsonl(table.select(list(OUTPUT_COLUMNS)).to_pylist()))

    def wants_commit(self) -> bool:
        return True

    def finish(self) -> None:
        self.path.touch()

    def commit(self) -> dict[str, Any]:
        return {"bytes": self._file.commit()}

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def remove(path: Path) -> None:
        if path.is_dir():
            raise HarmscopeError(f"{path} is a folder, not a jsonl output; refusing to delete it")
        path.unlink(missing_ok=True)


class ParquetResultWriter(ResultWriter):
    """A folder of parquet parts; a part holds up to ``part_rows`` rows (one row group per chunk) and is
    committed when full or ``commit_seconds`` after it was opened, whichever comes first."""

    format = "parquet"

    def __init__(self, path: Path, *, part_rows: int = 200_000, commit_seconds: float = 60.0) -> None:
        super().__init__(path)
        self.part_rows = part_rows
        self.commit_seconds = commit_seconds
        self._parts: list[str] = []
        self._writer: Any = None
        self._tmp: Path | None = None
        self._rows_in_part = 0
        self._opened = 0.0

    def prepare(self, state: dict[str, Any] | None) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise HarmscopeError(f"{self.path} is a file; a parquet output is a folder of parts: choose another "
                                 "--output (or remove the file)")
        parts = [] if state is None else [str(p) for p in state["parts"]]
        if state is None and self.path.is_dir() and any(self.path.iterdir()):
            raise HarmscopeError(f"{self.path} already exists and is not empty; pass --overwrite to replace it")
        self.path.mkdir(parents=True, exist_ok=True)
        present = {p.name for p in self.path.iterdir()}
        missing = [p for p in parts if p not in present]
        if missing:
            raise HarmscopeError(f"{self.path}: part {missing[0]} listed in the checkpoint is missing; "
                                 "pass --overwrite to start over")
        for name in sorted(present - set(parts)):
            if PART_RE.match(name) or TMP_RE.match(name):
                (self.path / name).unlink()  # written after the last commit: redone now
            else:
                raise HarmscopeError(f"{self.path} holds {name!r}, which moderate-batch did not write; "
                                     "choose another --output")
        self._parts = parts

    def write(self, table: pa.Table, *, allow_empty: bool = False) -> None:
        if not table.num_rows and not allow_empty:
            return
        if self._writer is None:
            import pyarrow.parquet as pq

            index = len(self._parts)
            self._tmp = self.path / f".part-{index:06d}.parquet.tmp"
            self._writer = pq.ParquetWriter(self._tmp, output_schema())
            self._rows_in_part = 0
            self._opened = time.monotonic()
        self._writer.write_table(table.select(list(OUTPUT_COLUMNS)).cast(output_schema()))
        self._rows_in_part += table.num_rows

    def finish(self) -> None:
        if not self._parts and self._writer is None:  # an empty table, so readers find the schema
            import pyarrow as pa

            self.write(pa.Table.from_pylist([], schema=output_schema()), allow_empty=True)

    def wants_commit(self) -> bool:
        if self._writer is None:
            return False
        return self._rows_in_part >= self.part_rows or time.monotonic() - self._opened >= self.commit_seconds

    def commit(self) -> dict[str, Any]:
        if self._writer is not None:
            assert self._tmp is not None
            self._writer.close()
            self._writer = None
            with self._tmp.open("rb") as f:
                os.fsync(f.fileno())
            final = self.path / f"part-{len(self._parts):06d}.parquet"
            os.replace(self._tmp, final)
            _fsync_dir(self.path)
            self._parts.append(final.name)
            self._tmp = None
        return {"parts": list(self._parts)}

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None

    @staticmethod
    def remove(path: Path) -> None:
        if not path.exists():
            return
        if not path.is_dir():
            raise HarmscopeError(f"{path} is a file, not a parquet output folder; refusing to delete it")
        foreign = [p.name for p in path.iterdir() if not (PART_RE.match(p.name) or TMP_RE.match(p.name))]
        if foreign:
            raise HarmscopeError(f"{path} holds {foreign[0]!r}, which moderate-batch did not write; refusing "
                                 "to delete the folder")
        for p in path.iterdir():
            p.unlink()
        path.rmdir()


class ErrorWriter:
    """``<output>.errors.jsonl``: one ``{"row", "line", "id", "reason"}`` object per bad row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = _AppendFile(path)

    def prepare(self, committed: int | None) -> None:
        self._file.prepare(committed)

    def write(self, bad: pa.Table) -> None:
        if bad.num_rows:
            rows = bad.select(["row", "line", "id", "error"]).to_pylist()
            self._file.write(_jsonl([{"row": r["row"], "line": r["line"], "id": r["id"], "reason": r["error"]}
                                     for r in rows]))

    def commit(self) -> int:
        return self._file.commit()

    def close(self) -> None:
        self._file.close()


def result_writer(fmt: OutputFormat, path: Path, **options: Any) -> ResultWriter:
    """The writer for ``fmt`` (parquet options: part_rows, commit_seconds)."""
    if fmt == "jsonl":
        return JsonlResultWriter(path)
    return ParquetResultWriter(path, **options)


def remove_output(fmt: OutputFormat, path: Path) -> None:
    (JsonlResultWriter if fmt == "jsonl" else ParquetResultWriter).remove(path)
