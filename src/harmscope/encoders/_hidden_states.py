"""LLM hidden states as an encoder: ``hs:<lm>@<layer>[:last|mean][:chat]``.

Following "Maybe I Should Not Answer That" (arXiv 2502.16174), a light classifier on a small LLM's
last-token hidden state can tell unsafe prompts from safe ones. This module turns such states into an
:class:`~harmscope.encoders.Encoder` (one layer -> (n, width) float32) and offers
:func:`hidden_states_all_layers` for layer sweeps ((n_layers + 1, n, width), every layer computed in
one forward pass).

Grammar (the text after ``hs:``)::

    <lm>@<layer>[:last|:mean][:chat]

- ``<lm>``: ``smollm2-135m`` (30 x 576), ``gemma3-270m`` (18 x 640), ``qwen2.5-0.5b`` (24 x 896, optional).
- ``<layer>``: an integer in ``0..n_layers`` (0 = token embeddings, k = output of block k, n_layers =
  output of the last block after the final norm) or negative from the end (-1 = n_layers).
- ``last`` (default): the state at the prompt's last token; ``mean``: average over the prompt's tokens.
- ``chat``: wrap the prompt as one user turn with the LM's chat template and the generation prompt, so
  the last-token state is read where the model would start answering.

Options are separated by ``:`` and may come in any order, each at most once. Encoder ids are the
canonical form (``hs:smollm2-135m@30:last``), so ``@-1`` and ``@30`` share one embedding cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from harmscope._progress import progress
from harmscope.encoders._base import BatchedEncoder, _check_texts
from harmscope.encoders._cache import EmbeddingCache
from harmscope.encoders._lm import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_TOKENS,
    LMS,
    MIN_MAX_TOKENS,
    POOLINGS,
    LMSpec,
    Pooling,
    forward_pooled,
    lm_spec,
    load_lm,
    tokenize_prompts,
)
from harmscope.errors import HarmscopeError

GRAMMAR = "hs:<lm>@<layer>[:last|mean][:chat]"
_EXAMPLE = "e.g. hs:smollm2-135m@12 or hs:gemma3-270m@-1:mean:chat"


class HiddenStateNameError(HarmscopeError, ValueError):
    """An ``hs:`` encoder name does not follow the grammar, or names an unknown LM or layer."""


@dataclass(frozen=True)
class HiddenStateSpec:
    """A parsed ``hs:`` name. ``layer`` is already normalised to ``0..n_layers`` (no negatives)."""

    lm: str
    layer: int
    pooling: Pooling = "last"
    chat: bool = False

    @property
    def name(self) -> str:
        """The canonical encoder id, e.g. ``hs:smollm2-135m@30:last:chat``."""
        return f"hs:{self.lm}@{self.layer}:{self.pooling}" + (":chat" if self.chat else "")

    @property
    def lm_info(self) -> LMSpec:
        return LMS[self.lm]


def normalize_layer(lm: str, layer: int) -> int:
    """``layer`` as an index into ``0..n_layers`` of LM ``lm``; negative counts from the end (-1 = last)."""
    spec = _lm_or_error(lm)
    n = spec.n_layers
    if not -(n + 1) <= layer <= n:
        raise HiddenStateNameError(
            f"layer {layer} is out of range for {lm} ({n} blocks): use 0..{n} "
            f"(0 = embeddings, {n} = final normed output) or -{n + 1}..-1 from the end"
        )
    return layer + n + 1 if layer < 0 else layer


def parse_hs_name(name: str) -> HiddenStateSpec:
    """Parse ``<lm>@<layer>[:last|mean][:chat]`` (with or without the ``hs:`` prefix).

    Raises :class:`HiddenStateNameError` (a :class:`HarmscopeError`) with the valid choices.
    """
    text = name.strip().removeprefix("hs:")
    head, *options = text.split(":")
    lm, at, layer_text = head.partition("@")
    if not at or not lm:
        raise HiddenStateNameError(
            f"hidden-state encoder {name!r} must name an LM and a layer: {GRAMMAR}, {_EXAMPLE}"
        )
    try:
        layer = int(layer_text)
    except ValueError:
        raise HiddenStateNameError(
            f"layer {layer_text!r} in {name!r} is not an integer: {GRAMMAR}, {_EXAMPLE}"
        ) from None
    pooling: Pooling | None = None
    chat = False
    for option in options:
        if option in POOLINGS:
            if pooling is not None:
                raise HiddenStateNameError(f"{name!r} gives the pooling twice; use one of :last or :mean")
            pooling = cast(Pooling, option)
        elif option == "chat":
            if chat:
                raise HiddenStateNameError(f"{name!r} gives :chat twice")
            chat = True
        else:
            raise HiddenStateNameError(
                f"unknown option {option!r} in {name!r}: options are :last, :mean and :chat ({GRAMMAR})"
            )
    return HiddenStateSpec(lm, normalize_layer(lm, layer), pooling or "last", chat)


def _lm_or_error(lm: str) -> LMSpec:
    if lm not in LMS:
        raise HiddenStateNameError(f"unknown LM {lm!r} for hidden states; known: {', '.join(sorted(LMS))}")
    return lm_spec(lm)


def _check_options(max_tokens: int, batch_size: int) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < MIN_MAX_TOKENS:
        raise HarmscopeError(f"max_tokens must be an integer >= {MIN_MAX_TOKENS}, got {max_tokens!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise HarmscopeError(f"batch_size must be a positive integer, got {batch_size!r}")


def _cache_id(spec: HiddenStateSpec, max_tokens: int) -> str:
    # The default truncation keeps ids equal to the canonical names; other limits get their own cache.
    return spec.name if max_tokens == DEFAULT_MAX_TOKENS else f"{spec.name}|max_tokens={max_tokens}"


class HiddenStateEncoder(BatchedEncoder):
    """One layer of an LM's hidden states, pooled per prompt: ``encode(texts)`` -> float32 (n, width).

    The LM is loaded on the first batch that misses the embedding cache (not at construction), so
    building the encoder and reading cached vectors cost no model load.
    """

    def __init__(
        self,
        spec: HiddenStateSpec,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_cache: bool = True,
    ) -> None:
        super().__init__(use_cache=use_cache)
        _check_options(max_tokens, batch_size)
        self.spec = spec
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.id = _cache_id(spec, max_tokens)

    @property
    def dim(self) -> int:
        return self.spec.lm_info.width

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        lm = load_lm(self.spec.lm)
        ids = tokenize_prompts(lm, texts, chat=self.spec.chat, max_tokens=self.max_tokens)
        return forward_pooled(lm, ids, [self.spec.layer], self.spec.pooling, batch_size=self.batch_size)[0]

    def __repr__(self) -> str:
        return f"HiddenStateEncoder({self.id!r})"


def hidden_states(arg: str, /, **options: Any) -> HiddenStateEncoder:
    """Registry factory for ``hs:<arg>``; ``options``: ``max_tokens``, ``batch_size``, ``use_cache``."""
    return HiddenStateEncoder(parse_hs_name(arg), **options)


def hidden_states_all_layers(
    lm: str,
    texts: Sequence[str],
    pooling: Pooling = "last",
    chat: bool = False,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    use_cache: bool = True,
) -> NDArray[np.float32]:
    """Every layer's pooled hidden states: float32 of shape (n_layers + 1, len(texts), width).

    ``[k]`` equals ``get_encoder(f"hs:{lm}@{k}:{pooling}[:chat]").encode(texts)``: the results go to
    (and come from) the same per-layer embedding caches, so a layer sweep computes each text once and
    later single-layer encoders read the cache. A text is recomputed (all layers at once) only when
    some layer lacks it.
    """
    spec = _lm_or_error(lm)
    if pooling not in POOLINGS:
        raise HarmscopeError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    _check_options(max_tokens, batch_size)
    items = _check_texts(texts)
    layers = list(range(spec.n_layers + 1))
    out = np.empty((len(layers), len(items), spec.width), dtype=np.float32)
    if not items:
        return out
    caches = [
        EmbeddingCache(_cache_id(HiddenStateSpec(lm, layer, pooling, chat), max_tokens)) for layer in layers
    ] if use_cache else []
    try:
        found: dict[str, NDArray[np.float32]] = {}
        if caches:
            per_layer = [cache.get_many(items) for cache in caches]
            for i, text in enumerate(items):
                rows = [column[i] for column in per_layer]
                if all(r is not None for r in rows):
                    found[text] = np.stack(cast(list[NDArray[np.float32]], rows))
        missing = sorted({t for t in items if t not in found})
        if missing:
            model = load_lm(lm)
            ids = tokenize_prompts(model, missing, chat=chat, max_tokens=max_tokens)
            # Group by length so batches pad little; write each group to the caches as soon as it is done.
            order = sorted(range(len(missing)), key=lambda i: len(ids[i]))
            groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
            for group in progress(groups, total=len(groups), desc=f"hidden states {lm}", unit="batch"):
                states = forward_pooled(model, [ids[i] for i in group], layers, pooling, batch_size=batch_size)
                for row, i in enumerate(group):
                    found[missing[i]] = states[:, row, :]
                for layer, cache in enumerate(caches):
                    cache.put_many({missing[i]: states[layer, row] for row, i in enumerate(group)})
        for i, text in enumerate(items):
            out[:, i, :] = found[text]
        return out
    finally:
        for cache in caches:
            cache.close()


def list_lms() -> list[str]:
    """Names accepted as ``<lm>`` in ``hs:<lm>@<layer>``."""
    return sorted(LMS)


__all__ = [
    "GRAMMAR",
    "HiddenStateEncoder",
    "HiddenStateNameError",
    "HiddenStateSpec",
    "hidden_states",
    "hidden_states_all_layers",
    "list_lms",
    "normalize_layer",
    "parse_hs_name",
]
