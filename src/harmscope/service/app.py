"""``create_app(moderator, settings)``: the FastAPI app of ``harmscope serve`` (an app factory; nothing global).

Routes: ``POST /v1/moderations`` (OpenAI-compatible), ``POST /v1/analyze`` (full explanation, per-request
policy), ``POST /v1/chat/completions`` (the guard gateway, when ``settings.gateway`` is set), ``GET /healthz``,
``GET /readyz``, ``GET /metrics``, ``GET /v1/policy`` (what a per-request policy can steer), and the
playground page at ``GET /`` (assets under ``/static``). Every error is a JSON body in OpenAI's error shape
(``{"error": {"message", "type", "param", "code"}}``): 400 bad input, 401 bad key, 404/405 unknown route,
413 body too large, 415 not JSON, 503 not ready, 502/504 upstream or detector time limit, 500 (no stack
trace) for bugs. Detector calls run on worker threads (the event loop stays free). Request bodies are
read and parsed here rather than by FastAPI so that every malformed body gets a precise 4xx.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harmscope.service._batching import MicroBatcher
from harmscope.service._metrics import CONTENT_TYPE, ServiceMetrics, create_metrics
from harmscope.service._playground import install_playground, policy_info
from harmscope.service.gateway import Gateway, UpstreamError, UserTurn, user_turns
from harmscope.service.moderator import (
    InputError,
    Moderator,
    TextAnalysis,
    TextVerdict,
    explanation_extras,
    new_request_id,
)
from harmscope.service.schemas import (
    AnalysisResult,
    AnalyzeRequest,
    AnalyzeResponse,
    HarmBenefitOut,
    ModerationRequest,
    ModerationResponse,
    ModerationResult,
    NeighbourOut,
    PolicyInfo,
    TextPart,
    applied_input_types,
)
from harmscope.service.settings import ServiceSettings

log = logging.getLogger("harmscope.service")
access_log = logging.getLogger("harmscope.service.access")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

ENDPOINTS = ("/v1/moderations", "/v1/analyze", "/v1/policy", "/v1/chat/completions", "/healthz", "/readyz",
             "/metrics", "/")
"""Metric labels: these paths, everything else is counted as ``other`` (bounded label values)."""

MAX_CHAT_TURNS = 256
"""Most user turns screened in one chat request (each is screened; more -> 400)."""


class ApiError(Exception):
    """An error answer in OpenAI's shape."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def response(self, headers: Mapping[str, str] | None = None) -> JSONResponse:
        return error_response(self.status, self.message, self.type, self.param, self.code, headers)


def error_response(status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
                   code: str | None = None, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type, "param": param, "code": code}},
                        status_code=status, headers=dict(headers or {}))


