"""The two-step guard gateway behind ``POST /v1/chat/completions``.

Step one screens every user turn of the conversation with the moderator (one detector pass). Step two:

- nothing flagged -> the request body is forwarded byte for byte to the upstream OpenAI-compatible server
  (``settings.upstream``); its answer (JSON, or a Server-Sent-Events stream relayed chunk by chunk) and
  status come back unchanged;
- flagged, ``on_unsafe: refuse`` -> a refusal in the normal ``chat.completion`` shape (or as SSE chunks when
  the request streams); the upstream is never called;
- flagged, ``on_unsafe: reroute`` -> the request goes to ``safe_upstream`` instead (its ``model`` and a
  system prompt may be replaced/prepended).

The decision travels in response headers: ``x-harmscope-decision: allowed|refused|rerouted``,
``x-harmscope-score`` (highest P(unsafe) over the user turns), ``x-harmscope-categories`` (OpenAI categories
set, comma-separated) and ``x-harmscope-request-id``. An upstream that cannot be reached or answers 5xx gives
502; one that does not answer in time gives 504 (OpenAI's error shape). Upstream 4xx answers pass through.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from starlette.responses import JSONResponse, Response, StreamingResponse

from harmscope.service.moderator import InputError, ModerationOutcome
from harmscope.service.settings import GatewaySettings, UpstreamSettings

GuardDecision = Literal["allowed", "refused", "rerouted"]


class UpstreamError(Exception):
    """The upstream failed (502) or timed out (504)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def response(self, headers: Mapping[str, str]) -> JSONResponse:
        return JSONResponse({"error": {"message": self.message, "type": "upstream_error", "param": None,
                                       "code": self.code}}, status_code=self.status, headers=dict(headers))


@dataclass(frozen=True)
class ChatScreen:
    """The guard's decision on one chat request."""

    decision: GuardDecision
    outcome: ModerationOutcome

    def headers(self) -> dict[str, str]:
        categories = sorted({c for v in self.outcome.verdicts for c, on in v.openai_categories.items() if on})
        out = {"x-harmscope-decision": self.decision, "x-harmscope-score": f"{self.outcome.max_score:.4f}",
               "x-harmscope-request-id": self.outcome.request_id}
        if categories:
            out["x-harmscope-categories"] = ",".join(categories)
        return out


@dataclass(frozen=True)
class UserTurn:
    """The text of one user message and where it is in ``messages``."""

    message_index: int
    text: str


