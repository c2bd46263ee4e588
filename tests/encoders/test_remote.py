"""openai:<model> against a real OpenAI-compatible HTTP server on loopback, started by the tests.

The server's behaviour is chosen by the model name in each request, so one server covers success,
ordering, batching, retries and every failure mode.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harmscope.encoders import get_encoder
from harmscope.encoders._remote import OpenAIEmbeddingsEncoder
from harmscope.errors import EndpointError

DIM = 8
SECRET = "SECRET-PROMPT-TEXT-1234"


def vector_for(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255.0 - 0.5 for b in digest[:DIM]]


@dataclass
class Log:
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    log: Log

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model, texts = body["model"], body["input"]
        with self.log.lock:
            self.log.requests.append(
                {"path": self.path, "model": model, "n": len(texts), "auth": self.headers.get("Authorization")}
            )
            left = self.log.failures_left.get(model, 0)
            if left:
                self.log.failures_left[model] = left - 1
        if self.path != "/v1/embeddings":
            self._send(404, b'{"error": {"message": "no such route"}}')
            return
        if model.startswith("flaky") and left:
            self._send(503, b'{"error": {"message": "overloaded"}}')
            return
        if model == "ratelimited" and left:
            self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"})
            return
        if model == "always-500":
            self._send(500, json.dumps({"error": {"message": f"boom while reading {texts[0]!r}"}}).encode())
            return
        if model == "not-json":
            self._send(200, b"<html>hello</html>")
            return
        if model == "short":
            texts = texts[:-1]
        if model == "slow":
            time.sleep(1.0)
        data = [{"object": "embedding", "index": i, "embedding": vector_for(t)} for i, t in enumerate(texts)]
        data.reverse()  # real servers may answer out of order; the client must sort by index
        self._send(200, json.dumps({"object": "list", "data": data, "model": model}).encode())


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Log]]:
    log = Log()
    handler = type("BoundHandler", (Handler,), {"log": log})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", log
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def _enc(base: str, model: str, **options: Any) -> OpenAIEmbeddingsEncoder:
    encoder = get_encoder(f"openai:{model}", base_url=base, backoff=0.0, use_cache=False, **options)
    assert isinstance(encoder, OpenAIEmbeddingsEncoder)
    return encoder


def test_success_order_batching_and_auth(server: tuple[str, Log]) -> None:
    base, log = server
    texts = [f"text number {i}" for i in range(5)]
    before = len(log.requests)
    vectors = _enc(base, "ok", batch_size=2).encode(texts)
    assert vectors.shape == (5, DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, np.array([vector_for(t) for t in texts], dtype=np.float32))
    sent = log.requests[before:]
    assert [r["n"] for r in sent] == [2, 2, 1]
    assert all(r["auth"] == "Bearer sk-test" and r["path"] == "/v1/embeddings" for r in sent)


def test_api_key_env_option_and_id(server: tuple[str, Log], monkeypatch: pytest.MonkeyPatch) -> None:
    base, log = server
    monkeypatch.setenv("MY_KEY", "sk-other")
    encoder = _enc(base + "/", "ok", api_key_env="MY_KEY")
    assert encoder.id == f"openai:ok@{base}"  # trailing slash dropped, base URL and model in the cache id
    encoder.encode(["a"])
    assert log.requests[-1]["auth"] == "Bearer sk-other"


def test_base_url_from_environment(server: tuple[str, Log], monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = server
    monkeypatch.setenv("OPENAI_BASE_URL", base)
    encoder = get_encoder("openai:ok", backoff=0.0, use_cache=False)
    assert encoder.encode(["x", "y"]).shape == (2, DIM)


def test_retries_on_503_then_succeeds(server: tuple[str, Log]) -> None:
    base, log = server
    log.failures_left["flaky-2"] = 2
    before = len(log.requests)
    vectors = _enc(base, "flaky-2", max_retries=3).encode(["one", "two"])
    assert vectors.shape == (2, DIM)
    assert len(log.requests) - before == 3


def test_retries_on_429_with_retry_after(server: tuple[str, Log]) -> None:
    base, log = server
    log.failures_left["ratelimited"] = 1
    assert _enc(base, "ratelimited").encode(["one"]).shape == (1, DIM)


def test_retries_are_bounded(server: tuple[str, Log]) -> None:
    base, log = server
    log.failures_left["flaky-many"] = 100
    before = len(log.requests)
    with pytest.raises(EndpointError, match="HTTP 503.*after 3 attempt"):
        _enc(base, "flaky-many", max_retries=2).encode(["one"])
    assert len(log.requests) - before == 3


def test_500_raises_endpoint_error_without_prompt_text(server: tuple[str, Log]) -> None:
    base, _ = server
    with pytest.raises(EndpointError) as info:
        _enc(base, "always-500", max_retries=1).encode([SECRET])
    message = str(info.value)
    assert "HTTP 500" in message and "\n" not in message
    assert "SECRET-PROMPT-TEXT" not in message


@pytest.mark.parametrize(
    ("model", "pattern"),
    [("not-json", "not JSON"), ("short", "1 vectors for 2 inputs")],
)
def test_malformed_answers(server: tuple[str, Log], model: str, pattern: str) -> None:
    base, _ = server
    with pytest.raises(EndpointError, match=pattern):
        _enc(base, model).encode(["a", "b"])


def test_wrong_base_url_404(server: tuple[str, Log]) -> None:
    base, _ = server
    with pytest.raises(EndpointError, match=r"HTTP 404.*check --base-url"):
        _enc(base.removesuffix("/v1"), "ok", max_retries=0).encode(["a"])


def test_timeout_is_an_endpoint_error(server: tuple[str, Log]) -> None:
    base, _ = server
    with pytest.raises(EndpointError, match="ReadTimeout.*2 attempt"):
        _enc(base, "slow", timeout=0.2, max_retries=1).encode(["a"])


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: nothing listens there.
    with pytest.raises(EndpointError, match=r"cannot reach .*ConnectError.*check --base-url"):
        _enc(f"http://127.0.0.1:{port}/v1", "ok", max_retries=1).encode(["a"])


def test_cache_reuses_server_vectors(server: tuple[str, Log]) -> None:
    base, log = server
    encoder = get_encoder("openai:ok", base_url=base, backoff=0.0)
    first = encoder.encode(["cached text", "another"])
    before = len(log.requests)
    again = get_encoder("openai:ok", base_url=base, backoff=0.0).encode(["another", "cached text"])
    assert len(log.requests) == before
    np.testing.assert_array_equal(again, first[::-1])


def test_empty_input_and_bad_items(server: tuple[str, Log]) -> None:
    base, _ = server
    encoder = _enc(base, "ok")
    assert encoder.encode([]).shape == (0, DIM)  # one probe request learns the width
    with pytest.raises(TypeError, match="item 1"):
        encoder.encode(["fine", 3])


def test_bad_options() -> None:
    with pytest.raises(EndpointError, match="needs a model name"):
        get_encoder("openai:")
    with pytest.raises(EndpointError, match="must start with http"):
        get_encoder("openai:m", base_url="localhost:8000/v1")


def test_openai_default_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(EndpointError, match=r"set \$OPENAI_API_KEY"):
        get_encoder("openai:text-embedding-3-small", use_cache=False).encode(["a"])
