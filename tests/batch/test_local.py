"""The local engine end to end: every format in and out, the output schema, scores equal to the
detector's own, bad rows reported and counted, the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harmscope.batch import OUTPUT_COLUMNS, moderate_batch


def _expected(detector_dir: Path, texts: list[str], chunk: int) -> list[Any]:
    """The detector's own explanations, asked for in the same chunks as the batch job scores."""
    from harmscope.detectors import load_detector

    detector = load_detector(detector_dir)
    return [e for i in range(0, len(texts), chunk) for e in detector.explain(texts[i:i + chunk])]


@pytest.mark.parametrize("in_fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("out_fmt", ["jsonl", "parquet"])
def test_formats_schema_and_scores(in_fmt: str, out_fmt: str, tmp_path: Path, detector_dir: Path,
                                   bx: Any) -> None:
    rows = bx.records(57)
    src = bx.WRITERS[in_fmt](tmp_path / f"in.{in_fmt}", rows)
    out = tmp_path / f"out.{out_fmt}"
    summary = moderate_batch(src, out, detector=str(detector_dir), chunk_size=10)
    got = bx.read_output(out)
    assert out.is_dir() == (out_fmt == "parquet")
    assert [list(r) for r in got[:1]] == [list(OUTPUT_COLUMNS)]
    assert [r["id"] for r in got] == [r["id"] for r in rows] and [r["row"] for r in got] == list(range(1, 58))
    expected = _expected(detector_dir, [r["text"] for r in rows], 10)
    for g, e in zip(got, expected):
        assert g["score"] == e.score
        assert g["flagged"] == (e.verdict == "unsafe") and g["category"] == e.category.category
        assert [c["category"] for c in g["category_scores"]] == [s.category for s in e.category.scores
                                                                 if s.score > 0][:3]
    assert summary.complete and summary.rows == summary.scored == 57 and summary.bad == 0
    assert summary.flagged == sum(e.verdict == "unsafe" for e in expected) > 0
    assert summary.new_rows == 57 and summary.resumed_from == 0 and summary.errors_file is None
    assert summary.threshold == pytest.approx(0.5) and summary.engine == "local"
    assert not out.with_name(out.name + ".errors.jsonl").exists()


def test_bad_rows_go_to_the_error_report_never_the_text(tmp_path: Path, detector_dir: Path, bx: Any) -> None:
    extra = {2: b"{broken secretword\n", 5: b'{"id": "x1", "text": ""}\n', 6: b'{"text": "bad \xff secretword"}\n',
             9: b"\n"}
    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(20), extra)
    out = tmp_path / "out.jsonl"
    summary = moderate_batch(src, out, detector=str(detector_dir), chunk_size=4)
    errors = bx.read_errors(out)
    assert [(e["row"], e["line"], e["id"]) for e in errors] == [(3, 3, None), (6, 6, "x1"), (7, 7, None),
                                                                (10, 10, None)]
    assert all(set(e) == {"row", "line", "id", "reason"} for e in errors)
    assert "secretword" not in out.with_name("out.jsonl.errors.jsonl").read_text()
    assert summary.bad == 4 and summary.scored == 20 and summary.rows == 24
    assert summary.errors_file == str(out.with_name("out.jsonl.errors.jsonl"))
    assert [r["row"] for r in bx.read_output(out)] == [r for r in range(1, 25) if r not in (3, 6, 7, 10)]


def test_top_categories_and_text_field(tmp_path: Path, detector_dir: Path, bx: Any) -> None:
    src = bx.write_jsonl(tmp_path / "in.jsonl", [{"prompt": bx.prompt(i)} for i in range(5)])
    out = tmp_path / "out.parquet"
    moderate_batch(src, out, detector=str(detector_dir), text_field="prompt", top_categories=1)
    got = bx.read_output(out)
    assert [r["id"] for r in got] == ["1", "2", "3", "4", "5"]
    assert all(len(r["category_scores"]) <= 1 for r in got) and any(r["category_scores"] for r in got)


def test_refuses_foreign_outputs_and_bad_options(tmp_path: Path, detector_dir: Path, bx: Any) -> None:
    from harmscope.errors import HarmscopeError

    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(5))
    mine = tmp_path / "results.jsonl"
    mine.write_text("precious\n")
    with pytest.raises(HarmscopeError, match="exists but has no checkpoint"):
        moderate_batch(src, mine, detector=str(detector_dir))
    assert mine.read_text() == "precious\n"
    folder = tmp_path / "out.parquet"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(HarmscopeError, match="which moderate-batch did not write"):
        moderate_batch(src, folder, detector=str(detector_dir), overwrite=True)
    assert (folder / "notes.txt").exists()
    with pytest.raises(HarmscopeError, match="--output is the --input file"):
        moderate_batch(src, src, detector=str(detector_dir))
    with pytest.raises(HarmscopeError, match="cannot tell the output format"):
        moderate_batch(src, tmp_path / "out.txt", detector=str(detector_dir))
    with pytest.raises(HarmscopeError, match="no such folder, and not a detector type"):
        moderate_batch(src, tmp_path / "o.jsonl", detector=str(tmp_path / "nowhere"))
    with pytest.raises(HarmscopeError, match="--ray-address only applies with --engine ray"):
        moderate_batch(src, tmp_path / "o.jsonl", detector=str(detector_dir), ray_address="auto")
    mine.unlink()
    summary = moderate_batch(src, mine, detector=str(detector_dir))
    assert summary.complete and json.loads(mine.read_text().splitlines()[0])["id"] == "p0"


@pytest.mark.parametrize("out_fmt", ["jsonl", "parquet"])
def test_empty_input_still_gives_a_readable_output(out_fmt: str, tmp_path: Path, detector_dir: Path) -> None:
    import pandas as pd

    src = tmp_path / "in.jsonl"
    src.write_bytes(b"")
    out = tmp_path / f"out.{out_fmt}"
    summary = moderate_batch(src, out, detector=str(detector_dir))
    assert summary.complete and summary.rows == 0 and out.exists()
    if out_fmt == "parquet":
        assert list(pd.read_parquet(out).columns) == list(OUTPUT_COLUMNS)
    else:
        assert out.read_bytes() == b""
