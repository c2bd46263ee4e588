"""`harmscope moderate-batch` on the command line: summary text and JSON, bad rows, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harmscope.cli import main as main_module


def test_json_summary_and_rerun(tmp_path: Path, detector_dir: Path, bx: Any,
                                capsys: pytest.CaptureFixture[str]) -> None:
    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(12), {4: b"{oops secretword\n"})
    out = tmp_path / "out.parquet"
    argv = ["moderate-batch", "--input", str(src), "--output", str(out), "--detector", str(detector_dir),
            "--chunk-size", "5", "--json"]
    assert main_module.main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["complete"] and summary["rows"] == 13 and summary["scored"] == 12 and summary["bad"] == 1
    assert summary["output_format"] == "parquet" and summary["engine"] == "local"
    assert summary["errors_file"].endswith("out.parquet.errors.jsonl")
    assert "secretword" not in captured.out + captured.err
    assert len(bx.read_output(out)) == 12
    assert main_module.main(argv[:-1]) == 0
    text = capsys.readouterr()
    assert "already complete (13 rows); nothing to do" in text.out and "bad 1" in text.out
    assert "out.parquet.errors.jsonl" in text.err


def test_human_summary_and_options(tmp_path: Path, detector_dir: Path, bx: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = bx.write_csv(tmp_path / "in.csv", [{"key": f"k{i}", "prompt": bx.prompt(i)} for i in range(7)])
    out = tmp_path / "out.jsonl"
    assert main_module.main(["moderate-batch", "--input", str(src), "--output", str(out), "--detector",
                             str(detector_dir), "--text-field", "prompt", "--id-field", "key",
                             "--top-categories", "0"]) == 0
    text = capsys.readouterr().out
    assert "complete: 7 rows in" in text and "scored 7, flagged" in text and "bad 0" in text
    rows = bx.read_output(out)
    assert [r["id"] for r in rows] == [f"k{i}" for i in range(7)] and all(r["category_scores"] == [] for r in rows)


@pytest.mark.parametrize(("extra", "message"), [
    (["--ray-workers", "2"], "--ray-workers only applies with --engine ray"),
    (["--chunk-size", "0"], "--chunk-size must be >= 1"),
    (["--text-field", "prompt"], "no column 'prompt'"),
])
def test_usage_errors_are_one_line(extra: list[str], message: str, tmp_path: Path, detector_dir: Path, bx: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = bx.write_csv(tmp_path / "in.csv", bx.records(3))
    argv = ["moderate-batch", "--input", str(src), "--output", str(tmp_path / "o.jsonl"),
            "--detector", str(detector_dir), *extra]
    assert main_module.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_input_and_default_detector(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch, bx: Any) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "empty-cache"))
    assert main_module.main(["moderate-batch", "--input", str(tmp_path / "nope.jsonl"), "--output",
                             str(tmp_path / "o.jsonl")]) == 2
    assert "data file not found" in capsys.readouterr().err
    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(2))
    assert main_module.main(["moderate-batch", "--input", str(src), "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "run `harmscope fit`" in capsys.readouterr().err
