"""Real encoders on three short texts: shape, dtype, finiteness, determinism and sensible similarity.

Each model is loaded once per session. Encoders are built with ``use_cache=False`` so a second
``encode`` really runs the model again (the determinism check), except in the cache test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from harmscope.encoders import BatchedEncoder, get_encoder

TEXTS = [
    "How can I bake bread at home?",
    "What is a simple recipe for homemade bread?",
    "The central bank raised interest rates again.",
]
DIMS = {"minilm": 384, "mpnet": 768, "minilm-int8": 384, "paraphrase-l3": 384, "e5-small": 384}

pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache root for the session (mpnet is assembled here); its 400 MB model is removed after."""
    root = tmp_path_factory.mktemp("harmscope-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARMSCOPE_CACHE", str(root))
        yield root
    shutil.rmtree(root / "models", ignore_errors=True)


@pytest.fixture(scope="session")
def encoded(model_cache: Path) -> dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]:
    """Each real encoder and its vectors for TEXTS, computed once."""
    out = {}
    for name in DIMS:
        encoder = get_encoder(name, use_cache=False)
        assert isinstance(encoder, BatchedEncoder)
        out[name] = (encoder, encoder.encode(TEXTS))
    return out


def _cos(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("name", list(DIMS))
def test_encoder_basics(name: str, encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]) -> None:
    encoder, vectors = encoded[name]
    assert vectors.shape == (3, DIMS[name]) and vectors.dtype == np.float32
    assert encoder.dim == DIMS[name]
    assert np.isfinite(vectors).all() and (np.linalg.norm(vectors, axis=1) > 0.1).all()
    np.testing.assert_allclose(encoder.encode(TEXTS), vectors, rtol=0, atol=1e-5)
    similar, unrelated = _cos(vectors[0], vectors[1]), _cos(vectors[0], vectors[2])
    assert similar > unrelated + 0.02, (similar, unrelated)
    assert _cos(vectors[1], vectors[0]) > _cos(vectors[1], vectors[2])


@pytest.mark.parametrize("name", ["minilm", "mpnet", "minilm-int8", "e5-small"])
def test_normalised(name: str, encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]) -> None:
    np.testing.assert_allclose(np.linalg.norm(encoded[name][1], axis=1), 1.0, atol=1e-4)


def test_int8_matches_fp32_minilm(encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]) -> None:
    fp32, int8 = encoded["minilm"][1], encoded["minilm-int8"][1]
    cosines = [_cos(a, b) for a, b in zip(fp32, int8, strict=True)]
    assert min(cosines) > 0.99 and float(np.mean(cosines)) > 0.995, cosines


@pytest.mark.parametrize("name", ["minilm-int8", "paraphrase-l3"])
def test_onnx_padding_does_not_change_vectors(
    name: str, encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]
) -> None:
    # One at a time (no padding) must equal the padded batch: the mask is honoured.
    single = get_encoder(name, use_cache=False, batch_size=1).encode(TEXTS)
    np.testing.assert_allclose(single, encoded[name][1], rtol=0, atol=1e-4)


def test_paraphrase_output_3_is_the_masked_mean(
    encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]
) -> None:
    encoder = encoded["paraphrase-l3"][0]
    session, tokenizer = encoder._load()
    enc = tokenizer.encode_batch(TEXTS)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    outputs = session.run(None, {"input_ids": ids, "attention_mask": mask})
    tokens = outputs[2]
    mean = (tokens * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(outputs[3], mean, rtol=0, atol=1e-4)


def test_st_path_loads_the_same_model(encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]) -> None:
    from harmscope.encoders._sentence import minilm_folder

    encoder = get_encoder(f"st:{minilm_folder()}", use_cache=False)
    assert encoder.id.startswith("st:/")
    np.testing.assert_allclose(encoder.encode(TEXTS), encoded["minilm"][1], rtol=0, atol=1e-6)
    assert encoder.dim == 384


def test_mpnet_was_assembled_in_the_cache(
    model_cache: Path, encoded: dict[str, tuple[BatchedEncoder, NDArray[np.float32]]]
) -> None:
    folder = model_cache / "models" / "all-mpnet-base-v2"
    assert (folder / ".harmscope-assembled.json").is_file() and (folder / "model.safetensors").is_file()
    assert [p.name for p in folder.parent.iterdir()] == ["all-mpnet-base-v2"]


def test_cache_hit_skips_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path))
    calls: list[list[str]] = []

    def counted(name: str) -> BatchedEncoder:
        encoder = get_encoder(name)
        assert isinstance(encoder, BatchedEncoder)
        real = encoder._encode_batch

        def spy(texts: list[str]) -> NDArray[np.float32]:
            calls.append(list(texts))
            return real(texts)

        monkeypatch.setattr(encoder, "_encode_batch", spy)
        return encoder

    first = counted("minilm-int8").encode(TEXTS)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(TEXTS)
    assert any(p.suffix == ".sqlite" for p in (tmp_path / "embeddings").iterdir())

    # A fresh encoder (as in a new run) reads every vector from disk: the model is not called.
    again = counted("minilm-int8").encode([TEXTS[2], TEXTS[0], TEXTS[1], TEXTS[0]])
    assert len(calls) == 1
    np.testing.assert_array_equal(again, first[[2, 0, 1, 0]])

    # Only the text not seen before goes to the model.
    counted("minilm-int8").encode([TEXTS[1], "A completely new sentence."])
    assert calls[1:] == [["A completely new sentence."]]
