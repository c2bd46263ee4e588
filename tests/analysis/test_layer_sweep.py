"""layer_sweep on fake hidden states (one informative layer among noise) and the `layer-sweep` command."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from harmscope.analysis import LayerSweepResult, layer_sweep
from harmscope.analysis._layer_sweep import stratified_sample
from harmscope.errors import HarmscopeError

N_LAYERS = 5  # fake LM: layers 0..4
SIGNAL_LAYER = 3


@dataclass(frozen=True)
class Ex:
    text: str
    y: int
    category: str | None
    source: str


@dataclass(frozen=True)
class FixturePool:
    train: list[Ex]
    val: list[Ex]


def make_pool(n_train: int = 120, n_val: int = 60) -> FixturePool:
    rng = random.Random(0)
    rows = [Ex(f"prompt number {i}", int(rng.random() < 0.4), None, "fixture") for i in range(n_train + n_val)]
    return FixturePool(train=rows[:n_train], val=rows[n_train:])


POOL = make_pool()
LABEL = {e.text: e.y for e in POOL.train + POOL.val}


class FakeStates:
    """texts -> (N_LAYERS, n, 8): layer SIGNAL_LAYER carries the label, the others are seeded noise."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts: list[str]) -> NDArray[np.float32]:
        self.calls.append(len(texts))
        rng = np.random.default_rng(0)
        out = rng.normal(size=(N_LAYERS, len(texts), 8)).astype(np.float32)
        y = np.asarray([LABEL[t] for t in texts], dtype=np.float32)
        out[SIGNAL_LAYER, :, 0] += 4.0 * (2 * y - 1)
        return out


def test_finds_the_informative_layer_with_one_pass() -> None:
    fake = FakeStates()
    result = layer_sweep("fake", pool=POOL, features=fake, max_train=None, max_val=None)
    assert fake.calls == [len(POOL.train) + len(POOL.val)]  # every text once, all layers at once
    assert [s.layer for s in result.scores] == list(range(N_LAYERS))
    assert result.best.layer == SIGNAL_LAYER
    signal = result.scores[SIGNAL_LAYER]
    assert signal.f1 > 0.95 and signal.auprc is not None and signal.auprc > 0.95
    noise = [s for s in result.scores if s.layer != SIGNAL_LAYER]
    assert all(s.auprc is not None and s.auprc < 0.8 for s in noise)
    assert all(s.best_f1 >= s.f1 for s in result.scores)  # best F1 is tuned on the same texts
    assert result.n_train == len(POOL.train) and result.n_val == len(POOL.val)
    assert result.n_val_unsafe == sum(e.y for e in POOL.val)


def test_layer_subset_caps_and_determinism() -> None:
    a = layer_sweep("fake", pool=POOL, features=FakeStates(), layers=[4, 3], max_train=50, max_val=30, seed=1)
    b = layer_sweep("fake", pool=POOL, features=FakeStates(), layers=[3, 4], max_train=50, max_val=30, seed=1)
    assert [s.layer for s in a.scores] == [3, 4]
    assert a.scores == b.scores and a.n_train == 50 and a.n_val == 30
    with pytest.raises(HarmscopeError, match="out of range"):
        layer_sweep("fake", pool=POOL, features=FakeStates(), layers=[9])
    with pytest.raises(HarmscopeError, match="max_train"):
        layer_sweep("fake", pool=POOL, features=FakeStates(), max_train=0)
    with pytest.raises(HarmscopeError, match="ensemble"):
        layer_sweep("fake", pool=POOL, features=FakeStates(), detector="ensemble")
    with pytest.raises(HarmscopeError, match="pooling"):
        layer_sweep("fake", pool=POOL, features=FakeStates(), pooling="max")


def test_other_detector_types_work() -> None:
    result = layer_sweep("fake", pool=POOL, features=FakeStates(), layers=[0, SIGNAL_LAYER],
                         detector={"type": "knn", "params": {"k": 5}})
    assert result.best.layer == SIGNAL_LAYER


def test_stratified_sample_keeps_label_shares() -> None:
    sample = stratified_sample(POOL.train, 40, seed=0)
    assert len(sample) == 40 and sample == stratified_sample(POOL.train, 40, seed=0)
    share_all = sum(e.y for e in POOL.train) / len(POOL.train)
    assert sum(e.y for e in sample) / 40 == pytest.approx(share_all, abs=0.03)
    assert stratified_sample(POOL.train, 10_000, seed=0) == POOL.train
    order = {e.text: i for i, e in enumerate(POOL.train)}
    assert [order[e.text] for e in sample] == sorted(order[e.text] for e in sample)


def test_result_json_and_png(tmp_path: Path) -> None:
    result = layer_sweep("fake", pool=POOL, features=FakeStates(), layers=[1, SIGNAL_LAYER])
    data = json.loads(json.dumps(result.to_dict()))
    assert data["best_layer"] == SIGNAL_LAYER and len(data["scores"]) == 2
    png = result.save_png(tmp_path / "sweep.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_lm_without_features() -> None:
    with pytest.raises(HarmscopeError, match="unknown"):
        layer_sweep("no-such-lm", pool=POOL)


def test_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harmscope.analysis import _layer_sweep
    from harmscope.cli import main as main_module
    from harmscope.cli._layer_sweep import parse_layers

    if "harmscope.cli._layer_sweep" not in main_module.COMMAND_MODULES:
        monkeypatch.setattr(main_module, "COMMAND_MODULES",
                            (*main_module.COMMAND_MODULES, "harmscope.cli._layer_sweep"))
    real = _layer_sweep.layer_sweep
    seen: dict[str, Any] = {}

    def fake_sweep(lm: str, **kwargs: Any) -> LayerSweepResult:
        seen.update(kwargs, lm=lm)
        return real(lm, **{**kwargs, "pool": POOL, "features": FakeStates(), "layers": [0, 2, SIGNAL_LAYER]})

    monkeypatch.setattr(_layer_sweep, "layer_sweep", fake_sweep)
    out = tmp_path / "sweep"
    argv = ["layer-sweep", "--lm", "smollm2-135m", "--layers", "0,2,-1", "--pooling", "mean", "--chat",
            "--max-train", "80", "--out", str(out)]
    assert main_module.main(argv) == 0
    table = capsys.readouterr().out
    assert seen["layers"] == [0, 2, -1] and seen["pooling"] == "mean" and seen["chat"] is True
    assert seen["max_train"] == 80 and seen["lm"] == "smollm2-135m"
    assert f"{SIGNAL_LAYER:>5}" in table and "<- best" in table.splitlines()[3]
    assert json.loads((out / "layer_sweep.json").read_text())["best_layer"] == SIGNAL_LAYER
    assert (out / "layer_sweep.png").is_file()

    assert main_module.main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["best_layer"] == SIGNAL_LAYER
    assert parse_layers("all") is None
    assert main_module.main(["layer-sweep", "--layers", "a,b"]) == 2
    assert "--layers" in capsys.readouterr().err
    assert main_module.main(["layer-sweep", "--lm", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
