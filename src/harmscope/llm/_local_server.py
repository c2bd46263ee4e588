"""A minimal OpenAI-compatible chat server around one local model (stdlib ``http.server``, no web framework).

Endpoints (all under ``/v1``)::

    GET  /v1/models                 the one served model
    GET  /v1/models/<id>
    POST /v1/chat/completions       messages, max_tokens (or max_completion_tokens), temperature (0 = greedy),
                                    top_p, seed, stop, n (1 only), stream, stream_options.include_usage,
                                    response_format {"type": "text" | "json_object" | "json_schema"}
    GET  /health

Streaming answers are Server-Sent Events in OpenAI's ``chat.completion.chunk`` format (first a role
delta, then content deltas, then a chunk with ``finish_reason``, an optional usage chunk, and
``data: [DONE]``), sent with chunked transfer encoding.

``response_format`` is best effort, not constrained decoding: for ``json_object`` the assistant turn is
started with ``{``; for ``json_schema`` with the part of the JSON the schema fixes (``schema_prefix``: e.g.
``{"stakeholders": [`` for an object whose first required key is an array); generation stops as soon as
the top-level value is closed. The schema itself is not enforced; callers validate (and repair) the
reply, as ``harmscope`` does.

Bad requests get OpenAI's error shape (``{"error": {"message", "type", "param", "code"}}``) with 400
(invalid fields, prompt too long), 404 (unknown model or path), 411/413 (body length). ``max_tokens`` above
the server's cap is lowered to the cap. Requests are handled on threads but generation is serialized by
the model's lock. Prompt text is never logged.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from harmscope.llm._local_model import ContextLengthError, GenerationRequest, StreamChunk

MAX_BODY_BYTES = 4 << 20
DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_CAP = 2048
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ChatBackend(Protocol):
    """What the server needs from a model: an id and a streaming generator (LocalChatModel is one)."""

    id: str

    def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]: ...


class RequestError(Exception):
    """A request the server refuses; becomes an OpenAI-shaped error answer."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def payload(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class ChatRequest:
    """A validated ``POST /v1/chat/completions`` body."""

    generation: GenerationRequest
    stream: bool
    include_usage: bool


def _number(body: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise RequestError(400, f"{key} must be a number between {low:g} and {high:g}, got {value!r}", key)
    return float(value)


def _content(raw: Any, i: int) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):  # OpenAI's content parts: only text parts can be served by a text model
        texts: list[str] = []
        for part in raw:
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                raise RequestError(400, f"messages[{i}].content: only text parts ({{'type': 'text', 'text': ...}}) "
                                        "are supported", f"messages[{i}].content")
            texts.append(part["text"])
        return "".join(texts)
    raise RequestError(400, f"messages[{i}].content must be a string or a list of text parts",
                       f"messages[{i}].content")


