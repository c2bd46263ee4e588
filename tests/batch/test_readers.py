"""Readers: every record becomes one row (good or bad, with its line), chunks are cut at global row
numbers, and reading from a saved position gives exactly the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from harmscope.batch._position import Position
from harmscope.batch._readers import aligned_chunks, open_reader
from harmscope.errors import DataFormatError


def _rows(reader: Any, start: Position | None = None, stop: int | None = None) -> list[dict[str, Any]]:
    chunks = list(reader.chunks(start if start is not None else reader.start(), stop))
    return pa.concat_tables(chunks).to_pylist() if chunks else []


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_each_format_reads_every_row_in_aligned_chunks(fmt: str, tmp_path: Path, bx: Any) -> None:
    path = bx.WRITERS[fmt](tmp_path / f"in.{fmt}", bx.records(25))
    reader = open_reader(path, fmt, chunk_size=10)
    chunks = list(reader.chunks(reader.start()))
    assert [c.num_rows for c in chunks] == [10, 10, 5]
    rows = pa.concat_tables(chunks).to_pylist()
    assert [r["row"] for r in rows] == list(range(1, 26))
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(25)]
    assert [r["text"] for r in rows] == [bx.prompt(i) for i in range(25)]
    assert all(r["error"] is None for r in rows)
    if fmt == "parquet":
        assert all(r["line"] is None for r in rows)
    else:  # csv: the header is line 1
        assert [r["line"] for r in rows] == [i + (2 if fmt == "csv" else 1) for i in range(25)]
    scan = reader.scan(find_boundaries=True)
    assert scan.rows == 25 and scan.size == path.stat().st_size
    assert [b.row for b in scan.boundaries] == [10, 20]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_resume_from_any_boundary_gives_the_rest(fmt: str, tmp_path: Path, bx: Any) -> None:
    path = bx.WRITERS[fmt](tmp_path / f"in.{fmt}", bx.records(47))
    reader = open_reader(path, fmt, chunk_size=10)
    whole = _rows(reader)
    for boundary in reader.scan(find_boundaries=True).boundaries:
        rest = _rows(reader, boundary)
        assert rest == whole[boundary.row:], boundary
    # ranges as the Ray engine splits them cover the file exactly once
    scan = reader.scan(find_boundaries=True)
    ranges = reader.splits(reader.start(), scan, 3)
    assert len(ranges) == 3
    assert [r for begin, stop in ranges for r in _rows(reader, begin, stop)] == whole


def test_jsonl_bad_rows_are_kept_with_line_and_reason(tmp_path: Path, bx: Any) -> None:
    extra = {1: b"not json at all\n", 3: b'{"text": 42}\n', 4: b'{"text": "caf\xff"}\n', 5: b"\n",
             6: b'["a list"]\n', 7: b'{"prompt": "other field"}\n', 8: b'{"text": "   "}\n',
             9: b'{"id": [1], "text": "fine text"}\n', 10: b'{"text": null}\n'}
    path = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(3), extra)
    rows = _rows(open_reader(path, "jsonl", chunk_size=4))
    assert len(rows) == 12 and [r["line"] for r in rows] == list(range(1, 13))
    reasons = {r["line"]: r["error"] for r in rows if r["error"]}
    assert reasons == {
        2: "invalid JSON (Expecting value at column 1)",
        4: "text field 'text' is integer, expected a string",
        5: "not valid UTF-8 (byte 14 of the line)",
        6: "blank line",
        7: "not a JSON object (a JSON array)",
        8: "missing text field 'text'",
        9: "text field 'text' is empty",
        10: "id field 'id' is array, expected a string or integer",
        11: "text field 'text' is null",
    }
    assert all(r["text"] is None for r in rows if r["error"])
    assert all("caf" not in (r["error"] or "") and "other field" not in (r["error"] or "") for r in rows)


def test_jsonl_wrong_text_field_is_one_clear_error(tmp_path: Path, bx: Any) -> None:
    path = bx.write_jsonl(tmp_path / "in.jsonl", [{"prompt": "x", "id": 1}] * 5)
    with pytest.raises(DataFormatError, match=r"none of the first 3 JSON objects has the text field 'text' "
                                              r"\(fields seen: prompt, id\); pass --text-field"):
        _rows(open_reader(path, "jsonl", chunk_size=3))
    assert [r["text"] for r in _rows(open_reader(path, "jsonl", text_field="prompt"))] == ["x"] * 5


def test_ids_default_to_the_row_number_unless_required(tmp_path: Path, bx: Any) -> None:
    path = bx.write_jsonl(tmp_path / "in.jsonl", [{"text": "a b"}, {"id": 7, "text": "c d"}, {"id": "", "text": "e"}])
    rows = _rows(open_reader(path, "jsonl"))
    assert [r["id"] for r in rows] == ["1", "7", "3"] and all(r["error"] is None for r in rows)
    rows = _rows(open_reader(path, "jsonl", id_field="id", id_required=True))
    assert [r["error"] for r in rows] == ["id field 'id' is missing or empty", None,
                                          "id field 'id' is missing or empty"]


def test_csv_bad_rows_multiline_fields_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"\xef\xbb\xbfid,text\n"
                     b'a,"a quoted prompt\nover two lines"\n'   # lines 2-3
                     b"b,\n"                                   # 4: empty text
                     b"c,one,two\n"                            # 5: too many fields
                     b"\n"                                     # 6: blank
                     b"d,caf\xff\n"                            # 7: not UTF-8
                     b"e,last one")                            # 8: no trailing newline
    reader = open_reader(path, "csv", chunk_size=2)
    rows = _rows(reader)
    assert [(r["row"], r["line"], r["id"], r["error"]) for r in rows] == [
        (1, 2, "a", None), (2, 4, "b", "text field 'text' is empty"), (3, 5, None, "has 3 fields, the header has 2"),
        (4, 6, None, "blank line"), (5, 7, "d", "text field 'text' is not valid UTF-8"), (6, 8, "e", None)]
    assert rows[0]["text"] == "a quoted prompt\nover two lines"
    scan = reader.scan(find_boundaries=True)
    assert scan.rows == 6 and scan.rows_exact and [b.row for b in scan.boundaries] == [2, 4]
    assert _rows(reader, scan.boundaries[0]) == rows[2:]


def test_csv_and_parquet_missing_columns_fail_at_start(tmp_path: Path, bx: Any) -> None:
    csv_path = bx.write_csv(tmp_path / "in.csv", [{"id": 1, "prompt": "x"}])
    with pytest.raises(DataFormatError, match=r"in.csv:1: no column 'text' \(columns: id, prompt\)"):
        open_reader(csv_path, "csv").start()
    with pytest.raises(DataFormatError, match="no id column 'key'"):
        open_reader(csv_path, "csv", text_field="prompt", id_field="key", id_required=True).start()
    pq_path = bx.write_parquet(tmp_path / "in.parquet", [{"id": 1, "text": 3}])
    with pytest.raises(DataFormatError, match="column 'text' holds int64, not strings"):
        open_reader(pq_path, "parquet").start()
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataFormatError, match="not a readable parquet file"):
        open_reader(tmp_path / "bad.parquet", "parquet").start()


def test_parquet_nulls_empties_and_integer_ids(tmp_path: Path, bx: Any) -> None:
    path = bx.write_parquet(tmp_path / "in.parquet",
                            [{"id": 10, "text": "fine"}, {"id": None, "text": None}, {"id": 12, "text": " "}],
                            row_group_size=2)
    rows = _rows(open_reader(path, "parquet"))
    assert [(r["id"], r["text"], r["error"]) for r in rows] == [
        ("10", "fine", None), ("2", None, "text field 'text' is null"), ("12", None, "text field 'text' is empty")]


def test_aligned_chunks_recuts_at_global_boundaries() -> None:
    def table(first: int, n: int) -> pa.Table:
        return pa.table({"row": list(range(first, first + n))})

    out = list(aligned_chunks([table(5, 3), table(8, 9), table(17, 1)], 4))
    assert [c.column("row").to_pylist() for c in out] == [[5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17]]
