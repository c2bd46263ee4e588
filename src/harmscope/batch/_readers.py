"""Streaming readers for ``moderate-batch``: jsonl, csv and parquet in, Arrow chunks of source rows out.

Every input record becomes one row (see ``_formats`` for the columns): a good row carries its text, a
bad row (invalid JSON, not UTF-8, missing/non-string/empty text, ...) carries the reason instead, so no
record is ever dropped silently and the writer can report it with its line. Chunks are cut at global
row numbers (rows ``1..n``, ``n+1..2n``, ...), whatever the starting point, so a resumed run and the
Ray engine score exactly the same batches as one uninterrupted local run: detectors whose scores depend
on what else is in the batch (kNN ties, transformer padding) still give identical results.

Readers hold only a path and options (they pickle cheaply into Ray read tasks) and never keep more
than one chunk in memory. Prompt text never appears in a reason or an exception message.
"""

from __future__ import annotations

import csv
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harmscope.batch._formats import InputFormat, source_schema
from harmscope.batch._position import Position
from harmscope.errors import DataFormatError, DataNotFoundError

if TYPE_CHECKING:
    import pyarrow as pa

_SCAN_BLOCK = 8 * 1024 * 1024
_PARQUET_BATCH = 8192
_CSV_FIELD_LIMIT = 64 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class InputScan:
    """One pass over the input file: its identity and size, for checkpoints, progress and Ray splits."""

    sha256: str
    size: int
    rows: int | None
    """Number of data records: exact for jsonl and parquet, estimated from newlines for csv."""
    rows_exact: bool
    boundaries: tuple[Position, ...]
    """Positions after every ``chunk_size``-th row where they are known without parsing (jsonl,
    parquet); the Ray engine splits its read tasks there. Empty for csv (quoted newlines)."""


