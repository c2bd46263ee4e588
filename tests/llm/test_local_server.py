"""The local OpenAI-compatible server with a scripted backend (no model): routes, validation errors in
OpenAI's shape, non-streaming and SSE answers, response_format handling, and the official openai client.
Plus the pure helpers of the local model's generation loop (JSON closing, stop strings)."""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator
from typing import Any

import httpx
import pytest

from harmscope.llm import (
    ContextLengthError,
    GenerationRequest,
    LocalChatServer,
    RequestError,
    StreamChunk,
    parse_chat_request,
)
from harmscope.llm._local_model import _JsonCloser, _stop_cut


class ScriptedBackend:
    """Streams the words of a fixed reply (after the request's prefix); records each request."""

    id = "tiny-test"

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []
        self.lock = threading.Lock()
        self.closed = 0

    def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]:
        with self.lock:
            self.requests.append(request)
        if "TOO LONG" in request.messages[-1]["content"]:
            raise ContextLengthError("the prompt has 9999 tokens; shorten it")
        words = ["Hello", " there", ",", " friend", "!"][: request.max_tokens]
        try:
            if request.prefix:
                yield StreamChunk(request.prefix, 5, 0)
            for i, w in enumerate(words, 1):
                yield StreamChunk(w, 5, i)
            finish = "length" if request.max_tokens < 5 else "stop"
            yield StreamChunk("", 5, len(words), finish)  # type: ignore[arg-type]
        finally:
            with self.lock:
                self.closed += 1


@pytest.fixture
def served() -> Iterator[tuple[str, ScriptedBackend]]:
    backend = ScriptedBackend()
    server = LocalChatServer(backend, default_max_tokens=50, max_tokens_cap=100).start()
    try:
        yield server.base_url, backend
    finally:
        server.shutdown()


def _chat(url: str, **body: Any) -> httpx.Response:
    payload = {"model": "tiny-test", "messages": [{"role": "user", "content": "hi"}], **body}
    return httpx.post(f"{url}/chat/completions", json=payload, timeout=10)


def test_models_and_health(served: tuple[str, ScriptedBackend]) -> None:
    url, _ = served
    listing = httpx.get(f"{url}/models").json()
    assert listing["object"] == "list" and [m["id"] for m in listing["data"]] == ["tiny-test"]
    assert httpx.get(f"{url}/models/tiny-test").json()["id"] == "tiny-test"
    assert httpx.get(f"{url}/models/other").status_code == 404
    assert httpx.get(url.removesuffix("/v1") + "/health").json()["status"] == "ok"


def test_non_streaming_answer(served: tuple[str, ScriptedBackend]) -> None:
    url, backend = served
    r = _chat(url, temperature=0, seed=1, stop="\n\n", max_tokens=20)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "tiny-test" and body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello there, friend!"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
    req = backend.requests[0]
    assert (req.temperature, req.seed, req.stop, req.max_tokens, req.prefix) == (0.0, 1, ("\n\n",), 20, "")


def test_defaults_cap_and_roles(served: tuple[str, ScriptedBackend]) -> None:
    url, backend = served
    messages = [{"role": "developer", "content": "be nice"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    assert _chat(url, messages=messages).status_code == 200
    assert _chat(url, max_completion_tokens=5000).status_code == 200
    first, capped = backend.requests
    assert first.max_tokens == 50 and first.temperature == 1.0  # server default, OpenAI's temperature default
    assert [dict(m) for m in first.messages] == [{"role": "system", "content": "be nice"},
                                                 {"role": "user", "content": "ab"}]
    assert capped.max_tokens == 100


def test_streaming_sse(served: tuple[str, ScriptedBackend]) -> None:
    url, _ = served
    payload = {"model": "tiny-test", "messages": [{"role": "user", "content": "hi"}], "stream": True,
               "max_tokens": 3, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{url}/chat/completions", json=payload, timeout=10) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    events = [json.loads(line[6:]) for line in lines[:-1]]
    assert {e["object"] for e in events} == {"chat.completion.chunk"} and len({e["id"] for e in events}) == 1
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text == "Hello there,"
    finish = [e["choices"][0]["finish_reason"] for e in events if e["choices"]]
    assert finish[-1] == "length" and set(finish[:-1]) == {None}
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(("fmt", "prefix"), [
    ({"type": "text"}, ""),
    ({"type": "json_object"}, "{"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}, "{"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}}, "["),
])
def test_response_format_prefix(served: tuple[str, ScriptedBackend], fmt: dict[str, Any], prefix: str) -> None:
    url, backend = served
    r = _chat(url, response_format=fmt)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"].startswith(prefix + "Hello")
    assert backend.requests[-1].prefix == prefix and backend.requests[-1].close_json == bool(prefix)


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"model": "gpt-4"}, 404, "model"),
    ({"model": None}, 400, "model"),
    ({"messages": []}, 400, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, 400, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400, "messages[0].content"),
    ({"messages": [{"role": "user", "content": 3}]}, 400, "messages[0].content"),
    ({"temperature": 3}, 400, "temperature"),
    ({"temperature": "hot"}, 400, "temperature"),
    ({"top_p": 0}, 400, "top_p"),
    ({"max_tokens": 0}, 400, "max_tokens"),
    ({"max_tokens": 2.5}, 400, "max_tokens"),
    ({"n": 2}, 400, "n"),
    ({"seed": "x"}, 400, "seed"),
    ({"stop": [1]}, 400, "stop"),
    ({"stream": "yes"}, 400, "stream"),
    ({"response_format": {"type": "yaml"}}, 400, "response_format"),
    ({"response_format": {"type": "json_schema"}}, 400, "response_format"),
    ({"messages": [{"role": "user", "content": "TOO LONG"}]}, 400, "messages"),
])
def test_bad_requests_get_openai_errors(served: tuple[str, ScriptedBackend], body: dict[str, Any], status: int,
                                        param: str) -> None:
    url, _ = served
    r = _chat(url, **body)
    assert r.status_code == status
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert error["param"] == param and error["message"]


