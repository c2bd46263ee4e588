"""The seam for tree generators: anything that turns prompts into harm-benefit trees (an LLM that writes
them, a model that predicts categories, a cache of precomputed trees) implements ``TreeGenerator``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from harmscope.detectors.harm_benefit._parse import ParseResult
from harmscope.detectors.harm_benefit._tree import HarmBenefitTree


@dataclass(frozen=True)
class TreeResult:
    """The tree of one prompt and, when it was parsed from generated text, what the parser did."""

    tree: HarmBenefitTree
    generator: str
    """Id of the generator that produced it."""
    parse: ParseResult | None = None
    """Repairs and dropped parts when the tree came from text (None for trees built directly)."""

    @property
    def complete(self) -> bool:
        """False when the parser dropped part of the generated tree."""
        return self.parse is None or self.parse.complete


@runtime_checkable
class TreeGenerator(Protocol):
    """Prompts -> one ``TreeResult`` per prompt, in order. Implementations must not log prompt text."""

    id: str

    def generate(self, prompts: Sequence[str]) -> list[TreeResult]: ...