class _ChunkBuilder:
    """Column lists for one source chunk."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {n: [] for n in ("row", "line", "id", "text", "error", "end_line",
                                                            "end_offset")}

    def __len__(self) -> int:
        return len(self.cols["row"])

    def add(self, row: int, line: int | None, id_: str | None, text: str | None, error: str | None,
            end_line: int | None, end_offset: int | None) -> None:
        for name, value in (("row", row), ("line", line), ("id", id_), ("text", text), ("error", error),
                            ("end_line", end_line), ("end_offset", end_offset)):
            self.cols[name].append(value)

    def take(self) -> pa.Table:
        import pyarrow as pa

        table = pa.Table.from_pydict(self.cols, schema=source_schema())
        self.cols = {n: [] for n in self.cols}
        return table


def _type_name(value: Any) -> str:
    return "null" if value is None else {"str": "string", "dict": "object", "list": "array", "bool": "boolean",
                                         "int": "integer", "float": "number"}.get(type(value).__name__,
                                                                                  type(value).__name__)


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SourceReader(ABC):
    """Reads one input file in chunks of ``chunk_size`` rows. Subclasses: one per format."""

    format: ClassVar[InputFormat]

    def __init__(self, path: str | Path, *, text_field: str = "text", id_field: str = "id",
                 id_required: bool = False, chunk_size: int = 1000) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataNotFoundError(self.path, "check the --input path (a file, not a folder)")
        if not text_field:
            raise DataFormatError(self.path, "the text field name is empty; pass --text-field NAME")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.text_field = text_field
        self.id_field = id_field
        self.id_required = id_required
        self.chunk_size = chunk_size

    # -- to implement -------------------------------------------------------------------------------
    @abstractmethod
    def start(self) -> Position:
        """The position before the first data record (after a csv header); also checks the columns."""

    @abstractmethod
    def chunks(self, start: Position, stop_row: int | None = None) -> Iterator[pa.Table]:
        """Source chunks from ``start`` up to and including row ``stop_row`` (None: to the end)."""

    # -- shared -------------------------------------------------------------------------------------
    def scan(self, *, find_boundaries: bool = False) -> InputScan:
        """Hash the file (sha256), count its records and find chunk boundaries, in one pass.

        csv boundaries (and an exact count) need a second, parsing pass: only with ``find_boundaries``."""
        digest = hashlib.sha256()
        size = newlines = 0
        last = b""
        boundaries: list[Position] = []
        import numpy as np

        with self.path.open("rb") as f:
            while block := f.read(_SCAN_BLOCK):
                digest.update(block)
                if self.format != "parquet":
                    where = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                    if self.format == "jsonl" and where.size:
                        lines = np.arange(newlines + 1, newlines + 1 + where.size)
                        keep = lines % self.chunk_size == 0
                        boundaries.extend(Position(int(r), int(r), int(size + o + 1))
                                          for r, o in zip(lines[keep], where[keep]))
                    newlines += int(where.size)
                last = block[-1:]
                size += len(block)
        lines_total = newlines + (1 if size and last != b"\n" else 0)
        rows, exact = self._count(lines_total)
        if self.format == "parquet":
            assert rows is not None
            boundaries = [Position(r) for r in range(self.chunk_size, rows, self.chunk_size)]
        elif rows is not None:
            boundaries = [b for b in boundaries if b.row < rows]
        return InputScan(digest.hexdigest(), size, rows, exact, tuple(boundaries))

    def _count(self, lines: int) -> tuple[int | None, bool]:
        return lines, True

    def splits(self, start: Position, scan: InputScan, parts: int) -> list[tuple[Position, int | None]]:
        """At most ``parts`` consecutive ranges ``(start, stop_row)`` covering the input from ``start``,
        cut at chunk boundaries (one range when the format has none, as csv)."""
        after = [b for b in scan.boundaries if b.row > start.row]
        if parts <= 1 or not after:
            return [(start, None)]
        step = max(1, -(-len(after) // parts))
        cuts = after[step - 1::step][:parts - 1]
        ranges: list[tuple[Position, int | None]] = []
        begin = start
        for cut in cuts:
            ranges.append((begin, cut.row))
            begin = cut
        ranges.append((begin, None))
        return ranges

    def _id_for(self, value: Any, row: int) -> tuple[str | None, str | None]:
        """(id, error) for the id field's value of record ``row``."""
        if value is None or value == "":
            if self.id_required:
                return None, f"id field {self.id_field!r} is missing or empty"
            return str(row), None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None, f"id field {self.id_field!r} is {_type_name(value)}, expected a string or integer"
        text = str(value)
        if not _valid_unicode(text):
            return None, f"id field {self.id_field!r} is not valid UTF-8"
        return text, None

    def _text_error(self, value: Any) -> str | None:
        if value is None:
            return f"text field {self.text_field!r} is null"
        if not isinstance(value, str):
            return f"text field {self.text_field!r} is {_type_name(value)}, expected a string"
        if not value.strip():
            return f"text field {self.text_field!r} is empty"
        if not _valid_unicode(value):
            return f"text field {self.text_field!r} is not valid UTF-8"
        return None


