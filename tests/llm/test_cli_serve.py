"""`harmscope serve-llm` argument handling (the model-backed server itself is tested in test_smollm2_server)."""

from __future__ import annotations

import argparse
import socket

import pytest

from harmscope.cli import _serve_llm
from harmscope.errors import HarmscopeError, UnknownNameError


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="harmscope")
    _serve_llm.register(parser.add_subparsers())
    return parser.parse_args(["serve-llm", *argv])


def test_defaults() -> None:
    args = _parse()
    assert (args.model, args.host, args.port, args.max_tokens, args.max_tokens_cap) == (
        "smollm2-135m", "127.0.0.1", 8001, 256, 2048)


@pytest.mark.parametrize("argv", [["--port", "70000"], ["--threads", "0"], ["--max-tokens", "0"]])
def test_bad_numbers_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(*argv)


def test_cap_below_default_is_an_error() -> None:
    args = _parse("--max-tokens", "300", "--max-tokens-cap", "200")
    with pytest.raises(HarmscopeError, match="above --max-tokens-cap"):
        args.func(args)


def test_unknown_model_is_named() -> None:
    args = _parse("--model", "gpt-5")
    with pytest.raises(UnknownNameError, match="smollm2-135m"):
        args.func(args)


def test_busy_port_fails_before_loading() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = _parse("--port", str(busy.getsockname()[1]))
        with pytest.raises(HarmscopeError, match="cannot listen on 127.0.0.1"):
            args.func(args)