def test_malformed_bodies_and_routes(served: tuple[str, ScriptedBackend]) -> None:
    url, _ = served
    r = httpx.post(f"{url}/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = httpx.post(f"{url}/chat/completions", content=b"[1, 2]")
    assert r.status_code == 400 and "JSON object" in r.json()["error"]["message"]
    r = httpx.post(f"{url}/completions", json={"model": "tiny-test", "prompt": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert _chat(url).status_code == 200  # the server is still fine


def test_context_length_error_code(served: tuple[str, ScriptedBackend]) -> None:
    url, _ = served
    r = _chat(url, messages=[{"role": "user", "content": "TOO LONG"}])
    assert r.json()["error"]["code"] == "context_length_exceeded"


def test_official_openai_client(served: tuple[str, ScriptedBackend]) -> None:
    openai = pytest.importorskip("openai")
    url, backend = served
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    out = client.chat.completions.create(model="tiny-test", messages=[{"role": "user", "content": "hi"}],
                                         max_tokens=4, temperature=0)
    assert out.choices[0].message.content == "Hello there, friend" and out.usage.completion_tokens == 4
    chunks = list(client.chat.completions.create(model="tiny-test", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there, friend!"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert [m.id for m in client.models.list()] == ["tiny-test"]
    assert backend.closed == 2  # every generation iterator was closed


def test_parse_chat_request_directly() -> None:
    req = parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}, "m")
    assert req.stream and not req.include_usage and req.generation.max_tokens == 256
    with pytest.raises(RequestError) as info:
        parse_chat_request("nope", "m")
    assert info.value.status == 400


# ------------------------------------------------------------------------- generation-loop helpers


def test_json_closer_ignores_brackets_in_strings() -> None:
    closer = _JsonCloser()
    assert closer.feed('{"a": "}{[", "b": [1, {"c": "\\"}"}]') is None
    assert closer.feed("} trailing") == 1
    closer = _JsonCloser()
    assert closer.feed("[1, 2]]") == 6


def test_stop_cut() -> None:
    assert _stop_cut("Hello\n\nWorld", ["\n\n"], None, "\n\nWorld") == 5
    assert _stop_cut("Hello", ["\n\n"], None, "lo") is None
    closer = _JsonCloser()
    closer.feed("{")
    full = '{"a": 1} and more'
    assert _stop_cut(full, [], closer, full[1:]) == len('{"a": 1}')


def test_schema_prefix() -> None:
    from harmscope.llm._local_server import schema_prefix

    obj = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}
    assert schema_prefix(obj) == '{"items": ['
    obj["properties"]["items"]["minItems"] = 1  # type: ignore[index]
    assert schema_prefix(obj) == '{"items": [{"name": '
    assert schema_prefix({"type": "object"}) == "{" and schema_prefix({"type": "string"}) == ""


class FailingBackend(ScriptedBackend):
    """Fails after the first chunk (an error with prompt text in its message must not reach the client)."""

    def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]:
        yield StreamChunk("Hel", 5, 1)
        raise RuntimeError(f"boom while reading {request.messages[-1]['content']}")


def test_generation_failure_is_a_500_without_the_prompt() -> None:
    server = LocalChatServer(FailingBackend()).start()
    try:
        url = server.base_url
        r = _chat(url, messages=[{"role": "user", "content": "SECRET-1234"}])
        assert r.status_code == 500 and r.json()["error"]["code"] == "generation_failed"
        assert "SECRET" not in r.text and "RuntimeError" in r.text
        payload = {"model": "tiny-test", "messages": [{"role": "user", "content": "SECRET-1234"}], "stream": True}
        with httpx.stream("POST", f"{url}/chat/completions", json=payload, timeout=10) as s:
            lines = [line for line in s.iter_lines() if line]
        assert lines[-1] == "data: [DONE]" and '"generation_failed"' in lines[-2]
        assert not any("SECRET" in line for line in lines)
        assert _chat(url).status_code == 500  # still serving
    finally:
        server.shutdown()