class JsonlReader(SourceReader):
    """One JSON object per line. Every physical line is a record (a blank line is a bad row), so the
    row number and the line number are the same."""

    format = "jsonl"

    def start(self) -> Position:
        return Position()

    def chunks(self, start: Position, stop_row: int | None = None) -> Iterator[pa.Table]:
        check_fields = start.row == 0
        objects = with_field = 0
        keys_seen: dict[str, None] = {}
        builder = _ChunkBuilder()
        row, offset = start.row, start.offset
        with self.path.open("rb") as f:
            f.seek(offset)
            for raw in f:
                row += 1
                offset += len(raw)
                id_, text, error, obj = self._parse(raw, row)
                if obj is not None and check_fields:
                    objects += 1
                    if self.text_field in obj:
                        with_field += 1
                    elif len(keys_seen) < 20:
                        keys_seen.update(dict.fromkeys(str(k)[:40] for k in list(obj)[:20]))
                builder.add(row, row, id_, text, error, row, offset)
                if row % self.chunk_size == 0 or row == stop_row:
                    if check_fields:
                        self._check_field_seen(objects, with_field, keys_seen)
                        check_fields = False
                    yield builder.take()
                if row == stop_row:
                    return
        if check_fields:
            self._check_field_seen(objects, with_field, keys_seen)
        if len(builder):
            yield builder.take()

    def _check_field_seen(self, objects: int, with_field: int, keys: dict[str, None]) -> None:
        """A wrong --text-field is a usage error, not a file full of bad rows: stop at the first chunk."""
        if objects and not with_field:
            seen = ", ".join(list(keys)[:10]) or "none"
            raise DataFormatError(self.path, f"none of the first {objects} JSON objects has the text field "
                                  f"{self.text_field!r} (fields seen: {seen}); pass --text-field NAME")

    def _parse(self, raw: bytes, row: int) -> tuple[str | None, str | None, str | None, dict[str, Any] | None]:
        """(id, text, error, parsed object) for one line."""
        body = raw.rstrip(b"\r\n")
        if row == 1 and body.startswith(_BOM):
            body = body[len(_BOM):]
        if not body.strip():
            return None, None, "blank line", None
        try:
            decoded = body.decode("utf-8")
        except UnicodeDecodeError as error:
            return None, None, f"not valid UTF-8 (byte {error.start + 1} of the line)", None
        try:
            obj = json.loads(decoded)
        except json.JSONDecodeError as error:
            return None, None, f"invalid JSON ({error.msg} at column {error.colno})", None
        except RecursionError:
            return None, None, "invalid JSON (nested too deeply)", None
        if not isinstance(obj, dict):
            return None, None, f"not a JSON object (a JSON {_type_name(obj)})", None
        if self.text_field not in obj:
            id_, _ = self._id_for(obj.get(self.id_field), row)
            return id_, None, f"missing text field {self.text_field!r}", obj
        id_, id_error = self._id_for(obj.get(self.id_field), row)
        text = obj[self.text_field]
        reason = self._text_error(text) or id_error
        return id_, (text if reason is None else None), reason, obj


class CsvReader(SourceReader):
    """Comma-separated values with a header row (RFC 4180 quoting: quoted fields may span lines).

    ``row`` counts data records (header excluded); ``line`` is the physical line where a record starts.
    A record with a different number of fields than the header is a bad row (a sign of broken quoting).
    """

    format = "csv"

    def _header(self) -> tuple[list[str], Position]:
        if csv.field_size_limit() < _CSV_FIELD_LIMIT:
            csv.field_size_limit(_CSV_FIELD_LIMIT)  # long prompts (pasted documents) are not errors
        with self.path.open("rb") as f:
            offset = len(_BOM) if f.read(len(_BOM)) == _BOM else 0
            f.seek(offset)
            counter = _LineCounter(f, Position(0, 0, offset))
            try:
                header = next(csv.reader(counter.lines()), None)
            except csv.Error as error:
                raise DataFormatError(self.path, f"the header row is not valid CSV ({error})", 1) from None
        if header is None:
            raise DataFormatError(self.path, "the file is empty; a CSV input needs a header row naming its "
                                  "columns")
        if any(not _valid_unicode(name) for name in header):
            raise DataFormatError(self.path, "the header row is not valid UTF-8", 1)
        return header, counter.position

    def start(self) -> Position:
        header, position = self._header()
        if self.text_field not in header:
            raise DataFormatError(self.path, f"no column {self.text_field!r} (columns: "
                                  f"{', '.join(header[:20])}); pass --text-field NAME", 1)
        if self.id_required and self.id_field not in header:
            raise DataFormatError(self.path, f"no id column {self.id_field!r} (columns: "
                                  f"{', '.join(header[:20])}); pass --id-field NAME or leave it out", 1)
        return position

    def _count(self, lines: int) -> tuple[int | None, bool]:
        return max(0, lines - 1), False

    def scan(self, *, find_boundaries: bool = False) -> InputScan:
        base = super().scan()
        if not find_boundaries:
            return base
        rows = 0
        boundaries: list[Position] = []
        _, first = self._header()
        with self.path.open("rb") as f:
            f.seek(first.offset)
            counter = _LineCounter(f, first)
            reader = csv.reader(counter.lines())
            while True:
                try:
                    if next(reader, None) is None:
                        break
                except csv.Error:
                    pass  # a bad record: counted like chunks() counts it
                rows += 1
                if rows % self.chunk_size == 0:
                    boundaries.append(Position(rows, counter.position.line, counter.position.offset))
        return InputScan(base.sha256, base.size, rows, True, tuple(b for b in boundaries if b.row < rows))

    def chunks(self, start: Position, stop_row: int | None = None) -> Iterator[pa.Table]:
        header, first = self._header()
        if start.row == 0:
            start = first
        text_at = header.index(self.text_field)
        id_at = header.index(self.id_field) if self.id_field in header else None
        builder = _ChunkBuilder()
        row = start.row
        with self.path.open("rb") as f:
            f.seek(start.offset)
            counter = _LineCounter(f, start)
            reader = csv.reader(counter.lines())
            while True:
                begin_line = counter.position.line + 1
                try:
                    record = next(reader, None)
                    if record is None:
                        break
                    id_, text, reason = self._record(record, len(header), text_at, id_at, row + 1)
                except csv.Error as exc:
                    id_, text, reason = None, None, f"not valid CSV ({exc})"
                row += 1
                end = counter.position
                builder.add(row, begin_line, id_, text, reason, end.line, end.offset)
                if row % self.chunk_size == 0 or row == stop_row:
                    yield builder.take()
                if row == stop_row:
                    return
        if len(builder):
            yield builder.take()

    def _record(self, record: list[str], width: int, text_at: int, id_at: int | None,
                row: int) -> tuple[str | None, str | None, str | None]:
        if not record:
            return None, None, "blank line"
        if len(record) != width:
            return None, None, f"has {len(record)} fields, the header has {width}"
        id_, id_error = self._id_for(record[id_at] if id_at is not None else None, row)
        text = record[text_at]
        error = self._text_error(text) or id_error
        return id_, (text if error is None else None), error


