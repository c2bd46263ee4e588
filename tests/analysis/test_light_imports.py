"""The analysis, metrics and report modules and the embed-eval command import no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "matplotlib", "sklearn", "sentence_transformers", "rich")


def test_safe_embed_modules_are_light() -> None:
    code = ("import harmscope.analysis, harmscope.metrics, harmscope.reports._safe_embed, harmscope.cli._embed_eval\n"
            "import sys\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
