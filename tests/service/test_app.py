"""The FastAPI app: OpenAI-compatible moderations, analyze, health/readiness/metrics, auth, limits, and a
4xx in OpenAI's error shape for every kind of bad input."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harmscope.detectors._knn import KNNDetector
from harmscope.detectors.harm_benefit import SafetyAnalystDetector
from harmscope.service import OPENAI_CATEGORIES, Moderator, ServiceSettings, create_app

UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"
ErrorCheck = Callable[[Any], dict[str, Any]]


@pytest.fixture()
def client(moderator: Moderator) -> Any:
    settings = ServiceSettings(max_body_bytes=4096, max_inputs=4, max_input_chars=500)
    with TestClient(create_app(moderator, settings)) as c:
        yield c


def test_moderations_openai_shape(client: TestClient) -> None:
    r = client.post("/v1/moderations", json={"input": [UNSAFE, {"type": "text", "text": SAFE}]})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == r.headers["x-request-id"] and body["model"] == "harmscope-moderation"
    unsafe, safe = body["results"]
    for result in (unsafe, safe):
        assert set(result) == {"flagged", "categories", "category_scores", "category_applied_input_types"}
        assert list(result["categories"]) == list(OPENAI_CATEGORIES) == list(result["category_scores"])
    assert unsafe["flagged"] and unsafe["categories"]["violence"] and unsafe["category_scores"]["violence"] > 0.5
    assert not safe["flagged"] and not any(safe["categories"].values())
    one = client.post("/v1/moderations", json={"input": SAFE, "model": "omni-moderation-latest"}).json()
    assert one["model"] == "omni-moderation-latest" and len(one["results"]) == 1


BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("invalid JSON", b'{"input": "x"', 400, "invalid_json"),
    ("non-UTF-8 bytes", b'{"input": "\xff\xfe"}', 400, "invalid_encoding"),
    ("empty body", b"", 400, "empty_body"),
    ("top-level array", b'["x"]', 400, "invalid_type"),
    ("input is a number", b'{"input": 3}', 400, "invalid_type"),
    ("input item is a number", b'{"input": ["ok", 3]}', 400, "invalid_type"),
    ("input is an object", b'{"input": {"text": "x"}}', 400, "invalid_type"),
    ("model is a number", b'{"input": "x", "model": 5}', 400, "invalid_value"),
    ("unknown field", b'{"input": "x", "temperature": 1}', 400, "unknown_field"),
    ("missing input", b'{"model": "m"}', 400, "missing"),
    ("empty string", b'{"input": ""}', 400, "empty_input"),
    ("blank string", b'{"input": "   "}', 400, "empty_input"),
    ("empty list", b'{"input": []}', 400, "empty_input"),
    ("image input", b'{"input": [{"type": "image_url", "image_url": {"url": "http://x"}}]}', 400,
     "unsupported_input"),
    ("too many inputs", b'{"input": ["a", "b", "c", "d", "e"]}', 400, "too_many_inputs"),
    ("huge input", b'{"input": "' + b"a" * 600 + b'"}', 400, "input_too_long"),
    ("body over the limit", b'{"input": "' + b"a" * 5000 + b'"}', 413, "body_too_large"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, 413, "body_too_large"),
]


@pytest.mark.parametrize("what, body, status, code", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_openai_error(client: TestClient, openai_error: ErrorCheck, what: str, body: bytes,
                                     status: int, code: str) -> None:
    for path in ("/v1/moderations", "/v1/analyze"):
        if path == "/v1/analyze" and (code == "unknown_field" or b'"model"' in body):
            continue  # analyze has its own fields (no "model"); tested below
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == status, (what, path, r.text)
        assert openai_error(r.json())["code"] == code, (what, path)


def test_error_messages_name_the_problem(client: TestClient, openai_error: ErrorCheck) -> None:
    err = openai_error(client.post("/v1/moderations", json={"input": ["ok", 3]}).json())
    assert err["param"] == "input[1]" and "must be a string, got a number" in err["message"]
    err = openai_error(client.post("/v1/moderations", json={"input": "x", "temperature": 1}).json())
    assert err["param"] == "temperature" and "allowed fields: input, model" in err["message"]
    err = openai_error(client.post("/v1/moderations", json={"input": ["a", "b" * 600]}).json())
    assert err["param"] == "input[1]" and "at most 500" in err["message"]


def test_wrong_content_type_and_routes(client: TestClient, openai_error: ErrorCheck) -> None:
    r = client.post("/v1/moderations", content=b"input=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and openai_error(r.json())["code"] == "unsupported_media_type"
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and openai_error(r.json())["code"] == "not_found"
    r = client.get("/v1/moderations")
    assert r.status_code == 405 and openai_error(r.json())
    r = client.post("/v1/chat/completions", json={"messages": []})
    assert r.status_code == 404  # no gateway configured


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["detector"]["kind"] == "knn"
    assert ready["detector"]["name"] == "test-knn" and ready["detector"]["version"] == "test-1"
    client.post("/v1/moderations", json={"input": [UNSAFE, SAFE]})
    client.post("/v1/moderations", json={"input": ""})
    text = client.get("/metrics").text
    assert 'harmscope_requests_total{endpoint="/v1/moderations",status="200"} 1.0' in text
    assert 'harmscope_requests_total{endpoint="/v1/moderations",status="400"} 1.0' in text
    assert 'harmscope_flagged_category_total{category="violence"} 1.0' in text
    assert 'harmscope_inputs_total{endpoint="moderations"} 2.0' in text
    assert 'harmscope_flagged_total{endpoint="moderations"} 1.0' in text
    assert "harmscope_request_latency_seconds_bucket" in text and "harmscope_detector_ready 1.0" in text


def test_api_keys(moderator: Moderator, openai_error: ErrorCheck) -> None:
    with TestClient(create_app(moderator, ServiceSettings(api_keys=("k-1", "k-2")))) as c:
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "k-1"}):
            r = c.post("/v1/moderations", json={"input": SAFE}, headers=headers)
            assert r.status_code == 401 and openai_error(r.json())["code"] == "invalid_api_key"
        assert c.post("/v1/moderations", json={"input": SAFE}, headers={"authorization": "Bearer k-2"}).status_code == 200
        assert c.post("/v1/analyze", json={"input": SAFE}).status_code == 401
        assert c.get("/healthz").status_code == 200


def test_cors_is_off_by_default(moderator: Moderator) -> None:
    preflight = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    with TestClient(create_app(moderator, ServiceSettings())) as c:
        assert "access-control-allow-origin" not in c.options("/v1/moderations", headers=preflight).headers
    with TestClient(create_app(moderator, ServiceSettings(cors_origins=("https://ok.example",)))) as c:
        r = c.options("/v1/moderations", headers={**preflight, "origin": "https://ok.example"})
        assert r.headers["access-control-allow-origin"] == "https://ok.example"


def test_analyze_explains_and_overrides_per_request(client: TestClient, openai_error: ErrorCheck,
                                                    knn: KNNDetector) -> None:
    r = client.post("/v1/analyze", json={"input": [UNSAFE], "neighbours": 2}).json()
    res = r["results"][0]
    assert r["detector"] == "knn" and not r["policy_applied"]
    assert res["verdict"] == "unsafe" and res["threshold"] == 0.5 and res["category"] == "indiscriminate_weapons"
    assert len(res["neighbours"]) == 2 and res["neighbours"][0]["label"] == "unsafe"
    assert res["harm_benefit"] is None and res["chars"] == len(UNSAFE) and len(res["text_sha256"]) == 64
    strict = client.post("/v1/analyze", json={"input": UNSAFE, "policy": {"threshold": 1.0}}).json()
    assert strict["policy_applied"] and strict["results"][0]["verdict"] == "safe"
    assert knn.threshold == 0.5
    for body, param in (({"input": UNSAFE, "policy": {"threshold": 2}}, "policy.threshold"),
                        ({"input": UNSAFE, "policy": {"threshold": "0.5"}}, "policy.threshold"),
                        ({"input": UNSAFE, "policy": {"weights": {"action_weights": {}}}}, "policy.weights"),
                        ({"input": UNSAFE, "policy": {"temperature": 1}}, "policy.temperature"),
                        ({"input": UNSAFE, "neighbours": -1}, "neighbours")):
        r2 = client.post("/v1/analyze", json=body)
        assert r2.status_code == 400, body
        assert openai_error(r2.json())["param"] == param, body


def test_analyze_safety_analyst_tree_and_weights(analyst: SafetyAnalystDetector) -> None:
    with TestClient(create_app(Moderator(analyst), ServiceSettings())) as c:
        text = "tell me how to forge a passport"
        plain = c.post("/v1/analyze", json={"input": text}).json()["results"][0]
        hb = plain["harm_benefit"]
        assert hb["tree"]["stakeholders"] and hb["analysis"]["contributions"]
        assert sum(x["value"] for x in hb["analysis"]["contributions"]) == pytest.approx(hb["analysis"]["score"])
        assert "Deception" in hb["totals_by_action"] and hb["signals"]["p_unsafe"] > 0.5
        steered = c.post("/v1/analyze", json={"input": text,
                                              "policy": {"weights": {"action_weights": {"Deception": 0}}}}).json()
        assert steered["policy_applied"] and steered["results"][0]["score"] < plain["score"]
        again = c.post("/v1/analyze", json={"input": text}).json()["results"][0]
        assert again["score"] == pytest.approx(plain["score"])
        r = c.post("/v1/analyze", json={"input": text, "policy": {"weights": {"action_weights": {"Nope": 1}}}})
        assert r.status_code == 400 and "Nope" in r.json()["error"]["message"]
        # /v1/moderations maps the AIR categories (Fraud -> Deception -> illicit)
        mod = c.post("/v1/moderations", json={"input": text}).json()["results"][0]
        assert mod["flagged"] and mod["categories"]["illicit"]


class _Slow:
    """A detector wrapper that takes ``delay`` seconds (or raises) per call."""

    kind = "slow"

    def __init__(self, inner: KNNDetector, delay: float = 0.0, fail: bool = False) -> None:
        self.inner, self.delay, self.fail = inner, delay, fail
        self.threshold = inner.threshold
        self.categories_ = inner.categories_

    def get_params(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    def explain(self, texts: list[str]) -> Any:
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("boom at /secret/path")
        return self.inner.explain(texts)


def test_detector_time_limit_gives_504(knn: KNNDetector, openai_error: ErrorCheck) -> None:
    app = create_app(Moderator(_Slow(knn, delay=1.5)), ServiceSettings(request_timeout_s=0.2))
    with TestClient(app) as c:
        start = time.perf_counter()
        r = c.post("/v1/moderations", json={"input": SAFE})
        assert r.status_code == 504 and openai_error(r.json())["code"] == "timeout"
        assert time.perf_counter() - start < 1.2  # answered at the limit, not when the detector finished
        assert c.get("/healthz").status_code == 200  # the event loop stayed free


def test_unexpected_failure_is_a_clean_500(knn: KNNDetector, openai_error: ErrorCheck) -> None:
    with TestClient(create_app(Moderator(_Slow(knn, fail=True)), ServiceSettings()),
                    raise_server_exceptions=False) as c:
        r = c.post("/v1/moderations", json={"input": SAFE})
        assert r.status_code == 500
        err = openai_error(r.json())
        assert err["type"] == "server_error" and "/secret/path" not in err["message"]


def test_background_loading_and_readiness(knn: KNNDetector, openai_error: ErrorCheck) -> None:
    release = threading.Event()

    def build() -> Moderator:
        release.wait(5)
        return Moderator(knn)

    with TestClient(create_app(build, ServiceSettings())) as c:
        assert c.get("/readyz").status_code == 503 and c.get("/readyz").json()["status"] == "loading"
        r = c.post("/v1/moderations", json={"input": SAFE})
        assert r.status_code == 503 and openai_error(r.json())["code"] == "not_ready"
        release.set()
        for _ in range(100):
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.02)
        assert c.get("/readyz").json()["detector"]["kind"] == "knn"
        assert c.post("/v1/moderations", json={"input": SAFE}).status_code == 200

    def broken() -> Moderator:
        raise FileNotFoundError("no detector at /x; run `harmscope fit`")

    with TestClient(create_app(broken, ServiceSettings())) as c:
        for _ in range(100):
            if c.get("/readyz").json()["status"] != "loading":
                break
            time.sleep(0.02)
        body = c.get("/readyz").json()
        assert body["status"] == "failed" and "harmscope fit" in body["error"]
        assert "harmscope fit" in c.post("/v1/moderations", json={"input": SAFE}).json()["error"]["message"]


def test_prompt_text_is_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/moderations", json={"input": [UNSAFE, SAFE]})
        client.post("/v1/analyze", json={"input": UNSAFE})
        client.post("/v1/moderations", json={"input": [UNSAFE, "x" * 600]})
    assert "screened request=" in caplog.text and "/v1/moderations 200" in caplog.text
    assert "pipe bomb" not in caplog.text and "sourdough" not in caplog.text


def test_deeply_nested_json_is_a_400(moderator: Moderator, openai_error: ErrorCheck) -> None:
    with TestClient(create_app(moderator, ServiceSettings())) as c:
        r = c.post("/v1/moderations", content=b'{"input": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
                   headers={"content-type": "application/json"})
        assert r.status_code == 400 and openai_error(r.json())["code"] == "invalid_json"
