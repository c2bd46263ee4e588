"""Speed and memory measurements: ``harmscope bench-speed`` (per-detector throughput, single-prompt
latency and peak memory, each detector in its own process, next to baseline scorers) and the recall /
latency benchmark of the similarity-bank indexes (``benchmarks/bank_recall.py``). See docs/speed.md.

Nothing heavy is imported here; the measuring children import the models.
"""

from __future__ import annotations

from harmscope.speed._run import DetectorSpeed, SpeedOptions, SpeedReport, run_speed_bench, time_cli_help
from harmscope.speed._subjects import BASELINES, Subject, parse_subject

__all__ = [
    "BASELINES",
    "DetectorSpeed",
    "SpeedOptions",
    "SpeedReport",
    "Subject",
    "parse_subject",
    "run_speed_bench",
    "time_cli_help",
]
