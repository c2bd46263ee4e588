"""Export a sentence-transformers folder to ONNX (optionally dynamic int8) and load it as ``onnx:<folder>``.

``export_onnx(st_folder, out_folder)`` writes ``model.onnx`` (the transformer's token outputs; mean pooling
and L2 normalisation are done in numpy by :class:`~harmscope.encoders._onnx.OnnxEncoder`), the folder's
``tokenizer.json`` and ``harmscope_onnx.json`` (how to pool, the token budget, provenance). With
``quantize=True`` the MatMul weights are quantised to int8 per output channel with 7-bit range
(onnxruntime's dynamic quantisation; activations are quantised at run time). 7-bit because CPUs without
VNNI (AVX2 only, like these machines) can saturate on full-range u8*s8 products; per-channel because
per-tensor scales cost MiniLM ~1-2 cosine points on short texts. The encoder ``onnx:<folder>`` loads
such a folder with onnxruntime only (no torch); a quantised one is run one text at a time (see
:class:`OnnxFolderEncoder`: its vectors must not depend on batch mates).
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope._paths import staged_folder
from harmscope._workers import thread_budget, worker_pool
from harmscope.encoders._base import BatchedEncoder
from harmscope.encoders._cache import EmbeddingCache
from harmscope.encoders._locate import ModelFilesError
from harmscope.encoders._onnx import OnnxEncoder, OnnxModelSpec, load_session
from harmscope.errors import HarmscopeError

META_FILE = "harmscope_onnx.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FORMAT = "harmscope-onnx-encoder"


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote (also saved as ``harmscope_onnx.json`` in the folder)."""

    folder: str
    source: str
    """The sentence-transformers folder exported."""
    dim: int
    max_seq_length: int
    normalize: bool
    quantized: bool
    inputs: tuple[str, ...]
    """The graph's inputs (``token_type_ids`` only for models that take it)."""
    model_bytes: int
    seconds: float


@dataclass(frozen=True)
class _StLayout:
    transformer: Path
    max_seq_length: int
    normalize: bool


def _read_layout(folder: Path) -> _StLayout:
    """Where the transformer lives and how the folder pools; HarmscopeError for what cannot be exported."""
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        raise ModelFilesError(f"{folder} is not a sentence-transformers folder (no modules.json); "
                              "give the folder written by SentenceTransformer.save()")
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: folder / str(m.get("path", "")) for m in modules}
    if "Transformer" not in kinds or "Pooling" not in kinds:
        raise HarmscopeError(f"{folder}: export needs a Transformer and a Pooling module, found "
                             f"{', '.join(kinds) or 'none'}")
    extra = set(kinds) - {"Transformer", "Pooling", "Normalize"}
    if extra:
        raise HarmscopeError(f"{folder}: cannot export modules {', '.join(sorted(extra))} (only Transformer, "
                             "mean Pooling and Normalize are supported)")
    pooling = json.loads((kinds["Pooling"] / "config.json").read_text(encoding="utf-8"))
    # sentence-transformers < 6 writes pooling_mode_<mode>_tokens flags; 6+ writes "pooling_mode": "mean".
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True]
    if pooling.get("pooling_mode") == "mean":
        modes = ["pooling_mode_mean_tokens"]
    if modes != ["pooling_mode_mean_tokens"]:
        raise HarmscopeError(f"{folder}: pooling {modes or 'none'} is not supported; only mean pooling is")
    transformer = kinds["Transformer"]
    config_file = transformer / "sentence_bert_config.json"
    max_len = 256
    if config_file.is_file():
        max_len = int(json.loads(config_file.read_text(encoding="utf-8")).get("max_seq_length") or max_len)
    if not (transformer / TOKENIZER_FILE).is_file():
        raise ModelFilesError(f"{transformer} has no {TOKENIZER_FILE} (a fast tokenizer is needed)")
    return _StLayout(transformer, max_len, "Normalize" in kinds)


