"""Text -> vectors. ``get_encoder(id)`` builds any registered encoder; nothing heavy is imported here."""

from __future__ import annotations

from typing import Any

from harmscope.encoders._base import BatchedEncoder, Encoder, embedding_cache_disabled
from harmscope.encoders._hidden_states import (
    HiddenStateSpec,
    hidden_states_all_layers,
    list_lms,
    parse_hs_name,
)
from harmscope.registry import ENCODERS

__all__ = [
    "BatchedEncoder",
    "Encoder",
    "HiddenStateSpec",
    "embedding_cache_disabled",
    "get_encoder",
    "hidden_states_all_layers",
    "list_encoders",
    "list_lms",
    "parse_hs_name",
]


def get_encoder(name: str, /, **options: Any) -> Encoder:
    """Build the encoder registered as ``name`` (``minilm``, ``mpnet``, ``st:<path>``, ``openai:<model>``…).

    ``options`` go to the factory (e.g. ``base_url=`` for ``openai:``). Raises
    :class:`harmscope.errors.UnknownNameError` for an unknown id.
    """
    factory, arg = ENCODERS.resolve(name)
    encoder: Encoder = factory(arg, **options) if arg is not None else factory(**options)
    return encoder


def list_encoders() -> list[str]:
    return ENCODERS.names()
