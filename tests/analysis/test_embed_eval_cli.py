"""`harmscope embed-eval` end to end with the hashing encoder and in-memory datasets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harmscope.cli.main import main
from harmscope.types import PromptRecord


@pytest.fixture(autouse=True)
def _fake_data(monkeypatch: pytest.MonkeyPatch, load: Callable[[str], list[PromptRecord]]) -> None:
    monkeypatch.setattr("harmscope.data.load_dataset", load, raising=False)


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_challenging_json_is_one_object_of_types(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["embed-eval", "challenging", "--encoder", "hashing", "--avg-sim", "0.1", "--json"])
    assert isinstance(out, dict) and list(out) == ["homonyms", "history", "privacy_publicity"]
    assert all(isinstance(v, float) for v in out.values())


def test_challenging_table_hides_prompts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed-eval", "challenging", "--encoder", "hashing", "--avg-sim", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "homonyms" in text and "Safety-Challenging" in text
    assert "person number" not in text  # no prompt text on screen


def test_avg_sim_paper_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed-eval", "challenging", "--encoder", "hashing", "--avg-sim", "paper"]) == 2
    err = capsys.readouterr().err
    assert "publishes no average similarity for encoder 'hashing'" in err and err.count("\n") == 1


def test_avg_sim_command(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["embed-eval", "avg-sim", "--encoder", "hashing", "--n-prompts", "40", "--json"])
    assert isinstance(out, dict)
    assert out["source"] == "computed" and out["n_pairs"] == 400 and out["stderr"] > 0
    assert main(["embed-eval", "avg-sim", "--encoder", "hashing", "--n-prompts", "40"]) == 0
    assert "±" in capsys.readouterr().out


def test_taxonomy_json_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "tsne.png"
    out = _json(capsys, ["embed-eval", "taxonomy", "--encoder", "hashing", "--k", "3", "--json", "--plot", str(png)])
    assert isinstance(out, dict) and set(out) == {"per_category", "macro", "micro", "k"}
    assert out["k"] == 3 and len(out["per_category"]) == 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_contrast_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["embed-eval", "contrast", "--encoder", "hashing", "--set", "jbb", "--avg-sim", "0.1",
                         "--json"])
    assert isinstance(out, dict) and out["set"] == "jbb" and out["n"] == 2
    assert set(out) == {"set", "overall", "per_category", "n"}


def test_missing_dataset_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed-eval", "contrast", "--encoder", "hashing", "--set", "dna-contrast", "--avg-sim", "0.1"]) == 2
    assert "data file not found" in capsys.readouterr().err


def test_report_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Only the CLI wiring here; tests/reports checks the content.
    assert main(["embed-eval", "report", "--encoders", "hashing", "--out", str(tmp_path), "--avg-sim", "0.1",
                 "--k", "3", "--sets", "jbb", "--no-plots"]) == 0
    assert (tmp_path / "report.md").is_file() and (tmp_path / "results.json").is_file()
    assert "wrote report.md" in capsys.readouterr().out


def test_bare_group_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed-eval"]) == 0
    assert "challenging" in capsys.readouterr().out
