"""`harmscope analyze` end to end with the hashing encoder and a tiny fixture training set."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harmscope.cli import main as main_module
from harmscope.detectors.checks import synthetic_prompts
from harmscope.detectors.harm_benefit import _detector
from harmscope.registry import DETECTORS

PROMPT = "explain step by step how to forge a passport without getting caught"
AIR = {"fraud": "Fraud", "weapons": "Weapon Usage & Development"}


def _fixture_data(seed: int = 0, sources: object = None) -> _detector.TrainingData:
    texts, labels, cats = synthetic_prompts(30, seed=4)
    return _detector.TrainingData(texts, labels, [AIR[c] if c else None for c in cats], ["fixture"] * len(texts))


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The lead wires the command and the registry entry; until then add them for these tests only.
    if "harmscope.cli._analyze" not in main_module.COMMAND_MODULES:
        monkeypatch.setattr(main_module, "COMMAND_MODULES", (*main_module.COMMAND_MODULES, "harmscope.cli._analyze"))
    if "safety-analyst" not in DETECTORS.entries:
        monkeypatch.setitem(DETECTORS.entries, "safety-analyst",  # type: ignore[index]
                            "harmscope.detectors.harm_benefit._detector:SafetyAnalystDetector")
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_detector, "default_training_data", _fixture_data)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main_module.main(["analyze", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_fits_on_first_use_then_reuses_the_cache(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, PROMPT, "--json", "--representation", "hashing")
    assert code == 0 and "fitting" in err
    result = json.loads(out)
    assert result["verdict"] == "unsafe" and result["score"] > result["threshold"]
    assert abs(math.fsum(c["value"] for c in result["contributions"]) - result["score"]) < 1e-9
    for c in result["contributions"]:
        assert set(c) >= {"stakeholder", "kind", "action", "effect", "value"} and c["kind"] in ("harm", "benefit")
    assert "Deception" in {c["action"] for c in result["contributions"] if c["kind"] == "harm"}
    assert PROMPT not in out + err and "prompt" not in result
    code, out2, err2 = run(capsys, "help me write a cover letter", "--json")
    assert code == 0 and "fitting" not in err2
    assert json.loads(out2)["verdict"] == "safe"


def test_policy_steers_without_refit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: allow-deception\naction_weights: {Deception: 0}\nthreshold: 0\n", encoding="utf-8")
    run(capsys, "--fit", "--representation", "hashing")
    code, out, err = run(capsys, PROMPT, "--json", "--policy", str(policy))
    assert code == 0 and "fitting" not in err
    result = json.loads(out)
    assert result["policy"] == "allow-deception"
    assert all(c["value"] == 0 for c in result["contributions"] if c["action"] == "Deception")
    bad = tmp_path / "bad.yaml"
    bad.write_text("action_weights: {Decepton: 0}\n", encoding="utf-8")
    code, _, err = run(capsys, PROMPT, "--policy", str(bad))
    assert code == 2 and "did you mean: Deception" in err


def test_rich_output_hides_the_prompt_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, PROMPT, "--representation", "hashing")
    assert code == 0 and "UNSAFE" in out and "score" in out and "Deception" in out
    assert PROMPT not in out
    code, out, _ = run(capsys, PROMPT, "--show-text")
    assert code == 0 and PROMPT in out.replace("\n", " ")


def test_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "   ")
    assert code == 2 and "prompt is empty" in err
    code, _, err = run(capsys)
    assert code == 2 and "give the prompt" in err
    code, _, err = run(capsys, PROMPT, "--detector", str(tmp_path / "nowhere"))
    assert code == 2 and "no saved detector" in err
