"""Strict, fast readers for the file formats the datasets use (csv/tsv, jsonl, json, plain lines).

Only the standard library: the shared sets are small enough that ``csv``/``json`` beat importing pandas.
Every reader reports problems as :class:`~harmscope.errors.DataFormatError` with the file and the 1-based
line (counting a csv header as line 1), so a broken download points at the exact row to look at.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harmscope.errors import DataFormatError, DataNotFoundError

# Some sets keep whole Reddit histories in one cell; the csv default (128 KiB) is too small for them.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

REPLACEMENT_CHAR = "\ufffd"


@dataclass(frozen=True)
class DecodedText:
    """A file's text plus how many lines needed invalid UTF-8 bytes replaced (only with ``repair=True``)."""

    text: str
    repaired_lines: int = 0


def existing(path: Path) -> Path:
    """``path`` itself, or :class:`DataNotFoundError` saying how to point harmscope at the data."""
    if not path.exists():
        raise DataNotFoundError(path)
    return path


def read_text(path: Path, *, encoding: str = "utf-8", repair: bool = False) -> DecodedText:
    """Decode a whole file.

    Invalid UTF-8 raises :class:`DataFormatError` with the line of the first bad byte, unless ``repair`` is
    set: then bad bytes become U+FFFD and the number of affected lines is reported (used for OLID, whose
    official release truncates some tweets in the middle of a multi-byte character).
    """
    raw = existing(path).read_bytes()
    try:
        return DecodedText(raw.decode(encoding))
    except UnicodeDecodeError as error:
        if not repair:
            line = raw[: error.start].count(b"\n") + 1
            bad = raw[error.start: error.start + 1].hex()
            raise DataFormatError(
                path, f"not valid {encoding} (byte 0x{bad}); re-save the file as UTF-8", line
            ) from None
    text = raw.decode(encoding, errors="replace")
    return DecodedText(text, sum(1 for line in physical_lines(text) if REPLACEMENT_CHAR in line))


def physical_lines(text: str) -> list[str]:
    """Lines split on ``\n`` only (``str.splitlines`` also splits on U+2028, form feeds, … that occur
    inside JSON strings and prompts), without a trailing ``\r``."""
    return [line.removesuffix("\r") for line in text.split("\n")]


@dataclass(frozen=True)
class CsvRow:
    """One csv record: the 1-based line where it starts and its cells by column name."""

    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    def get(self, column: str, default: str = "") -> str:
        return self.cells.get(column, default)


def csv_rows(
    path: Path,
    *,
    required: Iterable[str] = (),
    delimiter: str = ",",
    encoding: str = "utf-8",
    repair: bool = False,
    quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL,
    text: str | None = None,
) -> Iterator[CsvRow]:
    """Records of a csv/tsv file with a header row.

    Fails on a missing ``required`` column (line 1) and on rows with more or fewer cells than the header.
    Blank lines are ignored, as the csv module does. ``text`` lets a caller pass already-decoded content.
    """
    if text is None:
        text = read_text(path, encoding=encoding, repair=repair).text
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(path, "file is empty; expected a header row", 1) from None
    except csv.Error as error:
        raise DataFormatError(path, f"bad csv: {error}", 1) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise DataFormatError(
            path, f"missing column(s) {', '.join(map(repr, missing))}; found {header}", 1
        )
    width = len(header)
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataFormatError(path, f"bad csv: {error}", start) from None
        if cells:
            if len(cells) != width:
                raise DataFormatError(path, f"row has {len(cells)} cells but the header has {width}", start)
            yield CsvRow(start, dict(zip(header, cells)))
        start = reader.line_num + 1


@dataclass(frozen=True)
class JsonLine:
    """One jsonl record: its 1-based line and the decoded object."""

    line: int
    value: Any


def jsonl_rows(path: Path, *, objects: bool = True) -> Iterator[JsonLine]:
    """Records of a JSON-lines file; blank lines are ignored. ``objects`` requires each value to be a dict."""
    text = read_text(path).text
    for number, line in enumerate(physical_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataFormatError(path, f"bad JSON: {error.msg} (column {error.colno})", number) from None
        if objects and not isinstance(value, dict):
            raise DataFormatError(path, f"expected a JSON object, got {type(value).__name__}", number)
        yield JsonLine(number, value)


def load_json(path: Path) -> Any:
    """A whole JSON document, with the line of a syntax error."""
    text = read_text(path).text
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, f"bad JSON: {error.msg} (column {error.colno})", error.lineno) from None


def json_list(path: Path, *, key: str | None = None, objects: bool = True) -> list[Any]:
    """A JSON array (or the array under ``key`` of a JSON object); ``objects`` requires dict items."""
    data = load_json(path)
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise DataFormatError(path, f"expected a JSON object with the key {key!r}")
        data = data[key]
    if not isinstance(data, list):
        raise DataFormatError(path, f"expected a JSON array{f' under {key!r}' if key else ''}")
    if objects:
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise DataFormatError(path, f"item {index} is a {type(item).__name__}, expected an object")
    return data


def need(path: Path, mapping: Mapping[str, Any], key: str, line: int | None, where: str = "") -> Any:
    """``mapping[key]``, or a DataFormatError naming the missing key."""
    if key not in mapping:
        raise DataFormatError(path, f"missing key {key!r}{where}", line)
    return mapping[key]


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a plain-text file with their 1-based numbers (line endings stripped)."""
    for number, line in enumerate(physical_lines(read_text(path).text), start=1):
        if line.strip():
            yield number, line
