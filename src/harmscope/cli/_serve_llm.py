"""`harmscope serve-llm`: a minimal OpenAI-compatible chat server around a small local model.

Serves ``GET /v1/models`` and ``POST /v1/chat/completions`` (streaming or not) for SmolLM2-135M-Instruct
(default) or another LM of the hidden-state catalogue, for tests, demos and the guard gateway. See
docs/llm.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve-llm", help="serve a small local chat model over an OpenAI-compatible HTTP API",
        description="Minimal OpenAI-compatible server (GET /v1/models, POST /v1/chat/completions with "
                    "stream true/false) around a local model. One request generates at a time.")
    p.add_argument("--model", default="smollm2-135m",
                   help="local LM to serve (default smollm2-135m; see `harmscope encoders` for others)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8001, help="port (default 8001; 0 picks a free one)")
    p.add_argument("--threads", type=_positive, default=None,
                   help="torch threads for generation (default 1: fastest on busy 2-core machines)")
    p.add_argument("--max-tokens", type=_positive, default=256,
                   help="completion length when a request gives none (default 256)")
    p.add_argument("--max-tokens-cap", type=_positive, default=2048,
                   help="longest completion served; larger requests are lowered to it (default 2048)")
    p.add_argument("--quiet", action="store_true", help="do not print one line per request on stderr")
    p.set_defaults(func=_serve)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {value}")
    return value


def _serve(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError
    from harmscope.llm import LocalChatModel, LocalChatServer
    from harmscope.llm._local_model import DEFAULT_THREADS

    if args.max_tokens > args.max_tokens_cap:
        raise HarmscopeError(f"--max-tokens {args.max_tokens} is above --max-tokens-cap {args.max_tokens_cap}; "
                             "lower it or raise the cap")
    started = time.perf_counter()
    model = LocalChatModel(args.model, threads=args.threads or DEFAULT_THREADS)  # checks the name; loads later
    try:  # bind before the slow load, so a busy port fails at once
        server = LocalChatServer(model, args.host, args.port, default_max_tokens=args.max_tokens,
                                 max_tokens_cap=args.max_tokens_cap, log_requests=not args.quiet)
    except OSError as error:
        raise HarmscopeError(f"cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
                             "choose another --port or stop the program using it") from None
    print(f"loading {model.id} ...", file=sys.stderr, flush=True)
    try:
        model.load()
    except BaseException:
        server.shutdown()
        raise
    print(f"serving {model.id} at {server.base_url} (loaded in {time.perf_counter() - started:.1f} s; "
          "Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.shutdown()
    return 0
