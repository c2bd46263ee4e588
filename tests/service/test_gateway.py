"""The guard gateway against a real OpenAI-compatible HTTP server on loopback (harmscope.llm's local server
with a scripted backend): allowed / refused / rerouted, streaming and not, upstream failure and timeout.
The official ``openai`` client talks to the gateway unchanged."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from harmscope.llm import GenerationRequest, StreamChunk, start_local_server
from harmscope.service import Moderator, ServiceSettings, create_app
from harmscope.service.gateway import user_turns
from harmscope.service.moderator import InputError

UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"
WORDS = ("Hello", " from", " upstream")


class Scripted:
    """A chat backend that answers WORDS (after ``delay`` seconds, or fails) and records what it saw."""

    def __init__(self, id: str, delay: float = 0.0, fail: bool = False) -> None:
        self.id, self.delay, self.fail = id, delay, fail
        self.seen: list[tuple[Mapping[str, str], ...]] = []

    def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]:
        self.seen.append(request.messages)
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("backend exploded")
        for i, word in enumerate(WORDS):
            yield StreamChunk(word, 7, i + 1)
        yield StreamChunk("", 7, len(WORDS), "stop")


@pytest.fixture(scope="module")
def main_llm() -> Iterator[tuple[str, Scripted]]:
    backend = Scripted("main-llm")
    with start_local_server(backend) as url:
        yield url, backend


@pytest.fixture(scope="module")
def safe_llm() -> Iterator[tuple[str, Scripted]]:
    backend = Scripted("safe-llm")
    with start_local_server(backend) as url:
        yield url, backend


def gateway_app(moderator: Moderator, upstream: str, **gateway: Any) -> Any:
    settings = ServiceSettings.model_validate({"gateway": {"upstream": {"base_url": upstream}, **gateway}})
    return create_app(moderator, settings)


def chat(text: str, stream: bool = False, model: str = "main-llm") -> dict[str, Any]:
    return {"model": model, "stream": stream, "max_tokens": 8,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]}


def sse_text(raw: str) -> tuple[str, bool]:
    """(joined content deltas, saw [DONE]) of an SSE body."""
    parts, done = [], False
    for line in raw.splitlines():
        if line == "data: [DONE]":
            done = True
        elif line.startswith("data: "):
            for choice in json.loads(line[6:]).get("choices", []):
                parts.append(choice["delta"].get("content") or "")
    return "".join(parts), done


def test_benign_chat_is_forwarded_unchanged(moderator: Moderator, main_llm: tuple[str, Scripted]) -> None:
    url, backend = main_llm
    with TestClient(gateway_app(moderator, url)) as c:
        r = c.post("/v1/chat/completions", json=chat(SAFE))
        assert r.status_code == 200, r.text
        assert r.headers["x-harmscope-decision"] == "allowed"
        assert 0.0 <= float(r.headers["x-harmscope-score"]) < 0.5
        assert r.json()["choices"][0]["message"]["content"] == "".join(WORDS)
        assert backend.seen[-1] == ({"role": "system", "content": "Be brief."}, {"role": "user", "content": SAFE})
        s = c.post("/v1/chat/completions", json=chat(SAFE, stream=True))
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        assert s.headers["x-harmscope-decision"] == "allowed"
        assert sse_text(s.text) == ("".join(WORDS), True)


def test_unsafe_chat_is_refused_without_calling_upstream(moderator: Moderator,
                                                         main_llm: tuple[str, Scripted]) -> None:
    url, backend = main_llm
    before = len(backend.seen)
    app = gateway_app(moderator, url, refusal_message="Sorry, no.")
    with TestClient(app) as c:
        body = chat(SAFE)
        body["messages"] += [{"role": "assistant", "content": "ok"},
                             {"role": "user", "content": [{"type": "text", "text": UNSAFE}]}]
        r = c.post("/v1/chat/completions", json=body)
        assert r.status_code == 200 and r.headers["x-harmscope-decision"] == "refused"
        assert float(r.headers["x-harmscope-score"]) >= 0.5
        assert r.headers["x-harmscope-categories"] == "illicit/violent,violence"
        answer = r.json()
        assert answer["object"] == "chat.completion" and answer["model"] == "main-llm"
        assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Sorry, no.", "refusal": None}
        s = c.post("/v1/chat/completions", json={**chat(UNSAFE, stream=True), "stream_options": {"include_usage": True}})
        assert s.headers["x-harmscope-decision"] == "refused"
        assert sse_text(s.text) == ("Sorry, no.", True) and '"usage"' in s.text
        assert c.get("/metrics").text.count('harmscope_gateway_decisions_total{decision="refused"} 2.0') == 1
    assert len(backend.seen) == before


def test_openai_client_through_the_gateway(moderator: Moderator, main_llm: tuple[str, Scripted]) -> None:
    url, _ = main_llm
    with TestClient(gateway_app(moderator, url)) as c:
        client = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=c, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="main-llm", messages=[{"role": "user", "content": SAFE}], max_tokens=8)
        assert raw.headers["x-harmscope-decision"] == "allowed"
        assert raw.parse().choices[0].message.content == "".join(WORDS)
        refused = client.chat.completions.create(model="main-llm", messages=[{"role": "user", "content": UNSAFE}])
        assert refused.choices[0].message.content == "I can't help with that request."
        stream = client.chat.completions.create(model="main-llm", stream=True,
                                                messages=[{"role": "user", "content": SAFE}])
        assert "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices) == "".join(WORDS)


def test_unsafe_chat_is_rerouted_to_the_safe_model(moderator: Moderator, main_llm: tuple[str, Scripted],
                                                   safe_llm: tuple[str, Scripted]) -> None:
    url, main = main_llm
    safe_url, safe = safe_llm
    before = len(main.seen)
    app = gateway_app(moderator, url, on_unsafe="reroute",
                      safe_upstream={"base_url": safe_url, "model": "safe-llm", "system_prompt": "Refuse harm."})
    with TestClient(app) as c:
        r = c.post("/v1/chat/completions", json=chat(UNSAFE))
        assert r.status_code == 200 and r.headers["x-harmscope-decision"] == "rerouted"
        assert r.json()["model"] == "safe-llm"
        assert safe.seen[-1][0] == {"role": "system", "content": "Refuse harm."}
        s = c.post("/v1/chat/completions", json=chat(UNSAFE, stream=True))
        assert s.headers["x-harmscope-decision"] == "rerouted" and sse_text(s.text)[1]
        assert c.post("/v1/chat/completions", json=chat(SAFE)).headers["x-harmscope-decision"] == "allowed"
    assert len(main.seen) == before + 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_upstream_failures(moderator: Moderator, openai_error: Any) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    with TestClient(gateway_app(moderator, dead)) as c:
        for stream in (False, True):
            r = c.post("/v1/chat/completions", json=chat(SAFE, stream=stream))
            assert r.status_code == 502 and openai_error(r.json())["code"] == "upstream_unreachable"
            assert r.headers["x-harmscope-decision"] == "allowed"
        # refusals need no upstream
        assert c.post("/v1/chat/completions", json=chat(UNSAFE)).status_code == 200
    with start_local_server(Scripted("broken", fail=True)) as url, TestClient(gateway_app(moderator, url)) as c:
        r = c.post("/v1/chat/completions", json=chat(SAFE, model="broken"))
        err = openai_error(r.json())
        assert r.status_code == 502 and err["code"] == "upstream_error" and "status 500" in err["message"]
        r = c.post("/v1/chat/completions", json=chat(SAFE, model="other-model"))
        assert r.status_code == 404  # upstream 4xx answers pass through unchanged
        assert 'harmscope_upstream_errors_total{kind="upstream_error"} 1.0' in c.get("/metrics").text


def test_upstream_timeout_gives_504(moderator: Moderator, openai_error: Any) -> None:
    with start_local_server(Scripted("slow", delay=1.5)) as url, \
            TestClient(gateway_app(moderator, url, timeout_s=0.3)) as c:
        for stream in (False, True):
            start = time.perf_counter()
            r = c.post("/v1/chat/completions", json=chat(SAFE, stream=stream, model="slow"))
            assert r.status_code == 504 and openai_error(r.json())["code"] == "upstream_timeout"
            assert time.perf_counter() - start < 1.2


@pytest.mark.parametrize("body, param", [
    ({"model": "m"}, "messages"),
    ({"messages": []}, "messages"),
    ({"messages": ["hi"]}, "messages[0]"),
    ({"messages": [{"role": 1, "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages[0].content[0].text"),
    ({"messages": [{"role": "system", "content": "only a system turn"}]}, "messages"),
    ({"messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": "x" * 600}]},
     "messages[1].content"),
    ({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
])
def test_bad_chat_requests(moderator: Moderator, main_llm: tuple[str, Scripted], openai_error: Any,
                           body: dict[str, Any], param: str) -> None:
    with TestClient(gateway_app(moderator, main_llm[0])) as c:
        r = c.post("/v1/chat/completions", json=body)
        assert r.status_code == 400, r.text
        assert openai_error(r.json())["param"] == param
        for raw in (b"{", b"\xff", b"[1]"):
            assert c.post("/v1/chat/completions", content=raw).status_code == 400


def test_user_turns_reads_text_parts_only() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                       {"type": "image_url", "image_url": {"url": "u"}},
                                                       {"type": "text", "text": "b"}]},
                         {"role": "assistant", "content": "ignored"}, {"role": "user", "content": None},
                         {"role": "user", "content": "c"}]}
    assert [(t.message_index, t.text) for t in user_turns(body)] == [(0, "a\nb"), (3, "c")]
    with pytest.raises(InputError):
        user_turns({"messages": [{"role": "assistant", "content": "x"}]})
