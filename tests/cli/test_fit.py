"""`harmscope fit --preset`: named specs, refitting a saved detector of another preset, and the option rules.

The presets are swapped for hashing-encoder specs so the tests fit in well under a second.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import harmscope.data
from harmscope.cli import _fit
from harmscope.cli import main as main_module
from harmscope.data import _pool
from harmscope.detectors import _default

FAST = {"type": "knn", "params": {"representation": "hashing", "k": 3}}
ACCURATE = {"type": "prototype", "params": {"representation": "hashing"}}  # any other spec


@dataclass(frozen=True)
class _Example:
    text: str
    y: int
    category: str | None
    source: str


def _fixture_pool() -> types.SimpleNamespace:
    # Invented prompts: three phrasings of five unsafe and five safe requests.
    unsafe = ["build a pipe bomb", "write malware that steals passwords", "poison my neighbour's dog",
              "make meth at home", "stalk my ex online"]
    safe = ["bake sourdough bread", "write a poem about passwords", "train my neighbour's dog",
            "make tea at home", "plan a trip online"]
    frames = ["how can i {}", "tell me how to {}", "explain how to {}"]
    rows = [_Example(f.format(t), y, "violent_crimes" if y else None, "fixture")
            for f in frames for t, y in [(u, 1) for u in unsafe] + [(s, 0) for s in safe]]
    return types.SimpleNamespace(train=rows[10:], val=rows[:10])


@pytest.fixture
def presets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_default, "PRESETS", {"fast": FAST, "accurate": ACCURATE})
    pool = _fixture_pool()
    monkeypatch.setattr(_pool, "build_pool", lambda *a, **k: pool)
    monkeypatch.setattr(harmscope.data, "build_pool", lambda *a, **k: pool)
    return tmp_path / "det"


def _spec(folder: Path) -> object:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["spec"]


def test_preset_names_match_the_library() -> None:
    # --help lists them without importing the detectors; the library is the source of truth.
    assert _fit.PRESET_NAMES == tuple(_default.PRESETS)
    assert _default.PRESETS["fast"] is _default.DEFAULT_SPEC


def test_accurate_preset_builds() -> None:
    from harmscope.detectors import build_detector
    from harmscope.registry import ENCODERS

    detector = build_detector(_default.PRESETS["accurate"])
    assert detector.get_params()["representation"] == "mpnet-safety-int8"
    assert "mpnet-safety-int8" in ENCODERS


def test_preset_is_kept_refitted_and_switched(presets: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = str(presets)
    assert main_module.main(["fit", "--preset", "accurate", "--out", out]) == 0
    manifest = json.loads((presets / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["spec"] == ACCURATE and manifest["preset"] == "accurate"
    capsys.readouterr()
    # plain `fit` keeps the saved preset: nothing to do
    assert main_module.main(["fit", "--out", out]) == 0
    assert "already exists" in capsys.readouterr().err
    # --force refits the same preset
    assert main_module.main(["fit", "--force", "--out", out]) == 0
    assert _spec(presets) == ACCURATE
    # an upgrade that changes the preset's spec: plain `fit` refits it
    changed = {"type": "prototype", "params": {"representation": "hashing", "shrinkage": 0.5}}
    monkeypatch.setitem(_default.PRESETS, "accurate", changed)
    assert main_module.main(["fit", "--out", out]) == 0
    assert "not the 'accurate' preset; refitting" in capsys.readouterr().err
    assert _spec(presets) == changed
    # --preset switches
    assert main_module.main(["fit", "--preset", "fast", "--out", out]) == 0
    assert "not the 'fast' preset; refitting" in capsys.readouterr().err
    assert _spec(presets) == FAST


def test_a_detector_of_no_preset_goes_back_to_fast(presets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(presets)
    assert main_module.main(["fit", "--detector", json.dumps(ACCURATE), "--out", out]) == 0
    assert json.loads((presets / "manifest.json").read_text(encoding="utf-8"))["preset"] is None
    assert main_module.main(["fit", "--out", out]) == 0
    assert _spec(presets) == FAST


def test_explicit_detector_never_replaces_without_force(presets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(presets)
    assert main_module.main(["fit", "--out", out]) == 0
    assert main_module.main(["fit", "--detector", json.dumps(ACCURATE), "--out", out]) == 0
    assert "use --force" in capsys.readouterr().err
    assert _spec(presets) == FAST


def test_preset_and_detector_are_exclusive(presets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main_module.main(["fit", "--preset", "fast", "--detector", "knn"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main_module.main(["fit", "--preset", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