class _State:
    """Everything one app instance owns (no module-level state)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.metrics: ServiceMetrics = create_metrics()
        self.moderator: Moderator | None = None
        self.load_error: str | None = None
        self.gateway = Gateway(settings.gateway) if settings.gateway is not None else None
        self.loader_task: asyncio.Task[None] | None = None

    def ready(self) -> Moderator:
        if self.moderator is not None:
            return self.moderator
        if self.load_error is not None:
            raise ApiError(503, f"the detector failed to load: {self.load_error}", type="service_unavailable",
                           code="not_ready")
        raise ApiError(503, "the detector is still loading; retry when GET /readyz answers 200",
                       type="service_unavailable", code="not_ready")


def create_app(moderator: Moderator | Callable[[], Moderator], settings: ServiceSettings | None = None) -> FastAPI:
    """The service app. ``moderator``: a ready :class:`Moderator`, or a zero-argument callable that builds
    one (it runs on a worker thread at start-up; ``/readyz`` answers 503 until it returns)."""
    settings = settings or ServiceSettings()
    state = _State(settings)
    loader: Callable[[], Moderator] | None = None
    if isinstance(moderator, Moderator):
        state.moderator = moderator
        state.metrics.ready.set(1)
    elif callable(moderator):
        loader = moderator
    else:
        raise TypeError(f"moderator must be a Moderator or a callable returning one, got {type(moderator).__name__}")

    async def load() -> None:
        assert loader is not None
        try:
            built = await anyio.to_thread.run_sync(loader)
            if not isinstance(built, Moderator):
                raise TypeError(f"the loader returned {type(built).__name__}, not a Moderator")
            state.moderator = built
            state.metrics.ready.set(1)
            log.info("detector ready: %s", built.info().name)
        except Exception as error:  # noqa: BLE001  (reported by /readyz; health checks keep answering)
            state.load_error = str(error) or type(error).__name__
            log.error("detector failed to load: %s", state.load_error)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if loader is not None and state.moderator is None:
            state.loader_task = asyncio.create_task(load())
        if state.gateway is not None:
            await state.gateway.start()
        try:
            yield
        finally:
            if batcher is not None:
                await batcher.close()
            if state.gateway is not None:
                await state.gateway.close()
            if state.loader_task is not None and not state.loader_task.done():
                state.loader_task.cancel()
            close_sink = getattr(state.moderator.sink, "close", None) if state.moderator else None
            if callable(close_sink):  # the audit store: write what is queued before the process ends
                await anyio.to_thread.run_sync(close_sink)

    app = FastAPI(title="harmscope moderation service", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.harmscope = state
    _install_error_handlers(app)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["authorization", "content-type"])
    app.add_middleware(_Observe, metrics=state.metrics)

    async def limited(call: Awaitable[T]) -> T:
        """Await ``call`` within the request time limit (504 when exceeded)."""
        try:
            with anyio.fail_after(settings.request_timeout_s):
                return await call
        except TimeoutError:
            raise ApiError(504, f"screening did not finish within {settings.request_timeout_s:g} s; retry "
                           "with fewer or shorter inputs", type="timeout", code="timeout") from None

    async def run(func: Callable[[], T]) -> T:
        """``func`` on a worker thread, within the request time limit (504 when exceeded). A timed-out
        call is abandoned, not killed: its thread finishes in the background."""
        return await limited(anyio.to_thread.run_sync(func, abandon_on_cancel=True))

    # Concurrent /v1/moderations requests share detector calls (service/_batching.py); 0 ms = off.
    batcher = (MicroBatcher(settings.max_batch_wait_ms / 1000.0, settings.max_batch_texts)
               if settings.max_batch_wait_ms > 0 else None)
    app.state.harmscope_batcher = batcher

    # -- routes ---------------------------------------------------------------------------------------
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        gateway = None
        if settings.gateway is not None:
            gateway = {"upstream": settings.gateway.upstream.base_url, "on_unsafe": settings.gateway.on_unsafe,
                       "safe_upstream": settings.gateway.safe_upstream.base_url
                       if settings.gateway.safe_upstream else None}
        if state.moderator is None:
            status = "failed" if state.load_error else "loading"
            return JSONResponse({"status": status, "error": state.load_error, "gateway": gateway}, status_code=503)
        return JSONResponse({"status": "ready", "detector": asdict(state.moderator.info()), "gateway": gateway})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/v1/moderations", response_model=ModerationResponse)
    async def moderations(request: Request) -> ModerationResponse:
        _authorize(request, settings)
        body = await _parse(request, ModerationRequest, settings)
        mod = state.ready()
        texts = _texts(body.input)
        rid = _request_id(request)
        if batcher is not None:
            outcome = await limited(batcher.moderate(mod, texts, request_id=rid, endpoint="moderations"))
        else:
            outcome = await run(lambda: mod.moderate(texts, request_id=rid, endpoint="moderations"))
        state.metrics.observe_screen("moderations", outcome.verdicts, outcome.latency_ms)
        return ModerationResponse(id=rid, model=body.model or settings.model_name,
                                  results=[_moderation_result(v) for v in outcome.verdicts])

    @app.post("/v1/analyze", response_model=AnalyzeResponse)
    async def analyze(request: Request) -> AnalyzeResponse:
        _authorize(request, settings)
        body = await _parse(request, AnalyzeRequest, settings)
        mod = state.ready()
        texts = _texts(body.input)
        rid = _request_id(request)
        policy = body.policy
        outcome = await run(lambda: mod.analyze(
            texts, threshold=policy.threshold if policy else None, weights=policy.weights if policy else None,
            request_id=rid))
        state.metrics.observe_screen("analyze", tuple(a.verdict for a in outcome.analyses), outcome.latency_ms)
        k = min(body.neighbours, settings.max_neighbours)
        info = mod.info()
        return AnalyzeResponse(id=rid, detector=info.kind, detector_version=info.version,
                               policy_applied=outcome.policy_applied, latency_ms=round(outcome.latency_ms, 3),
                               results=[_analysis_result(a, k) for a in outcome.analyses])

    @app.get("/v1/policy", response_model=PolicyInfo)
    async def policy(request: Request) -> PolicyInfo:
        """What a per-request ``policy`` of /v1/analyze can change, with the values in force."""
        _authorize(request, settings)
        return policy_info(state.ready())

    install_playground(app)  # GET / (the playground page) and /static/*

    if state.gateway is not None:
        gateway = state.gateway

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            _authorize(request, settings)
            raw = await _read_body(request, settings.max_body_bytes)
            body = _decode_json(raw)
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be a JSON object", code="invalid_type")
            if "stream" in body and not isinstance(body["stream"], bool):
                raise ApiError(400, "stream must be true or false", param="stream", code="invalid_type")
            turns = user_turns(body)
            texts = [t.text for t in turns]
            mod = state.ready()
            rid = _request_id(request)
            try:
                outcome = await run(lambda: mod.moderate(texts, request_id=rid, endpoint="chat",
                                                         max_inputs=MAX_CHAT_TURNS))
            except InputError as error:  # name the message, not the moderator's input list
                raise _chat_input_error(error, turns) from None
            state.metrics.observe_screen("chat", outcome.verdicts, outcome.latency_ms)
            screen = gateway.decide(outcome)
            state.metrics.gateway_decisions.labels(decision=screen.decision).inc()
            log.info("chat request=%s decision=%s turns=%d max_score=%.3f", rid, screen.decision, len(texts),
                     outcome.max_score)
            try:
                return await gateway.respond(screen, body, raw)
            except UpstreamError as error:
                state.metrics.upstream_errors.labels(kind=error.code).inc()
                log.warning("chat request=%s upstream failed: %s (%s)", rid, error.code, error.status)
                return error.response(screen.headers())

    return app


# -- request handling -------------------------------------------------------------------------------------

def _chat_input_error(error: InputError, turns: list[UserTurn]) -> InputError:
    """A moderator input error restated in terms of ``messages``."""
    if error.code == "too_many_inputs":
        return InputError(f"the conversation has {len(turns)} user messages; at most {MAX_CHAT_TURNS} are "
                          "screened per request", "messages", error.code)
    index = 0
    if error.param and error.param.startswith("input["):
        index = int(error.param[len("input["):-1])
    param = f"messages[{turns[index].message_index}].content"
    return InputError(error.message.replace(error.param or "input", param, 1), param, error.code)


def _request_id(request: Request) -> str:
    rid = request.scope.get("harmscope.request_id")
    return rid if isinstance(rid, str) else new_request_id()


def _authorize(request: Request, settings: ServiceSettings) -> None:
    if not settings.api_keys:
        return
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    given = key.strip().encode()
    ok = scheme.lower() == "bearer" and any(hmac.compare_digest(given, k.encode()) for k in settings.api_keys)
    if not ok:
        raise ApiError(401, "missing or invalid API key; send the header 'Authorization: Bearer <key>'",
                       code="invalid_api_key")


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past ``limit`` bytes (checked on the header and while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is {declared} bytes; at most {limit} are accepted",
                       code="body_too_large")
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media and "json" not in media:
        raise ApiError(415, f"unsupported content type {media!r}; send JSON with 'Content-Type: application/json'",
                       code="unsupported_media_type")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body exceeds {limit} bytes", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object", code="empty_body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, f"the request body is not valid UTF-8 (bad byte at offset {error.start}); "
                       "encode the JSON as UTF-8", code="invalid_encoding") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(400, f"the request body is not valid JSON: {error.msg} at line {error.lineno} column "
                       f"{error.colno}", code="invalid_json") from None
    except RecursionError:
        raise ApiError(400, "the request body is nested too deeply", code="invalid_json") from None


async def _parse(request: Request, model: type[M], settings: ServiceSettings) -> M:
    data = _decode_json(await _read_body(request, settings.max_body_bytes))
    if not isinstance(data, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {_json_type(data)}",
                       code="invalid_type")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error, model, data) from None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _validation_error(error: ValidationError, model: type[BaseModel], data: Mapping[str, Any]) -> ApiError:
    """One clear 400 from pydantic's errors: unknown fields by name, ``input`` type errors in one sentence."""
    errors = error.errors(include_url=False)
    if any(_loc(e["loc"]).startswith("input[") or _loc(e["loc"]) == "input" for e in errors
           if e["type"] != "missing"):
        return _input_error(data.get("input"))
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        param = _loc(extra[0]["loc"])
        return ApiError(400, f"unknown field {param!r}; allowed fields: {', '.join(model.model_fields)}",
                        param=param, code="unknown_field")
    missing = [e for e in errors if e["type"] == "missing"]
    if missing:
        param = _loc(missing[0]["loc"])
        return ApiError(400, f"missing required field {param!r}", param=param, code="missing")
    first = errors[0]
    param = _loc(first["loc"])
    return ApiError(400, f"{param}: {first['msg']}", param=param, code="invalid_value")


