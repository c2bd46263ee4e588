"""The numbers the Safe-Embed paper published, read from ``paper_safe_embed.json`` (which names its source)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from harmscope.errors import HarmscopeError

__all__ = ["PaperNumbers", "paper_avg_sim", "paper_name", "paper_numbers"]


@dataclass(frozen=True)
class PaperNumbers:
    """Published constants and results, keyed by the paper's encoder names."""

    citation: str
    encoder_names: dict[str, str]
    """harmscope encoder id -> paper encoder name (only encoders the paper evaluated)."""
    avg_sim: dict[str, float]
    avg_sim_source: str
    challenging: dict[str, dict[str, float]]
    """paper encoder name -> {XSTest type: mean normalised cosine}."""
    challenging_source: str


@lru_cache(maxsize=1)
def paper_numbers() -> PaperNumbers:
    raw: dict[str, Any] = json.loads(
        resources.files("harmscope.analysis").joinpath("paper_safe_embed.json").read_text("utf-8"))
    names = {k: v for k, v in raw["encoder_names"].items() if not k.startswith("_")}
    return PaperNumbers(
        citation=raw["paper"], encoder_names=names,
        avg_sim={k: float(v) for k, v in raw["avg_sim"]["values"].items()},
        avg_sim_source=raw["avg_sim"]["_source"],
        challenging={m: {t: float(x) for t, x in row.items()} for m, row in raw["challenging"]["values"].items()},
        challenging_source=raw["challenging"]["_source"],
    )


def paper_name(encoder: str) -> str | None:
    """The paper's name for a harmscope encoder id (``"mpnet"`` -> ``"SBERT-all"``), or None if it was not
    evaluated there. A paper name given directly is returned as is."""
    numbers = paper_numbers()
    if encoder in numbers.avg_sim:
        return encoder
    return numbers.encoder_names.get(encoder)


def paper_avg_sim(encoder: str) -> float:
    """The paper's published normalisation constant for ``encoder``; a clear error if it has none."""
    numbers = paper_numbers()
    name = paper_name(encoder)
    if name is None or name not in numbers.avg_sim:
        mapped = ", ".join(f"{k} (= {v})" for k, v in numbers.encoder_names.items())
        raise HarmscopeError(
            f"the Safe-Embed paper publishes no average similarity for encoder {encoder!r}; published for "
            f"{mapped}, and by paper name for {', '.join(numbers.avg_sim)}. Fix: drop --avg-sim to compute "
            "it, or pass a number (--avg-sim 0.1)")
    return numbers.avg_sim[name]