def export_onnx(st_folder: str | Path, out_folder: str | Path, quantize: bool = True, *,
                opset: int = 17) -> OnnxExport:
    """Export the sentence-transformers model in ``st_folder`` to ``out_folder`` (created or replaced).

    Returns what was written. Needs torch, transformers and onnx (export) and onnxruntime (quantisation).
    Load the result with ``get_encoder(f"onnx:{out_folder}")``.
    """
    import torch
    from transformers import AutoModel

    source = Path(st_folder).expanduser().resolve()
    out = Path(out_folder).expanduser().resolve()
    layout = _read_layout(source)
    start = time.perf_counter()
    model = AutoModel.from_pretrained(str(layout.transformer), attn_implementation="eager")
    model.eval()
    import inspect

    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters and \
        int(getattr(model.config, "type_vocab_size", 0) or 0) > 0
    inputs = ("input_ids", "attention_mask") + (("token_type_ids",) if takes_types else ())

    class _Tokens(torch.nn.Module):
        """The transformer's last hidden state (batch, seq, dim) only: pooling happens outside."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(inputs, args))).last_hidden_state

    example = torch.ones(2, 8, dtype=torch.long)
    args = tuple(example if name != "token_type_ids" else torch.zeros_like(example) for name in inputs)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*inputs, "last_hidden_state")}
    if out.exists() and not (out / META_FILE).is_file() and any(out.iterdir()):
        raise HarmscopeError(f"{out} exists and is not an ONNX export; choose an empty or new folder")
    with staged_folder(out) as tmp:
        raw = tmp / ("fp32.onnx" if quantize else MODEL_FILE)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
            torch.onnx.export(_Tokens(model), args, str(raw), dynamo=False, input_names=list(inputs),
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=opset)
        if quantize:
            _quantize(raw, tmp / MODEL_FILE)
            raw.unlink()
        shutil.copyfile(layout.transformer / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        result = OnnxExport(folder=str(out), source=str(source), dim=int(model.config.hidden_size),
                            max_seq_length=layout.max_seq_length, normalize=layout.normalize, quantized=quantize,
                            inputs=inputs, model_bytes=(tmp / MODEL_FILE).stat().st_size,
                            seconds=round(time.perf_counter() - start, 3))
        meta = {"format": META_FORMAT, "version": 1, "pooling": "mean", **asdict(result)}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return result


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights (per channel, 7-bit; see the module doc)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser warns about optional pre-processing
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         per_channel=True, reduce_range=True)
    finally:
        logging.getLogger().setLevel(quiet)


class OnnxFolderEncoder(OnnxEncoder):
    """``onnx:<folder>``: an :class:`OnnxEncoder` whose embedding cache is keyed by the model file's size
    and modification time too, so re-exporting into the same folder never serves stale vectors.

    ``per_text=True`` (quantised exports) runs the graph once per text. Dynamic quantisation scales the
    activations per *tensor*, i.e. per batch: in a padded batch a text's vector moves with its batch
    mates (cosine down to ~0.99, enough to move a kNN score by 0.4 and flip ~1% of verdicts), so a prompt
    would be judged differently alone, in a multi-text request, in a micro-batch or in a batch job. One
    text per run makes every vector a function of its text only; on these 2-core machines it encoded as
    many texts per second as batches of 32 (docs/speed.md).
    """

    def __init__(self, spec: OnnxModelSpec, folder: Path, *, use_cache: bool = True, batch_size: int = 32,
                 per_text: bool = False) -> None:
        super().__init__(spec, lambda: (folder / MODEL_FILE, folder / TOKENIZER_FILE), use_cache=use_cache,
                         batch_size=batch_size)
        self.folder = folder
        self.per_text = per_text

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        if not self.per_text or len(texts) <= 1:
            return super()._encode_batch(texts)
        workers = thread_budget()
        if workers <= 1:
            session, tokenizer = self._load()
            return np.concatenate([self._run(session, tokenizer, [t]) for t in texts])
        # One-text runs are too small for two intra-op threads to share well (~230 texts/s on 2 cores);
        # two callers on a single-threaded session keep both cores busy (~320 texts/s; docs/speed.md).
        self._load()
        model, tokenizer_json = self._locate()
        session, tokenizer = load_session(model, tokenizer_json, self.spec.max_length, threads=1)
        runs = worker_pool("onnx", workers).map(lambda t: self._run(session, tokenizer, [t]), texts)
        return np.concatenate(list(runs))

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            stat = (self.folder / MODEL_FILE).stat()
            mode = "-pt" if self.per_text else ""  # vectors of batched int8 runs differ: never mix them
            self._cache = EmbeddingCache(f"{self.id}@{stat.st_size}-{stat.st_mtime_ns}{mode}")
        return self._cache


def from_folder(path: str, *, use_cache: bool = True, batch_size: int = 32,
                per_text: bool | None = None) -> BatchedEncoder:
    """The encoder for ``onnx:<folder>`` (a folder written by :func:`export_onnx`). ``per_text``: one text
    per graph run; None = for quantised exports only (see :class:`OnnxFolderEncoder`)."""
    if not path:
        raise ModelFilesError("onnx: needs a folder, e.g. onnx:/models/minilm-safety-onnx")
    folder = Path(path).expanduser().resolve()
    meta_file = folder / META_FILE
    if not meta_file.is_file() or not (folder / MODEL_FILE).is_file():
        raise ModelFilesError(f"onnx:{path}: {folder} holds no ONNX export ({META_FILE} and {MODEL_FILE}); "
                              "write one with harmscope.encoders._onnx_export.export_onnx(st_folder, out_folder)")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("format") != META_FORMAT or meta.get("pooling") != "mean":
        raise ModelFilesError(f"onnx:{path}: {meta_file} is not a harmscope ONNX export description")
    spec = OnnxModelSpec(f"onnx:{folder}", int(meta["dim"]), int(meta["max_seq_length"]), pooled_output=None,
                         normalize=bool(meta["normalize"]))
    return OnnxFolderEncoder(spec, folder, use_cache=use_cache, batch_size=batch_size,
                             per_text=bool(meta.get("quantized")) if per_text is None else per_text)
