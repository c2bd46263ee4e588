"""Reports that bundle several evaluations into files (Markdown, PNG, JSON).

- :func:`run_safe_embed_report`: every Safe-Embed task for several encoders (``harmscope embed-eval report``).
- :func:`write_bench_report`: Markdown, PR curves and JSON of a benchmark run (``harmscope bench --report``).
"""

from __future__ import annotations

from harmscope.reports._bench import PrecisionRecallCurvesDisplay, render_bench_markdown, write_bench_report
from harmscope.reports._safe_embed import (
    EncoderReport,
    SafeEmbedReport,
    render_markdown,
    run_safe_embed_report,
)

__all__ = [
    "EncoderReport",
    "PrecisionRecallCurvesDisplay",
    "SafeEmbedReport",
    "render_bench_markdown",
    "render_markdown",
    "run_safe_embed_report",
    "write_bench_report",
]
