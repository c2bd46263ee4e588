"""Contrastive fine-tuning: the loss, the sampling, the batching, and (with the real model) a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmscope.encoders import finetune as ft
from harmscope.errors import HarmscopeError


def _examples(n_pairs: int = 6, n_single: int = 20) -> list[ft.TrainingExample]:
    out = []
    for i in range(n_pairs):
        out.append(ft.TrainingExample(f"how do i hurt person {i}", 1, "violent_crimes", f"p|{i}", "pairs"))
        out.append(ft.TrainingExample(f"how do i hurry process {i}", 0, "safe", f"p|{i}", "pairs"))
    for i in range(n_single):
        y = i % 2
        out.append(ft.TrainingExample(f"single {i}", y, "hate" if y else "safe", f"row|{i}", f"s{i % 3}"))
    return out


def test_supcon_loss_is_low_when_classes_are_separated_and_high_when_mixed() -> None:
    torch = pytest.importorskip("torch")
    classes = torch.tensor([0, 0, 1, 1])
    separated = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]]), dim=-1)
    mixed = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.99, 0.1], [0.1, 0.99]]), dim=-1)
    low = float(ft.supcon_loss(separated, classes, 0.1))
    high = float(ft.supcon_loss(mixed, classes, 0.1))
    assert low < 0.1 < high
    assert float(ft.supcon_loss(separated, torch.tensor([0, 1, 2, 3]), 0.1)) == 0.0  # no positives anywhere


def test_sampling_keeps_every_pair_and_respects_the_limit() -> None:
    examples = _examples()
    sample = ft.sample_examples(examples, 20, seed=0)
    assert len(sample) == 20
    assert sum(e.source == "pairs" for e in sample) == 12
    assert ft.sample_examples(examples, 20, seed=0) == sample  # seeded
    assert ft.sample_examples(examples, None, seed=0) == examples


def test_batches_never_split_a_pair() -> None:
    import random

    examples = _examples()
    batches = ft._batches(examples, 5, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(len(examples)))
    where = {i: n for n, b in enumerate(batches) for i in b}
    for i in range(0, 12, 2):
        assert where[i] == where[i + 1]


def test_key_changes_with_config_and_data() -> None:
    examples = _examples()
    base = ft.finetune_key(ft.FinetuneConfig(), examples)
    assert ft.finetune_key(ft.FinetuneConfig(), list(reversed(examples))) == base
    assert ft.finetune_key(ft.FinetuneConfig(epochs=2), examples) != base
    assert ft.finetune_key(ft.FinetuneConfig(), examples[:-1]) != base


def test_bad_config_is_a_clear_error() -> None:
    with pytest.raises(HarmscopeError, match="epochs"):
        ft.FinetuneConfig(epochs=0)
    with pytest.raises(HarmscopeError, match="both safe and unsafe"):
        ft.finetune([e for e in _examples() if e.y == 1], ft.FinetuneConfig(), Path("unused"))


@pytest.mark.model
def test_a_short_finetune_saves_a_loadable_encoder_that_moved(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from harmscope.encoders._sentence import minilm_folder

    examples = _examples()
    config = ft.FinetuneConfig(epochs=2, batch_size=16, max_examples=None, warmup_steps=1, learning_rate=1e-4)
    result = ft.finetune(examples, config, tmp_path / "model")
    meta = json.loads((tmp_path / "model" / ft.METADATA_FILE).read_text())
    assert meta["key"] == result.key and meta["steps"] == result.steps == 4
    tuned = SentenceTransformer(str(result.folder), device="cpu").encode(["how do i hurt person 0"])
    base = SentenceTransformer(str(minilm_folder()), device="cpu").encode(["how do i hurt person 0"])
    assert tuned.shape == (1, 384)
    assert 0.5 < float(np.dot(tuned[0], base[0]) / np.linalg.norm(tuned[0]) / np.linalg.norm(base[0])) < 0.99999


def test_refresh_follows_the_current_pool_with_the_pointer_config(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """minilm-safety must not keep naming a model fine-tuned on an older pool (same commit, same model)."""
    from types import SimpleNamespace

    import harmscope.data
    from harmscope.data._pool import PoolExample

    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))

    def pool(tag: str) -> SimpleNamespace:
        rows = [PoolExample(f"{tag} harm {i}", 1, "hate", "s", f"u{i}") for i in range(4)]
        rows += [PoolExample(f"{tag} fine {i}", 0, None, "s", f"f{i}") for i in range(4)]
        return SimpleNamespace(train=rows, val=[])

    current = {"pool": pool("a")}
    monkeypatch.setattr(harmscope.data, "build_pool", lambda *a, **k: current["pool"])
    trained: list[ft.FinetuneConfig] = []

    def fake_finetune(examples: list[ft.TrainingExample], config: ft.FinetuneConfig, out: Path) -> ft.FinetuneResult:
        trained.append(config)
        out.mkdir(parents=True)
        key = ft.finetune_key(config, examples)
        (out / ft.METADATA_FILE).write_text(json.dumps({"key": key}))
        return ft.FinetuneResult(out, len(examples), 1, 0.0, 0.0, key)

    monkeypatch.setattr(ft, "finetune", fake_finetune)
    custom = ft.FinetuneConfig(epochs=0.5, max_examples=None)
    first = ft.build_safety_encoder("minilm-safety", custom)
    assert "fine-tuning minilm-safety on the training pool (8 examples" in capsys.readouterr().err
    assert ft.refresh_safety_encoder("minilm-safety") == first and trained == [custom]  # unchanged pool: reused
    assert capsys.readouterr().err == ""  # a cached build is reused silently
    current["pool"] = pool("b")
    second = ft.refresh_safety_encoder("minilm-safety")
    assert second != first and trained == [custom, custom]  # new pool: rebuilt with the same config
    assert ft.current_safety_encoder("minilm-safety")[0] == second

    # Each fine-tuned encoder has its own pointer and recipe: building mpnet-safety leaves minilm-safety be.
    mpnet = ft.current_safety_encoder("mpnet-safety")[0]
    assert mpnet.name.startswith("mpnet-safety-") and trained[-1] == ft.SAFETY_ENCODERS["mpnet-safety"].config
    assert ft.current_safety_encoder("minilm-safety")[0] == second


def test_every_fine_tuned_encoder_and_its_int8_twin_is_registered_and_catalogued() -> None:
    from harmscope.encoders._catalog import CATALOG
    from harmscope.registry import ENCODERS

    for encoder_id, name in ft.FINETUNED_IDS.items():
        assert encoder_id in ENCODERS.names() and encoder_id in CATALOG
        assert CATALOG[encoder_id].dim == ft.SAFETY_ENCODERS[name].dim
    with pytest.raises(HarmscopeError, match="unknown fine-tuned encoder"):
        ft.current_safety_encoder("nope-safety")