def _input_error(value: Any) -> ApiError:
    """The first thing wrong with ``input`` (which pydantic rejected), said plainly."""
    shape = 'a string or a list of strings (or of {"type": "text", "text": string} objects)'
    if not isinstance(value, list):
        return ApiError(400, f"input must be {shape}, got {_json_type(value)}", param="input", code="invalid_type")
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if isinstance(item, dict):
            if item.get("type") != "text":
                return ApiError(400, f"{where} has type {item.get('type')!r}; only text inputs are supported",
                                param=where, code="unsupported_input")
            if not isinstance(item.get("text"), str) or set(item) != {"type", "text"}:
                return ApiError(400, f'{where} must be {{"type": "text", "text": string}} and nothing else',
                                param=where, code="invalid_type")
        elif not isinstance(item, str):
            return ApiError(400, f"{where} must be a string, got {_json_type(item)}", param=where,
                            code="invalid_type")
    return ApiError(400, f"input must be {shape}", param="input", code="invalid_type")


def _loc(loc: tuple[int | str, ...]) -> str:
    """``("input", 2)`` -> ``"input[2]"``; pydantic's union-branch names (``str``, ``list[...]``) are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "TextPart", "float", "int", "dict[str,any]") or "[" in part:
            continue
        else:
            out += ("." if out else "") + part
    return out


def _texts(value: str | list[str | TextPart]) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v if isinstance(v, str) else v.text for v in value]


def _moderation_result(v: TextVerdict) -> ModerationResult:
    return ModerationResult(flagged=v.flagged, categories=dict(v.openai_categories),
                            category_scores={k: round(s, 6) for k, s in v.openai_scores.items()},
                            category_applied_input_types=applied_input_types())


def _analysis_result(a: TextAnalysis, k: int) -> AnalysisResult:
    v, e = a.verdict, a.explanation
    extras = explanation_extras(e)
    return AnalysisResult(
        index=v.index, verdict="unsafe" if v.flagged else "safe", flagged=v.flagged, score=v.score,
        threshold=v.threshold, category=v.category, category_scores=dict(v.category_scores),
        openai_categories=dict(v.openai_categories), openai_category_scores=dict(v.openai_scores),
        neighbours=[NeighbourOut(text=n.text, similarity=n.similarity, label=n.label, category=n.category)
                    for n in e.neighbours[:k]],
        details={key: float(val) for key, val in e.details.items()},
        harm_benefit=HarmBenefitOut(**extras) if extras is not None else None,
        text_sha256=v.text_sha256, chars=v.chars)


# -- errors ----------------------------------------------------------------------------------------------

def _install_error_handlers(app: FastAPI) -> None:
    def headers_of(request: Request) -> dict[str, str]:
        rid = request.scope.get("harmscope.request_id")
        return {"x-request-id": rid} if isinstance(rid, str) else {}

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response(headers_of(request))

    async def input_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        return error_response(400, exc.message, param=exc.param, code=exc.code, headers=headers_of(request))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        messages = {404: f"no route {request.url.path!r}; see docs/service.md for the endpoints",
                    405: f"method {request.method} is not allowed on {request.url.path!r}"}
        message = messages.get(exc.status_code, str(exc.detail))
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return error_response(exc.status_code, message, kind, code={404: "not_found"}.get(exc.status_code),
                              headers={**headers_of(request), **(exc.headers or {})})

    async def validation_error(request: Request, exc: Exception) -> Response:
        return error_response(400, "invalid request", headers=headers_of(request))

    async def unexpected(request: Request, exc: Exception) -> Response:
        rid = request.scope.get("harmscope.request_id")
        log.error("request=%s failed with %s", rid, type(exc).__name__, exc_info=exc)
        return error_response(500, f"internal error (request id {rid}); the server log has the details",
                              "server_error", headers=headers_of(request))

    handlers: list[tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]] = [
        (ApiError, api_error), (InputError, input_error), (StarletteHTTPException, http_error),
        (RequestValidationError, validation_error), (Exception, unexpected)]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)


class _Observe:
    """ASGI middleware: a request id per request (``x-request-id`` answer header), metrics, one log line
    (method, route, status, latency, id; never the body)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        scope["harmscope.request_id"] = rid
        path = scope.get("path", "")
        endpoint = path if path in ENDPOINTS else "other"
        start = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append("x-request-id", rid)
                seconds = time.perf_counter() - start
                self.metrics.observe_request(endpoint, status, seconds)
                access_log.info("%s %s %d %.1fms id=%s", scope.get("method"), endpoint, status, seconds * 1000, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            if status == 500:  # the error answer is sent outside this middleware: count it here
                self.metrics.observe_request(endpoint, 500, time.perf_counter() - start)
                access_log.info("%s %s 500 id=%s", scope.get("method"), endpoint, rid)
            raise
