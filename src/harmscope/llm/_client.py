"""``ChatClient``: a small, thread-safe client for any OpenAI-compatible ``POST /v1/chat/completions``
(vLLM, llama.cpp server, Ollama, OpenAI, ``harmscope serve-llm``).

What it adds over a bare POST:

- bounded retries with exponential backoff on 408/429/5xx and transport errors (honouring a short
  ``Retry-After``); every other 4xx fails at once with :class:`EndpointRejectedError`;
- structured output: ask for ``json_schema`` (or ``json_object``); when the server answers 400/422 to
  that, the same request is re-sent one level lower (``json_schema`` -> ``json_object`` -> plain text)
  and the level that worked is remembered for the rest of the client's life, so later requests do not
  pay for the failed round trip again;
- ``complete_many``: many conversations at once on a thread pool (one shared ``httpx.Client``);
- errors are one line saying what to check, and never contain prompt text (nothing is logged).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Self

from harmscope.errors import EndpointError
from harmscope.llm._http import (
    DEFAULT_KEY_ENV,
    EndpointRejectedError,
    EndpointUnreachableError,
    api_key_from_env,
    api_root,
    auth_headers,
    request_json,
    resolve_base_url,
)

FormatKind = Literal["json_schema", "json_object", "text"]
FORMAT_LEVELS: tuple[FormatKind, ...] = ("text", "json_object", "json_schema")
"""From least to most constrained; a fallback moves one step left."""
FALLBACK_STATUSES = frozenset({400, 422})
"""Statuses with which servers reject an unsupported ``response_format`` (OpenAI, vLLM, llama.cpp: 400;
some FastAPI-based servers: 422)."""

Message = Mapping[str, str]


@dataclass(frozen=True)
class JsonSchema:
    """A ``response_format`` of type ``json_schema``: the reply must be JSON matching ``schema``."""

    name: str
    schema: Mapping[str, Any]
    strict: bool = True
    """OpenAI's strict mode: every property required, no extra keys (the schema must be written so)."""

    def payload(self) -> dict[str, Any]:
        return {"type": "json_schema",
                "json_schema": {"name": self.name, "schema": dict(self.schema), "strict": self.strict}}


ResponseFormat = JsonSchema | Literal["json_object", "text"]


@dataclass(frozen=True)
class Usage:
    """Token counts the server reported."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ChatCompletion:
    """The assistant's reply to one request and how it was obtained."""

    text: str
    finish_reason: str | None
    """"stop", "length" (hit max_tokens), ... as the server reported it."""
    model: str
    """The model name the server reported (else the one asked for)."""
    response_format: FormatKind
    """The format actually sent in the request that succeeded (after any fallback)."""
    attempts: int
    """HTTP requests made for this reply: 1 + retries + format fallbacks."""
    usage: Usage | None
    seconds: float


@dataclass(frozen=True)
class ChatOutcome:
    """One entry of ``complete_many``: exactly one of ``completion`` and ``error`` is set."""

    index: int
    completion: ChatCompletion | None = None
    error: EndpointError | None = None

    @property
    def ok(self) -> bool:
        return self.completion is not None


def _format_kind(fmt: ResponseFormat | None) -> FormatKind:
    if fmt is None:
        return "text"
    if isinstance(fmt, JsonSchema):
        return "json_schema"
    if fmt in ("json_object", "text"):
        return fmt
    raise ValueError(f"response_format must be a JsonSchema, 'json_object', 'text' or None, got {fmt!r}")


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise ValueError("messages must hold at least one {'role', 'content'} message")
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise TypeError(f"messages[{i}] must be a mapping with string 'role' and 'content'")


