"""ChatClient against a real loopback HTTP server whose behaviour is chosen by the model name: structured
output with fallback (remembered per client), retries with backoff, and every failure mode."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harmscope.errors import EndpointError
from harmscope.llm import (
    ChatClient,
    EndpointRejectedError,
    EndpointUnreachableError,
    JsonSchema,
    api_root,
)

SECRET = "SECRET-PROMPT-TEXT-0042 please answer"
SCHEMA = JsonSchema("thing", {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                              "additionalProperties": False})


@dataclass
class State:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, model: str) -> int:
        return sum(1 for b in self.bodies if b.get("model") == model)


def _reply(status: int, payload: Any) -> tuple[int, Any]:
    return status, payload


def _answer(state: State, body: dict[str, Any]) -> tuple[int, Any]:
    model = body["model"]
    fmt = (body.get("response_format") or {}).get("type", "none")
    ok = {"model": f"served-{model}", "choices": [{"index": 0, "finish_reason": "stop",
          "message": {"role": "assistant", "content": json.dumps({"format": fmt})}}],
          "usage": {"prompt_tokens": 11, "completion_tokens": 3}}
    if model == "no-schema" and fmt == "json_schema":
        return 400, {"error": {"message": "response_format json_schema is not supported", "type": "x"}}
    if model == "no-format" and fmt != "none":
        return 400, {"error": {"message": "unknown field response_format"}}
    if model == "bad-request":  # rejects everything and echoes the prompt in its message
        return 400, {"error": {"message": f"cannot handle {body['messages'][-1]['content']}"}}
    if model == "flaky":
        with state.lock:
            left = state.failures.get("flaky", 0)
            state.failures["flaky"] = left - 1
        if left > 0:
            return 503, {"error": {"message": "overloaded"}}
    if model == "always-500":
        return 500, {"error": "boom"}
    if model == "auth":
        return 401, {"error": {"message": "invalid api key"}}
    if model == "garbage":
        return 200, "<html>not json</html>"
    if model == "no-choices":
        return 200, {"object": "chat.completion"}
    if model == "refusal":
        return 200, {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "no"}}]}
    if model == "slow-ok":
        time.sleep(0.15)
    return 200, ok


def _handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: Any) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 503:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, {"object": "list", "data": [{"id": "m1"}, {"id": "m2"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.bodies.append(body)
                state.headers.append({k.lower(): v for k, v in self.headers.items()})
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "no such route"}})
                else:
                    self._send(*_answer(state, body))
            finally:
                with state.lock:
                    state.in_flight -= 1

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, State]]:
    state = State()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()
        httpd.server_close()


MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": SECRET}]


def _client(url: str, model: str, **kw: Any) -> ChatClient:
    kw.setdefault("backoff", 0.0)
    kw.setdefault("timeout", 5.0)
    return ChatClient(model, url, **kw)


def test_plain_completion_and_usage(server: tuple[str, State]) -> None:
    url, state = server
    with _client(url, "ok") as client:  # base URL given without /v1
        out = client.complete(MESSAGES, temperature=0, max_tokens=7, seed=3, stop=["\n"], extra={"top_p": 0.5})
    assert json.loads(out.text) == {"format": "none"} and out.response_format == "text"
    assert (out.model, out.finish_reason, out.attempts) == ("served-ok", "stop", 1)
    assert out.usage is not None and (out.usage.prompt_tokens, out.usage.completion_tokens) == (11, 3)
    body = state.bodies[0]
    assert body["messages"] == MESSAGES and "response_format" not in body
    assert (body["temperature"], body["max_tokens"], body["seed"], body["stop"], body["top_p"]) == (0, 7, 3, ["\n"], 0.5)


def test_json_schema_is_sent_when_supported(server: tuple[str, State]) -> None:
    url, state = server
    out = _client(url, "ok").complete(MESSAGES, response_format=SCHEMA)
    assert out.response_format == "json_schema" and json.loads(out.text) == {"format": "json_schema"}
    sent = state.bodies[0]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "thing", "schema": dict(SCHEMA.schema),
                                                           "strict": True}}


def test_fallback_to_json_object_is_remembered(server: tuple[str, State]) -> None:
    url, state = server
    client = _client(url, "no-schema")
    first = client.complete(MESSAGES, response_format=SCHEMA)
    assert first.response_format == "json_object" and first.attempts == 2
    assert client.supported_format == "json_object"
    second = client.complete(MESSAGES, response_format=SCHEMA)
    assert second.response_format == "json_object" and second.attempts == 1  # no second failed round trip
    assert [b.get("response_format", {}).get("type") for b in state.bodies] == [
        "json_schema", "json_object", "json_object"]
    # A request for less than the remembered level is sent as asked.
    assert client.complete(MESSAGES).response_format == "text"


def test_fallback_to_plain_text(server: tuple[str, State]) -> None:
    url, state = server
    client = _client(url, "no-format")
    out = client.complete(MESSAGES, response_format=SCHEMA)
    assert out.response_format == "text" and out.attempts == 3 and client.supported_format == "text"
    assert client.complete(MESSAGES, response_format="json_object").attempts == 1
    assert state.count("no-format") == 4


def test_a_400_that_is_not_about_the_format_is_reported_and_not_remembered(server: tuple[str, State]) -> None:
    url, state = server
    client = _client(url, "bad-request")
    with pytest.raises(EndpointRejectedError, match="HTTP 400") as info:
        client.complete(MESSAGES, response_format=SCHEMA)
    assert info.value.status == 400
    assert SECRET[:20] not in str(info.value)  # the server echoed the prompt; the error must not
    assert "\n" not in str(info.value)
    assert client.supported_format == "json_schema"
    assert state.count("bad-request") == 3  # json_schema, json_object, text: then it gave up


def test_retries_with_backoff_then_success(server: tuple[str, State]) -> None:
    url, state = server
    state.failures["flaky"] = 2
    out = _client(url, "flaky", max_retries=3).complete(MESSAGES)
    assert out.attempts == 3 and state.count("flaky") == 3


def test_retries_are_bounded(server: tuple[str, State]) -> None:
    url, state = server
    with pytest.raises(EndpointError, match=r"HTTP 500.*after 3 attempt") as info:
        _client(url, "always-500", max_retries=2).complete(MESSAGES)
    assert not isinstance(info.value, EndpointRejectedError)
    assert state.count("always-500") == 3


def test_backoff_waits(server: tuple[str, State]) -> None:
    url, _ = server
    started = time.perf_counter()
    with pytest.raises(EndpointError):
        _client(url, "always-500", max_retries=2, backoff=0.05).complete(MESSAGES)
    assert time.perf_counter() - started >= 0.05 + 0.1  # 0.05 * 2**0 + 0.05 * 2**1


def test_auth_error_is_not_retried_and_names_the_variable(server: tuple[str, State]) -> None:
    url, state = server
    with pytest.raises(EndpointRejectedError, match=r"HTTP 401.*\$MY_KEY") as info:
        _client(url, "auth", api_key_env="MY_KEY", max_retries=3).complete(MESSAGES)
    assert info.value.status == 401 and state.count("auth") == 1


@pytest.mark.parametrize(("model", "message"), [
    ("garbage", "not JSON"), ("no-choices", r"choices\[0\]\.message"), ("refusal", "refused"),
])
def test_malformed_answers(server: tuple[str, State], model: str, message: str) -> None:
    url, _ = server
    with pytest.raises(EndpointError, match=message):
        _client(url, model).complete(MESSAGES)


def test_wrong_path_is_a_404_with_a_hint(server: tuple[str, State]) -> None:
    url, _ = server
    client = ChatClient("ok", url + "/v1/chat/completions/extra", backoff=0.0)
    with pytest.raises(EndpointRejectedError, match=r"HTTP 404.*--base-url"):
        client.complete(MESSAGES)


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    client = ChatClient("m", f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.0, timeout=2.0)
    with pytest.raises(EndpointUnreachableError, match="after 2 attempt"):
        client.complete(MESSAGES)


def test_timeout_is_retried_then_unreachable(server: tuple[str, State]) -> None:
    url, state = server
    with pytest.raises(EndpointUnreachableError, match="ReadTimeout"):
        _client(url, "slow-ok", timeout=0.05, max_retries=1).complete(MESSAGES)
    time.sleep(0.2)
    assert state.count("slow-ok") == 2


def test_api_key_from_env(server: tuple[str, State], monkeypatch: pytest.MonkeyPatch) -> None:
    url, state = server
    monkeypatch.setenv("HS_TEST_KEY", "sk-test")
    _client(url, "ok", api_key_env="HS_TEST_KEY").complete(MESSAGES)
    monkeypatch.delenv("HS_TEST_KEY")
    _client(url, "ok", api_key_env="HS_TEST_KEY").complete(MESSAGES)
    _client(url, "ok", api_key="explicit").complete(MESSAGES)
    auth = [h.get("authorization") for h in state.headers]
    assert auth == ["Bearer sk-test", None, "Bearer explicit"]


def test_openai_without_key_fails_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(EndpointError, match=r"needs an API key; set \$OPENAI_API_KEY"):
        ChatClient("gpt-4o-mini")


def test_bad_arguments() -> None:
    with pytest.raises(EndpointError, match="must start with http"):
        ChatClient("m", "localhost:8000")
    with pytest.raises(EndpointError, match="model name"):
        ChatClient("", "http://localhost:1")
    client = ChatClient("m", "http://localhost:1")
    with pytest.raises(ValueError, match="at least one"):
        client.complete([])
    with pytest.raises(TypeError, match=r"messages\[0\]"):
        client.complete([{"role": "user"}])
    with pytest.raises(ValueError, match="response_format"):
        client.complete(MESSAGES, response_format="yaml")  # type: ignore[arg-type]


def test_api_root() -> None:
    assert api_root("http://h:1") == "http://h:1/v1"
    assert api_root("http://h:1/v1/") == "http://h:1/v1"
    assert api_root("http://h:1/v1/chat/completions") == "http://h:1/v1"
    assert api_root("https://x.example/openai/v1/models") == "https://x.example/openai/v1"


def test_complete_many_keeps_order_runs_concurrently_and_reports_failures(server: tuple[str, State]) -> None:
    url, state = server
    client = _client(url, "slow-ok", concurrency=4)
    conversations = [[{"role": "user", "content": f"q{i}"}] for i in range(8)]
    outcomes = client.complete_many(conversations)
    assert [o.index for o in outcomes] == list(range(8)) and all(o.ok for o in outcomes)
    assert state.max_in_flight >= 2
    failing = _client(url, "always-500", max_retries=0)
    outs = failing.complete_many(conversations[:2], concurrency=2)
    assert [o.ok for o in outs] == [False, False] and all("HTTP 500" in str(o.error) for o in outs)


def test_complete_many_stops_on_a_rejection(server: tuple[str, State]) -> None:
    url, _ = server
    with pytest.raises(EndpointRejectedError):
        _client(url, "auth").complete_many([MESSAGES] * 3, concurrency=1)


def test_list_models(server: tuple[str, State]) -> None:
    url, _ = server
    assert _client(url, "ok").list_models() == ["m1", "m2"]
