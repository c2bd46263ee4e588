"""Service tests: a small kNN detector on the hashing encoder (fits in milliseconds), shared per session."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from harmscope.detectors._knn import KNNDetector
from harmscope.detectors.checks import synthetic_prompts
from harmscope.detectors.harm_benefit import SafetyAnalystDetector
from harmscope.service import Decision, Moderator

# synthetic_prompts' own categories -> harmscope ids (pipe bombs, explosives; fraud, forgery).
HARMSCOPE = {"weapons": "indiscriminate_weapons", "fraud": "non_violent_crimes"}

# The same two texts are spelled out in the test modules (conftest is not importable under importlib mode).
UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"


class ListSink:
    """Keeps decisions (the audit-store seam) for inspection."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []

    def record(self, decision: Decision) -> None:
        self.decisions.append(decision)


@pytest.fixture(scope="session")
def knn() -> KNNDetector:
    texts, labels, cats = synthetic_prompts(40, seed=3)
    return KNNDetector(representation="hashing", k=5).fit(
        texts, labels, categories=[HARMSCOPE[c] if c else None for c in cats])


@pytest.fixture()
def sink() -> ListSink:
    return ListSink()


@pytest.fixture()
def moderator(knn: KNNDetector, sink: ListSink) -> Moderator:
    return Moderator(knn, name="test-knn", version="test-1", sink=sink, max_inputs=4, max_input_chars=500)


def _openai_error(body: Any) -> dict[str, Any]:
    """Assert ``body`` is OpenAI's error shape; returns the inner error."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in error["message"]
    return dict(error)


@pytest.fixture()
def openai_error() -> Callable[[Any], dict[str, Any]]:
    return _openai_error


@pytest.fixture(scope="session")
def analyst() -> SafetyAnalystDetector:
    """A small SafetyAnalyst detector (AIR categories), fitted once."""
    texts, labels, cats = synthetic_prompts(30, seed=1)
    air = {"fraud": "Fraud", "weapons": "Weapon Usage & Development"}
    return SafetyAnalystDetector(representation="hashing", cv_folds=0).fit(
        texts, labels, categories=[air[c] if c else None for c in cats])


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """``app`` under a real uvicorn on a free loopback port, in a thread; yields the base URL
    (``http://127.0.0.1:PORT``) and shuts the server down (running the app's lifespan) afterwards."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture()
def serving() -> Callable[[Any], AbstractContextManager[str]]:
    """``with serving(app) as base_url: ...`` — the app on a real uvicorn (see :func:`_serving`)."""
    return _serving
