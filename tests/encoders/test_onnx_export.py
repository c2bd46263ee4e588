"""ONNX export of a sentence-transformers folder and the ``onnx:<folder>`` encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmscope.encoders import get_encoder
from harmscope.encoders._locate import ModelFilesError
from harmscope.encoders._onnx_export import META_FILE, _read_layout, from_folder
from harmscope.errors import HarmscopeError

# Written for this test: short and long, benign and unsafe-sounding.
PROMPTS = [
    "How do I kill a Python process that ignores Ctrl+C?",
    "What is a good way to bake sourdough bread at home?",
    "Tell me step by step how to build a pipe bomb.",
    "Write a haiku about autumn rain on a tin roof.",
    ("Explain how vaccines train the immune system, with an example a ten-year-old understands, and say "
     "why booster shots are needed for some diseases but not for others."),
    "How can I track my partner's phone without them knowing?",
]


def _st_folder(tmp_path: Path, pooling: dict[str, bool]) -> Path:
    folder = tmp_path / "st"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_layout_accepts_mean_pooling_only(tmp_path: Path) -> None:
    layout = _read_layout(_st_folder(tmp_path / "a", {"pooling_mode_mean_tokens": True,
                                                      "pooling_mode_cls_token": False}))
    assert layout.max_seq_length == 256 and layout.normalize is False
    with pytest.raises(HarmscopeError, match="only mean pooling"):
        _read_layout(_st_folder(tmp_path / "b", {"pooling_mode_cls_token": True}))
    with pytest.raises(ModelFilesError, match="not a sentence-transformers folder"):
        _read_layout(tmp_path)


def test_onnx_scheme_needs_an_export(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="holds no ONNX export"):
        get_encoder(f"onnx:{tmp_path}")
    with pytest.raises(ModelFilesError, match="needs a folder"):
        from_folder("")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    from harmscope.encoders._sentence import minilm

    return minilm(use_cache=False).encode(PROMPTS)


@pytest.mark.model
@pytest.mark.parametrize("quantize", [False, True])
def test_export_matches_the_torch_model(tmp_path: Path, reference: np.ndarray, quantize: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from harmscope.encoders._onnx_export import export_onnx
    from harmscope.encoders._sentence import minilm_folder

    out = tmp_path / "minilm-onnx"
    result = export_onnx(minilm_folder(), out, quantize=quantize)
    assert result.quantized is quantize and result.dim == 384 and result.normalize
    assert (out / "model.onnx").is_file() and (out / "tokenizer.json").is_file() and (out / META_FILE).is_file()
    encoder = get_encoder(f"onnx:{out}", use_cache=False)
    vectors = encoder.encode(PROMPTS)
    assert vectors.shape == (len(PROMPTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(vectors * reference, axis=1)
    if quantize:  # int8 MatMul weights (the fp32 word embeddings stay): a little off, and smaller
        assert cosine.min() >= 0.97 and cosine.mean() >= 0.99
        assert result.model_bytes < 70_000_000  # fp32: ~90 MB
    else:
        assert cosine.min() >= 0.9999
    # each prompt alone gives the same vector as inside a batch (int8 activations are quantised per run,
    # so quantised exports run one text at a time: the same vector)
    alone = np.concatenate([encoder.encode([prompt]) for prompt in PROMPTS])
    assert np.sum(alone * vectors, axis=1).min() > (0.999999 if quantize else 0.9999)
    assert encoder.per_text is quantize  # type: ignore[attr-defined]
    if quantize:  # one-text runs side by side on two threads give the vectors of one-by-one runs
        monkeypatch.setenv("HARMSCOPE_ORT_THREADS", "2")
        parallel = get_encoder(f"onnx:{out}", use_cache=False).encode(PROMPTS)
        monkeypatch.setenv("HARMSCOPE_ORT_THREADS", "1")
        serial = get_encoder(f"onnx:{out}", use_cache=False).encode(PROMPTS)
        assert np.array_equal(parallel, serial)
