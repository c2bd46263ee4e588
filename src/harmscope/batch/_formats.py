"""File formats of ``moderate-batch``: which ones exist, how a path's suffix picks one, and the column
layouts shared by readers, the scorer and writers (stdlib only; pyarrow schemas are built on demand)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harmscope.errors import HarmscopeError

if TYPE_CHECKING:
    import pyarrow as pa

InputFormat = Literal["jsonl", "csv", "parquet"]
OutputFormat = Literal["jsonl", "parquet"]
INPUT_FORMATS: tuple[InputFormat, ...] = ("jsonl", "csv", "parquet")
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("jsonl", "parquet")

_SUFFIXES: dict[str, InputFormat] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
}


def input_format(path: Path, given: str | None) -> InputFormat:
    """``given`` if set (validated), else the format named by the file's suffix."""
    if given not in (None, "auto"):
        if given not in INPUT_FORMATS:
            raise HarmscopeError(f"--input-format {given!r}: use one of {', '.join(INPUT_FORMATS)}")
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise HarmscopeError(f"cannot tell the format of {path.name!r} from its suffix; name it .jsonl, .csv "
                             "or .parquet, or pass --input-format")
    return found


def output_format(path: Path, given: str | None) -> OutputFormat:
    """``given`` if set (validated), else ``jsonl`` for .jsonl/.ndjson and ``parquet`` for .parquet."""
    if given not in (None, "auto"):
        if given not in OUTPUT_FORMATS:
            raise HarmscopeError(f"--output-format {given!r}: use one of {', '.join(OUTPUT_FORMATS)}")
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found not in OUTPUT_FORMATS:
        raise HarmscopeError(f"cannot tell the output format of {path.name!r} from its suffix; name it .jsonl "
                             "or .parquet, or pass --output-format")
    return found


# -- column layouts ---------------------------------------------------------------------------------
# Source chunks (reader -> scorer): one row per input record, good or bad.
#   row        int64   1-based number of the record among the data records (bad ones included)
#   line       int64   physical line where the record starts (jsonl, csv); null for parquet
#   id         string  the id field's value as a string, else str(row); null when a bad row has none
#   text       string  the prompt; null for a bad row
#   error      string  why the row is bad; null for a good row
#   end_line   int64   physical lines consumed after this record (jsonl, csv); null for parquet
#   end_offset int64   input bytes consumed after this record (jsonl, csv); null for parquet
# Scored chunks (scorer -> writer): the same without ``text``, plus the OUTPUT_COLUMNS.
OUTPUT_COLUMNS: tuple[str, ...] = ("id", "row", "score", "flagged", "category", "category_scores")


def source_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("row", pa.int64()), ("line", pa.int64()), ("id", pa.string()), ("text", pa.string()),
                      ("error", pa.string()), ("end_line", pa.int64()), ("end_offset", pa.int64())])


def category_scores_type() -> pa.DataType:
    import pyarrow as pa

    return pa.list_(pa.struct([("category", pa.string()), ("score", pa.float64())]))


def scored_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("row", pa.int64()), ("line", pa.int64()), ("id", pa.string()), ("error", pa.string()),
                      ("end_line", pa.int64()), ("end_offset", pa.int64()), ("score", pa.float64()),
                      ("flagged", pa.bool_()), ("category", pa.string()),
                      ("category_scores", category_scores_type())])


def output_schema() -> pa.Schema:
    """What the output file holds per scored row (see docs/batch.md)."""
    full = scored_schema()
    import pyarrow as pa

    return pa.schema([full.field(name) for name in OUTPUT_COLUMNS])