class ChatClient:
    """Chat completions from an OpenAI-compatible endpoint. Safe to share between threads.

    ``base_url`` may be given with or without ``/v1`` (default ``$OPENAI_BASE_URL``, else OpenAI's API).
    The API key is ``api_key`` if given, else ``$api_key_env`` (default ``OPENAI_API_KEY``); local servers
    need none. ``max_retries`` retries after the first try on 408/429/5xx/transport errors, waiting
    ``backoff * 2**attempt`` seconds. ``concurrency`` is the default number of requests in flight for
    ``complete_many``.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        api_key_env: str = DEFAULT_KEY_ENV,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 4,
    ) -> None:
        if not model or not isinstance(model, str):
            raise EndpointError("a chat client needs a model name (--model), e.g. smollm2-135m or gpt-4o-mini")
        if timeout <= 0 or max_retries < 0 or backoff < 0 or concurrency < 1:
            raise ValueError("timeout > 0, max_retries >= 0, backoff >= 0 and concurrency >= 1 are required")
        self.model = model
        self.base_url = api_root(resolve_base_url(base_url))
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency
        self._api_key = api_key if api_key else api_key_from_env(api_key_env, base_url=self.base_url)
        self._supported: FormatKind = "json_schema"
        self._lock = threading.Lock()
        self._http: Any = None

    # -- plumbing -------------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """``model@base_url``: what produced a reply."""
        return f"{self.model}@{self.base_url}"

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    @property
    def supported_format(self) -> FormatKind:
        """The most constrained ``response_format`` this endpoint is known to accept (json_schema until a
        rejection taught otherwise)."""
        return self._supported

    def _client(self) -> Any:
        with self._lock:
            if self._http is None:
                import httpx

                self._http = httpx.Client(timeout=self.timeout, headers=auth_headers(self._api_key))
            return self._http

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, body: dict[str, Any] | None, texts: Sequence[str]) -> tuple[Any, int]:
        """The decoded JSON answer and the number of attempts; retries what is worth retrying."""
        return request_json(self._client(), method, url, body, where=f"{url} (model {self.model!r})",
                            key_env=self.api_key_env, max_retries=self.max_retries, backoff=self.backoff,
                            texts=texts, timeout=self.timeout)

    # -- API ------------------------------------------------------------------------------------------------
    def list_models(self) -> list[str]:
        """Model ids the server lists at ``GET /v1/models``."""
        payload, _ = self._request("GET", f"{self.base_url}/models", None, ())
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise EndpointError(f"{self.base_url}/models sent no 'data' list; is --base-url an OpenAI-compatible API?")
        return [str(m["id"]) for m in data if isinstance(m, dict) and "id" in m]

    def complete(
        self,
        messages: Sequence[Message],
        *,
        response_format: ResponseFormat | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        """One chat completion (non-streaming).

        ``response_format`` asks for structured output; the server may be sent a less constrained format
        (see the module docstring) and ``ChatCompletion.response_format`` says which. ``extra`` adds
        other request fields as they are (e.g. ``top_p``). Raises EndpointRejectedError (4xx other than
        a format rejection), EndpointUnreachableError, or EndpointError (retries used up, bad answer).
        """
        _check_messages(messages)
        asked = _format_kind(response_format)
        with self._lock:
            mode = min(asked, self._supported, key=FORMAT_LEVELS.index)
        body: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in messages]}
        for key, value in (("temperature", temperature), ("max_tokens", max_tokens), ("seed", seed)):
            if value is not None:
                body[key] = value
        if stop:
            body["stop"] = list(stop)
        body.update(extra or {})
        texts = [m["content"] for m in messages]
        started = time.perf_counter()
        attempts = 0
        first_rejection: EndpointRejectedError | None = None
        while True:
            body.pop("response_format", None)
            if mode == "json_schema" and isinstance(response_format, JsonSchema):
                body["response_format"] = response_format.payload()
            elif mode == "json_object":
                body["response_format"] = {"type": "json_object"}
            try:
                payload, n = self._request("POST", self.chat_url, body, texts)
            except EndpointRejectedError as error:
                attempts += 1
                if error.status in FALLBACK_STATUSES and mode != "text":
                    first_rejection = first_rejection or error
                    mode = FORMAT_LEVELS[FORMAT_LEVELS.index(mode) - 1]
                    continue
                # Plain text was refused too: the format was not the problem; report the first refusal.
                raise (first_rejection or error) from None
            attempts += n
            break
        if first_rejection is not None:
            with self._lock:  # only now is it known that the lower level works
                self._supported = min(mode, self._supported, key=FORMAT_LEVELS.index)
        return _completion(payload, self.chat_url, self.model, mode, attempts, time.perf_counter() - started)

    def complete_many(
        self,
        conversations: Sequence[Sequence[Message]],
        *,
        concurrency: int | None = None,
        **options: Any,
    ) -> list[ChatOutcome]:
        """``complete`` for each conversation, ``concurrency`` requests in flight (default: the client's).

        Returns one ChatOutcome per conversation, in order; a conversation that failed carries its error.
        Raises at once (cancelling queued requests) on EndpointRejectedError or EndpointUnreachableError,
        which would fail every other conversation too.
        """
        workers = concurrency or self.concurrency
        if workers < 1:
            raise ValueError("concurrency must be at least 1")
        outcomes: list[ChatOutcome] = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self.complete, c, **options) for c in conversations]
            try:
                for i, future in enumerate(futures):
                    try:
                        outcomes.append(ChatOutcome(i, completion=future.result()))
                    except (EndpointRejectedError, EndpointUnreachableError):
                        raise
                    except EndpointError as error:
                        outcomes.append(ChatOutcome(i, error=error))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return outcomes


def _completion(payload: Any, url: str, model: str, mode: FormatKind, attempts: int,
                seconds: float) -> ChatCompletion:
    """The ChatCompletion in an OpenAI-shaped answer; EndpointError naming what is missing."""
    try:
        choice = payload["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(f"{url} sent an answer without choices[0].message; is it an OpenAI-compatible "
                            "chat endpoint?") from None
    content = message.get("content") if isinstance(message, dict) else None
    if content is None and isinstance(message, dict) and message.get("refusal"):
        raise EndpointError(f"{url}: the model refused to answer (message.refusal is set)")
    if not isinstance(content, str):
        raise EndpointError(f"{url} sent a reply whose choices[0].message.content is not text")
    usage = payload.get("usage") if isinstance(payload, dict) else None
    parsed_usage = None
    if isinstance(usage, dict):
        try:
            parsed_usage = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        except (TypeError, ValueError):
            parsed_usage = None
    reported = payload.get("model") if isinstance(payload, dict) else None
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return ChatCompletion(text=content, finish_reason=finish if isinstance(finish, str) else None,
                          model=reported if isinstance(reported, str) and reported else model,
                          response_format=mode, attempts=attempts, usage=parsed_usage, seconds=seconds)
