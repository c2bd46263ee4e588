"""Helpers every OpenAI-compatible HTTP client in harmscope shares: base URL and API-key resolution,
which answers are worth retrying, how long to wait, the bounded retry loop itself, and one-line error
messages that never echo a prompt.

Stdlib only at import, so importing it costs nothing; httpx is imported when a request is sent.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from harmscope.errors import EndpointError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Answers that say "try again later" (timeouts, rate limits, overloaded or restarting servers)."""
MAX_RETRY_AFTER = 30.0
"""Longest ``Retry-After`` honoured, in seconds; a server asking for more is treated as failing."""


class EndpointRejectedError(EndpointError):
    """The endpoint refused the request for a reason retrying cannot fix (bad URL, key, model or options).

    ``status`` is the HTTP status. Batch callers stop at once on it, since every further request would
    be refused the same way.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class EndpointUnreachableError(EndpointError):
    """No answer at all (connection refused, DNS, timeouts) after every retry: the server is down or the
    URL is wrong, so batch callers stop instead of failing each request the same way."""


def resolve_base_url(base_url: str | None, *, env: str = BASE_URL_ENV, default: str = DEFAULT_BASE_URL) -> str:
    """``base_url``, else ``$OPENAI_BASE_URL``, else OpenAI's; without a trailing slash.

    Raises EndpointError when the URL does not start with http:// or https://.
    """
    url = (base_url or os.environ.get(env) or default).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise EndpointError(f"base URL {url!r} must start with http:// or https:// (e.g. http://localhost:8000/v1)")
    return url


def api_root(base_url: str) -> str:
    """The API root (``.../v1``) of a base URL given with or without ``/v1`` or as a full endpoint URL.

    ``http://host:8000`` -> ``http://host:8000/v1``; ``.../v1/chat/completions`` -> ``.../v1``.
    """
    url = base_url.rstrip("/")
    for suffix in ("/chat/completions", "/completions", "/embeddings", "/models"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    return url if url.endswith("/v1") else url + "/v1"


def api_key_from_env(env: str | None, *, base_url: str, required_for: str = DEFAULT_BASE_URL) -> str | None:
    """The API key in ``$env`` (None when unset or empty: local servers need none).

    Raises EndpointError when no key is set but ``base_url`` is OpenAI's own API, which always needs one.
    """
    name = env or DEFAULT_KEY_ENV
    key = os.environ.get(name, "").strip()
    if key:
        return key
    if base_url.rstrip("/") == required_for.rstrip("/"):
        raise EndpointError(f"{base_url} needs an API key; set ${name} (or point --base-url at a local "
                            "OpenAI-compatible server)")
    return None


def auth_headers(api_key: str | None) -> dict[str, str]:
    """JSON content type plus a bearer token when there is a key."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def backoff_delay(attempt: int, base: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): ``base * 2**attempt``."""
    return base * (2 ** attempt)


def retry_after(response: Any, default: float) -> float:
    """The response's ``Retry-After`` in seconds (capped at MAX_RETRY_AFTER), else ``default``."""
    header = response.headers.get("retry-after")
    try:
        seconds = float(header) if header is not None else default
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else default


def server_message(response: Any, texts: Iterable[str] = ()) -> str:
    """The server's short error message (OpenAI's ``{"error": {"message"}}`` or a plain string), at most
    160 characters, or "" when there is none or when it quotes the start of any of ``texts`` (prompts
    must not reach logs through an error message)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str):
        return ""
    if any(t.strip() and t.strip()[:40] in message for t in texts):
        return ""
    return " ".join(message.split())[:160]


def status_message(response: Any, where: str, key_env: str, attempts: int, texts: Iterable[str] = ()) -> str:
    """One line: status, the server's message (unless it echoes a prompt), and what to check."""
    status = response.status_code
    detail = server_message(response, texts)
    detail = f": {detail}" if detail else ""
    if status in (401, 403):
        fix = f"check the key in ${key_env} (or choose another variable with api_key_env=)"
    elif status == 404:
        fix = "check --base-url (it should end in /v1) and the model name"
    elif status >= 500 or status == 429:
        fix = f"the server kept failing after {attempts} attempt(s); retry later or check the server's logs"
    else:
        fix = "check the model name and request options"
    return f"{where} answered HTTP {status}{detail}; {fix}"


def request_json(
    client: Any,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    *,
    where: str,
    key_env: str,
    max_retries: int,
    backoff: float,
    texts: Sequence[str] = (),
    timeout: float | None = None,
) -> tuple[Any, int]:
    """Send one request through ``client`` (an ``httpx.Client``) with bounded retries; return the decoded
    JSON answer and the number of attempts it took.

    Transport errors, timeouts and RETRY_STATUSES answers are retried up to ``max_retries`` times,
    waiting ``backoff * 2**attempt`` seconds (or a short ``Retry-After``). ``where`` names the endpoint in
    errors, ``key_env`` the API-key variable a 401/403 should point at, ``texts`` the prompts an error
    message must not quote, ``timeout`` (seconds) is only reported. Raises EndpointUnreachableError (no
    answer after every attempt), EndpointRejectedError (a 4xx retrying cannot fix), or EndpointError
    (retries used up, or an answer that is not JSON).
    """
    import httpx

    last = ""
    for attempt in range(max_retries + 1):
        wait = backoff_delay(attempt, backoff)
        try:
            response = client.request(method, url, json=body)
        except (httpx.TimeoutException, httpx.TransportError) as error:
            last = f"cannot reach {where}: {type(error).__name__}"
            if attempt < max_retries:
                time.sleep(wait)
                continue
            limit = f" (timeout {timeout:g} s)" if timeout is not None else ""
            raise EndpointUnreachableError(
                f"{last} after {attempt + 1} attempt(s); check --base-url / ${BASE_URL_ENV} and that the "
                f"server is running{limit}") from None
        status = response.status_code
        if status in RETRY_STATUSES and attempt < max_retries:
            time.sleep(retry_after(response, wait))
            last = f"HTTP {status}"
            continue
        if status >= 400:
            message = status_message(response, where, key_env, attempt + 1, texts)
            if status in RETRY_STATUSES:
                raise EndpointError(message)
            raise EndpointRejectedError(message, status)
        try:
            return response.json(), attempt + 1
        except ValueError:
            raise EndpointError(f"{where} answered HTTP {status} with a body that is not JSON; check that "
                                "--base-url points at the API root (e.g. http://host:port/v1)") from None
    raise EndpointError(f"{where}: {last}")  # unreachable: the loop returns or raises