class _LineCounter:
    """Feeds decoded lines to ``csv.reader`` and counts the lines and bytes it has taken. The csv module
    pulls lines only until a record is complete, so after each record the count is exact."""

    def __init__(self, stream: Any, start: Position) -> None:
        self.stream = stream
        self.position = start

    def lines(self) -> Iterator[str]:
        for raw in self.stream:
            p = self.position
            self.position = Position(p.row, p.line + 1, p.offset + len(raw))
            # surrogateescape keeps undecodable bytes visible to the UTF-8 check on the text field
            yield raw.decode("utf-8", "surrogateescape")


class ParquetReader(SourceReader):
    """A parquet file, read one row group at a time and only the text (and id) columns."""

    format = "parquet"

    def _file(self) -> Any:
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except (OSError, ValueError) as error:  # ArrowInvalid (a ValueError) for a file that is not parquet
            raise DataFormatError(self.path, f"not a readable parquet file ({type(error).__name__})") from None

    def _columns(self, pf: Any) -> tuple[str, str | None]:
        import pyarrow as pa

        schema = pf.schema_arrow
        if self.text_field not in schema.names:
            raise DataFormatError(self.path, f"no column {self.text_field!r} (columns: "
                                  f"{', '.join(schema.names[:20])}); pass --text-field NAME")
        text_type = schema.field(self.text_field).type
        if pa.types.is_dictionary(text_type):
            text_type = text_type.value_type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)
                or pa.types.is_string_view(text_type)):
            raise DataFormatError(self.path, f"column {self.text_field!r} holds {text_type}, not strings; "
                                  "pass the --text-field that holds the prompts")
        if self.id_field not in schema.names:
            if self.id_required:
                raise DataFormatError(self.path, f"no id column {self.id_field!r} (columns: "
                                      f"{', '.join(schema.names[:20])}); pass --id-field NAME or leave it out")
            return self.text_field, None
        id_type = schema.field(self.id_field).type
        if pa.types.is_dictionary(id_type):
            id_type = id_type.value_type
        if not (pa.types.is_integer(id_type) or pa.types.is_string(id_type) or pa.types.is_large_string(id_type)
                or pa.types.is_string_view(id_type)):
            raise DataFormatError(self.path, f"id column {self.id_field!r} holds {id_type}; ids must be strings "
                                  "or integers (pass another --id-field)")
        return self.text_field, self.id_field

    def start(self) -> Position:
        self._columns(self._file())
        return Position()

    def _count(self, lines: int) -> tuple[int | None, bool]:
        return int(self._file().metadata.num_rows), True

    def chunks(self, start: Position, stop_row: int | None = None) -> Iterator[pa.Table]:
        return aligned_chunks(self._tables(start, stop_row), self.chunk_size)

    def _tables(self, start: Position, stop_row: int | None) -> Iterator[pa.Table]:
        pf = self._file()
        text_col, id_col = self._columns(pf)
        columns = [text_col] + ([id_col] if id_col else [])
        first = 0  # 0-based index of the row group's first row
        stop = stop_row if stop_row is not None else pf.metadata.num_rows
        for group in range(pf.num_row_groups):
            n = pf.metadata.row_group(group).num_rows
            if first + n <= start.row:
                first += n
                continue
            if first >= stop:
                break
            at = first
            for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, row_groups=[group], columns=columns):
                lo, hi = max(start.row - at, 0), min(stop - at, batch.num_rows)
                if hi > lo:
                    yield self._source(batch.slice(lo, hi - lo), at + lo, text_col, id_col)
                at += batch.num_rows
                if at >= stop:
                    return
            first += n

    def _source(self, batch: Any, first: int, text_col: str, id_col: str | None) -> pa.Table:
        """Source rows for ``batch`` whose first row has 0-based index ``first`` (vectorised checks)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = batch.num_rows
        rows = pa.array(range(first + 1, first + n + 1), type=pa.int64())
        text = pc.cast(batch.column(text_col), pa.string())
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
        error = pc.if_else(pc.is_null(text), pa.scalar(f"text field {self.text_field!r} is null"),
                           pc.if_else(empty, pa.scalar(f"text field {self.text_field!r} is empty"),
                                      pa.scalar(None, pa.string())))
        row_ids = pc.cast(rows, pa.string())
        if id_col is None:
            ids = row_ids
        else:
            given = pc.cast(batch.column(id_col), pa.string())
            missing = pc.or_kleene(pc.is_null(given), pc.equal(given, ""))
            if self.id_required:
                error = pc.if_else(pc.and_(pc.is_null(error), missing),
                                   pa.scalar(f"id field {self.id_field!r} is missing or empty"), error)
            ids = pc.if_else(missing, row_ids, given)
        good = pc.is_null(error)
        nulls = pa.nulls(n, pa.int64())
        return pa.Table.from_arrays(
            [rows, nulls, ids, pc.if_else(good, text, pa.scalar(None, pa.string())), error, nulls, nulls],
            schema=source_schema())


def aligned_chunks(tables: Iterable[pa.Table], chunk_size: int) -> Iterator[pa.Table]:
    """Re-cut consecutive source tables so that every chunk ends at a multiple of ``chunk_size``
    (by the ``row`` column), except possibly the last."""
    import pyarrow as pa

    pending: list[pa.Table] = []
    pending_rows = 0
    for table in tables:
        while table.num_rows:
            head = pending[0] if pending else table
            first = int(head.column("row")[0].as_py())
            boundary = ((first - 1) // chunk_size + 1) * chunk_size
            need = boundary - first + 1 - pending_rows
            if table.num_rows < need:
                pending.append(table)
                pending_rows += table.num_rows
                break
            pending.append(table.slice(0, need))
            yield pa.concat_tables(pending).combine_chunks()
            pending, pending_rows = [], 0
            table = table.slice(need)
    if pending:
        yield pa.concat_tables(pending).combine_chunks()


READERS: dict[InputFormat, type[SourceReader]] = {"jsonl": JsonlReader, "csv": CsvReader,
                                                   "parquet": ParquetReader}


def open_reader(path: str | Path, fmt: InputFormat, **options: Any) -> SourceReader:
    """The reader for ``fmt`` (options: text_field, id_field, id_required, chunk_size)."""
    return READERS[fmt](path, **options)
