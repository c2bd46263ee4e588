"""`import harmscope` and the CLI's start must not pull heavy libraries (DEVELOPERS.md)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "matplotlib", "fastapi", "sentence_transformers", "sklearn", "ray")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_harmscope_is_light() -> None:
    assert _loaded_after("import harmscope") == set()


def test_cli_parser_is_light() -> None:
    assert _loaded_after("from harmscope.cli.main import build_parser; build_parser()") == set()
