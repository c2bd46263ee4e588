"""The ``harmscope`` command. Each command group lives in its own module with a ``register`` function;
those modules import only argparse-level things at top level, so ``harmscope --help`` starts fast."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harmscope import __version__
from harmscope.errors import HarmscopeError

# Order = order in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "harmscope.cli._datasets",
    "harmscope.cli._data",
    "harmscope.cli._fit",
    "harmscope.cli._moderate",
    "harmscope.cli._moderate_batch",
    "harmscope.cli._layer_sweep",
    "harmscope.cli._encoders",
    "harmscope.cli._embed_eval",
    "harmscope.cli._dna_contrast",
    "harmscope.cli._bench",
    "harmscope.cli._bench_speed",
    "harmscope.cli._analyze",
    "harmscope.cli._serve",
    "harmscope.cli._serve_llm",
    "harmscope.cli._audit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harmscope",
        description="Decide whether prompts sent to an LLM are unsafe, explain why, evaluate encoders "
        "and detectors on public safety benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"harmscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except HarmscopeError as error:
        print(f"harmscope: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harmscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