def user_turns(body: Mapping[str, Any]) -> list[UserTurn]:
    """The text of every user message (text parts of list contents joined by newlines).

    InputError (400) when ``messages`` is missing, empty or malformed. Non-text parts (images) are not
    screened. A user turn with no text is skipped: there is nothing to screen in it.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError("messages must be a non-empty list of {role, content} objects", "messages",
                         "invalid_type" if "messages" in body else "missing")
    texts: list[UserTurn] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InputError(f"{where} must be an object with role and content", where, "invalid_type")
        role = message.get("role")
        if not isinstance(role, str):
            raise InputError(f"{where}.role must be a string", f"{where}.role", "invalid_type")
        if role != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            parts = []
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise InputError(f"{where}.content[{j}] must be an object with a type",
                                     f"{where}.content[{j}]", "invalid_type")
                if part["type"] == "text":
                    if not isinstance(part.get("text"), str):
                        raise InputError(f"{where}.content[{j}].text must be a string",
                                         f"{where}.content[{j}].text", "invalid_type")
                    parts.append(part["text"])
            text = "\n".join(parts)
        elif content is None:
            text = ""
        else:
            raise InputError(f"{where}.content must be a string or a list of content parts",
                             f"{where}.content", "invalid_type")
        if text.strip():
            texts.append(UserTurn(i, text))
    if not texts:
        raise InputError("the conversation has no user message with text to screen", "messages", "empty_input")
    return texts


class Gateway:
    """Forwards screened chat requests. One ``httpx.AsyncClient`` per gateway, opened by :meth:`start`."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self._client is None:
            timeout = httpx.Timeout(self.settings.timeout_s, connect=self.settings.connect_timeout_s)
            # trust_env=False: proxies from the environment must not silently see the forwarded prompts.
            self._client = httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("Gateway.start() was not called (the app's lifespan starts it)")
        return self._client

    def decide(self, outcome: ModerationOutcome) -> ChatScreen:
        if not outcome.flagged:
            return ChatScreen("allowed", outcome)
        return ChatScreen("rerouted" if self.settings.on_unsafe == "reroute" else "refused", outcome)

    async def respond(self, screen: ChatScreen, body: Mapping[str, Any], raw: bytes) -> Response:
        """The answer to a screened request (see the module docstring)."""
        headers = screen.headers()
        stream = body.get("stream") is True
        if screen.decision == "allowed":
            return await self._forward(self.settings.upstream, raw, stream, headers)
        if screen.decision == "rerouted":
            target = self.settings.safe_upstream
            assert target is not None  # GatewaySettings guarantees it for on_unsafe=reroute
            return await self._forward(target, _rewrite(body, target), stream, headers)
        return refusal(self.settings.refusal_message, body, stream, headers)

    async def _forward(self, target: UpstreamSettings, content: bytes, stream: bool,
                       headers: dict[str, str]) -> Response:
        url = target.base_url.rstrip("/") + "/chat/completions"
        out_headers = {"content-type": "application/json", "accept-encoding": "identity",
                       "accept": "text/event-stream" if stream else "application/json"}
        key = target.key()
        if key:
            out_headers["authorization"] = f"Bearer {key}"
        request = self.client.build_request("POST", url, content=content, headers=out_headers)
        data = b""
        try:
            async with asyncio.timeout(self.settings.timeout_s if not stream else None):
                upstream = await self.client.send(request, stream=True)
                if not stream or upstream.status_code >= 400:
                    try:
                        data = await upstream.aread()
                    finally:
                        await upstream.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise UpstreamError(504, f"the upstream chat server did not answer within {self.settings.timeout_s:g} s",
                                "upstream_timeout") from None
        except httpx.HTTPError as error:
            raise UpstreamError(502, f"the upstream chat server could not be reached ({type(error).__name__})",
                                "upstream_unreachable") from None
        media = upstream.headers.get("content-type", "application/json")
        if upstream.status_code >= 500:
            raise UpstreamError(502, f"the upstream chat server failed with status {upstream.status_code}"
                                f"{_upstream_message(data)}", "upstream_error")
        if not stream or upstream.status_code >= 400:
            return Response(data, status_code=upstream.status_code, media_type=media, headers=headers)
        return StreamingResponse(_relay(upstream), status_code=upstream.status_code, media_type=media,
                                 headers={**headers, "cache-control": "no-cache"})


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """Upstream SSE bytes as they come; a failure mid-stream ends it with an OpenAI-style error event."""
    try:
        async for chunk in upstream.aiter_bytes():
            yield chunk
    except httpx.TimeoutException:
        yield _sse({"error": {"message": "the upstream chat server stopped sending (timeout)",
                              "type": "upstream_error", "param": None, "code": "upstream_timeout"}})
    except httpx.HTTPError as error:
        yield _sse({"error": {"message": f"the upstream stream broke ({type(error).__name__})",
                              "type": "upstream_error", "param": None, "code": "upstream_error"}})
    finally:
        await upstream.aclose()


def _upstream_message(data: bytes) -> str:
    """``": <upstream error message>"`` when the upstream sent OpenAI's error shape, else ``""``."""
    try:
        message = json.loads(data)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {str(message)[:300]}" if isinstance(message, str) else ""


def _rewrite(body: Mapping[str, Any], target: UpstreamSettings) -> bytes:
    """The request for the safe upstream: ``model`` replaced and a system prompt prepended when configured."""
    out = dict(body)
    if target.model:
        out["model"] = target.model
    if target.system_prompt:
        out["messages"] = [{"role": "system", "content": target.system_prompt}, *body["messages"]]
    return json.dumps(out, ensure_ascii=False).encode("utf-8")


def _sse(payload: Any) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def refusal(message: str, body: Mapping[str, Any], stream: bool, headers: dict[str, str]) -> Response:
    """A refusal as a normal chat completion (``finish_reason: "stop"``), or as SSE chunks when streaming."""
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    model = body.get("model") if isinstance(body.get("model"), str) else "harmscope-guard"
    if not stream:
        return JSONResponse({
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": message, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }, headers=headers)

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    include_usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage")

    async def events() -> AsyncIterator[bytes]:
        yield chunk({"role": "assistant", "content": ""}, None)
        yield chunk({"content": message}, None)
        yield chunk({}, "stop")
        if include_usage:
            yield _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                        "choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={**headers, "cache-control": "no-cache"})