def parse_chat_request(body: Any, served: str, *, default_max_tokens: int = DEFAULT_MAX_TOKENS,
                       max_tokens_cap: int = MAX_TOKENS_CAP) -> ChatRequest:
    """Validate a chat-completions body; RequestError (400/404) naming the bad field otherwise."""
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError(400, "model is required (a string); this server serves " + repr(served), "model")
    if model != served:
        raise RequestError(404, f"the model {model!r} does not exist on this server; it serves {served!r}",
                           "model", "model_not_found")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise RequestError(400, "messages must be a non-empty list of {'role', 'content'} objects", "messages")
    messages: list[dict[str, str]] = []
    for i, m in enumerate(raw_messages):
        if not isinstance(m, dict):
            raise RequestError(400, f"messages[{i}] must be an object", f"messages[{i}]")
        role = m.get("role")
        if role not in ROLES:
            raise RequestError(400, f"messages[{i}].role must be one of {', '.join(ROLES)}, got {role!r}",
                               f"messages[{i}].role")
        messages.append({"role": ROLES[role], "content": _content(m.get("content"), i)})
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is None:
        max_tokens = default_max_tokens
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise RequestError(400, f"max_tokens must be a positive integer, got {max_tokens!r}", "max_tokens")
    temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    if top_p == 0.0:
        raise RequestError(400, "top_p must be greater than 0", "top_p")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RequestError(400, f"seed must be an integer, got {seed!r}", "seed")
    n = body.get("n", 1)
    if n != 1:
        raise RequestError(400, f"this server generates one choice per request (n=1), got n={n!r}", "n")
    stop_raw = body.get("stop")
    stop: tuple[str, ...] = ()
    if isinstance(stop_raw, str):
        stop = (stop_raw,)
    elif isinstance(stop_raw, list) and all(isinstance(s, str) and s for s in stop_raw) and len(stop_raw) <= 4:
        stop = tuple(stop_raw)
    elif stop_raw is not None:
        raise RequestError(400, "stop must be a string or a list of at most 4 non-empty strings", "stop")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError(400, f"stream must be true or false, got {stream!r}", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise RequestError(400, "stream_options must be an object", "stream_options")
    prefix = _json_prefix(body.get("response_format"))
    generation = GenerationRequest(messages=tuple(messages), max_tokens=min(max_tokens, max_tokens_cap),
                                   temperature=temperature, top_p=top_p, seed=seed, stop=stop, prefix=prefix,
                                   close_json=bool(prefix))
    return ChatRequest(generation, stream, bool(options.get("include_usage")))


def _json_prefix(fmt: Any) -> str:
    """"" for plain text; the opening bracket for the JSON modes (see the module docstring)."""
    if fmt is None:
        return ""
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return ""
    if kind == "json_object":
        return "{"
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(schema, dict):
            raise RequestError(400, "response_format.json_schema must be an object with 'name' (string) and "
                                    "'schema' (object)", "response_format")
        return schema_prefix(schema) or "{"
    raise RequestError(400, "response_format.type must be 'text', 'json_object' or 'json_schema', "
                            f"got {kind!r}", "response_format")


def schema_prefix(schema: Mapping[str, Any], depth: int = 0) -> str:
    """The start of every JSON value that matches ``schema`` as far as it is fixed: an object opens with its
    first required key (``{"stakeholders": ``), then that key's value is followed; an array opens with
    ``[`` (and continues into its items only when ``minItems`` >= 1). Stops at anything else.

    Starting the assistant turn with this steers small models into the expected layout (cheap guidance,
    not constrained decoding)."""
    kind = schema.get("type")
    if depth > 8:
        return ""
    if kind == "object":
        props = schema.get("properties")
        required = [k for k in schema.get("required") or () if isinstance(props, dict) and k in props]
        if not required:
            return "{"
        key = required[0]
        return "{" + json.dumps(key) + ": " + schema_prefix(props[key], depth + 1)  # type: ignore[index]
    if kind == "array":
        items = schema.get("items")
        min_items = schema.get("minItems")
        if isinstance(items, dict) and isinstance(min_items, int) and min_items >= 1:
            return "[" + schema_prefix(items, depth + 1)
        return "["
    return ""


def _handler(backend: ChatBackend, default_max_tokens: int, max_tokens_cap: int,
             log_requests: bool) -> type[BaseHTTPRequestHandler]:
    served = backend.id

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "harmscope-serve-llm"

        def log_message(self, format: str, *args: Any) -> None:  # our own one-line log (no prompt text)
            pass

        def _log(self, status: int, extra: str = "") -> None:
            if log_requests:
                print(f"{self.command} {self.path} {status}{extra}", file=sys.stderr, flush=True)

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, error: RequestError) -> None:
            self._json(error.status, error.payload())
            self._log(error.status, f" ({error.code or error.param or 'error'})")

        def _model_card(self) -> dict[str, Any]:
            return {"id": served, "object": "model", "created": 0, "owned_by": "harmscope"}

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/v1/models":
                self._json(200, {"object": "list", "data": [self._model_card()]})
            elif path == f"/v1/models/{served}":
                self._json(200, self._model_card())
            elif path.startswith("/v1/models/"):
                self._error(RequestError(404, f"the model {path.rsplit('/', 1)[1]!r} does not exist; this "
                                              f"server serves {served!r}", "model", "model_not_found"))
                return
            elif path == "/health":
                self._json(200, {"status": "ok", "model": served})
            else:
                self._error(RequestError(404, f"no route GET {path}; see /v1/models", None, "not_found"))
                return
            self._log(200)

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            try:
                body = self._read_body()
                if path != "/v1/chat/completions":
                    raise RequestError(404, f"no route POST {path}; use /v1/chat/completions", None, "not_found")
                request = parse_chat_request(body, served, default_max_tokens=default_max_tokens,
                                             max_tokens_cap=max_tokens_cap)
                chunks = backend.stream(request.generation)
                try:
                    first = next(chunks)  # errors before any output (prompt too long) are still a clean 400
                except ContextLengthError as error:
                    raise RequestError(400, str(error), "messages", "context_length_exceeded") from None
                except Exception as error:  # noqa: BLE001 - any backend failure becomes a 500 answer
                    raise _generation_failed(error) from None
            except RequestError as error:
                self._error(error)
                return
            with contextlib.closing(chunks):
                if request.stream:
                    self._stream(first, chunks, request.include_usage)
                else:
                    self._complete(first, chunks)

        def _read_body(self) -> Any:
            length = self.headers.get("Content-Length")
            if length is None:
                self.close_connection = True
                raise RequestError(411, "a Content-Length header is required")
            try:
                size = int(length)
            except ValueError:
                self.close_connection = True
                raise RequestError(400, "Content-Length must be an integer") from None
            if size > MAX_BODY_BYTES:
                self.close_connection = True
                raise RequestError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
            raw = self.rfile.read(size)
            try:
                return json.loads(raw)
            except ValueError as error:
                raise RequestError(400, f"the body is not valid JSON ({type(error).__name__} at "
                                        f"{getattr(error, 'pos', '?')})") from None

        def _complete(self, first: StreamChunk, rest: Iterator[StreamChunk]) -> None:
            started = time.perf_counter()
            parts, last = [first.text], first
            try:
                for chunk in rest:
                    parts.append(chunk.text)
                    last = chunk
            except Exception as error:  # noqa: BLE001 - any backend failure becomes a 500 answer
                self._error(_generation_failed(error))
                return
            payload = {
                "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": served,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(parts)},
                             "logprobs": None, "finish_reason": last.finish_reason or "stop"}],
                "usage": _usage(last),
            }
            self._json(200, payload)
            self._log(200, f" {last.completion_tokens} tokens {time.perf_counter() - started:.1f} s")

        def _stream(self, first: StreamChunk, rest: Iterator[StreamChunk], include_usage: bool) -> None:
            started = time.perf_counter()
            base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": served}
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def event(payload: Any) -> None:
                data = f"data: {json.dumps(payload) if not isinstance(payload, str) else payload}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def delta(content: dict[str, str], finish: str | None) -> dict[str, Any]:
                choice = {"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}
                return {**base, "choices": [choice]}

            last = first
            try:
                event(delta({"role": "assistant", "content": ""}, None))
                try:
                    for chunk in _chain(first, rest):
                        last = chunk
                        if chunk.text:
                            event(delta({"content": chunk.text}, None))
                except (BrokenPipeError, ConnectionResetError):
                    raise
                except Exception as error:  # noqa: BLE001 - headers are out: report in-band, as OpenAI does
                    event(_generation_failed(error).payload())
                    event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                    self._log(500, " (generation failed mid-stream)")
                    return
                event(delta({}, last.finish_reason or "stop"))
                if include_usage:
                    event({**base, "choices": [], "usage": _usage(last)})
                event("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away; closing the iterator frees the model
                return
            self._log(200, f" stream {last.completion_tokens} tokens {time.perf_counter() - started:.1f} s")

    return Handler


def _generation_failed(error: Exception) -> RequestError:
    """A 500 that names the failure type only (exception messages may quote the prompt)."""
    return RequestError(500, f"generation failed ({type(error).__name__})", None,
                        "generation_failed")


def _chain(first: StreamChunk, rest: Iterator[StreamChunk]) -> Iterator[StreamChunk]:
    yield first
    yield from rest


def _usage(chunk: StreamChunk) -> dict[str, int]:
    return {"prompt_tokens": chunk.prompt_tokens, "completion_tokens": chunk.completion_tokens,
            "total_tokens": chunk.prompt_tokens + chunk.completion_tokens}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing a kept-alive connection is normal; anything else keeps the default report.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class LocalChatServer:
    """The HTTP server bound to ``host:port`` (port 0 picks a free one); ``base_url`` ends in ``/v1``."""

    def __init__(self, backend: ChatBackend, host: str = "127.0.0.1", port: int = 0, *,
                 default_max_tokens: int = DEFAULT_MAX_TOKENS, max_tokens_cap: int = MAX_TOKENS_CAP,
                 log_requests: bool = False) -> None:
        if not 1 <= default_max_tokens <= max_tokens_cap:
            raise ValueError("1 <= default_max_tokens <= max_tokens_cap is required")
        self.backend = backend
        handler = _handler(backend, default_max_tokens, max_tokens_cap, log_requests)
        self._server = _QuietServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def serve_forever(self) -> None:
        """Serve in this thread until ``shutdown()`` (or Ctrl-C in the caller)."""
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> LocalChatServer:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="harmscope-serve-llm", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()


@contextlib.contextmanager
def start_local_server(model: str | ChatBackend = "smollm2-135m", *, host: str = "127.0.0.1", port: int = 0,
                       threads: int | None = None, default_max_tokens: int = DEFAULT_MAX_TOKENS,
                       max_tokens_cap: int = MAX_TOKENS_CAP) -> Iterator[str]:
    """Serve ``model`` (an LM name from ``harmscope.encoders._lm.LMS`` or any ChatBackend) on a background
    thread; yields the base URL (``http://127.0.0.1:<port>/v1``) and stops the server on exit.

    A model given by name is loaded before the server starts (so the first request is not slow) and shared
    with every other server of this process (``LocalChatModel.shared``).
    """
    backend: ChatBackend
    if isinstance(model, str):
        from harmscope.llm._local_model import DEFAULT_THREADS, LocalChatModel

        backend = LocalChatModel.shared(model, threads=threads or DEFAULT_THREADS)
    else:
        backend = model
    server = LocalChatServer(backend, host, port, default_max_tokens=default_max_tokens,
                             max_tokens_cap=max_tokens_cap).start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
