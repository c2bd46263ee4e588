"""``bench-speed`` orchestration: one child process per detector, ``harmscope --help`` start time, and
(optionally) the peak memory of ``harmscope serve``. Stdlib only at import time."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harmscope.errors import HarmscopeError
from harmscope.speed._subjects import Call, Subject, needs_fit

CHILD = [sys.executable, "-m", "harmscope.speed._child"]


@dataclass(frozen=True)
class SpeedOptions:
    """How each detector is timed (see ``harmscope.speed._child``)."""

    batch_size: int = 64
    n_batch: int = 1000
    n_single: int = 200
    budget_s: float = 60.0
    """Each timed phase stops after this many seconds (slow baselines time fewer prompts)."""
    call: Call = "explain"
    threads: int | None = None
    """Threads for torch/BLAS/onnxruntime in the children; None = the libraries' defaults."""
    fit_limit: int = 1000
    """Pool examples a spec detector is fitted on for the run (speed does not depend on fit quality)."""
    refit: bool = False
    timeout_s: float = 1800.0
    """A child that takes longer than this is stopped and reported as failed."""


@dataclass(frozen=True)
class DetectorSpeed:
    """One row: batch throughput, single-prompt latency, peak memory, load time (None = not measured)."""

    name: str
    description: str
    kind: str
    prompts_per_s: float | None
    p50_ms: float | None
    p99_ms: float | None
    peak_rss_mb: float | None
    load_s: float | None = None
    n_batch: int = 0
    n_single: int = 0
    error: str | None = None


@dataclass(frozen=True)
class SpeedReport:
    """Everything one ``bench-speed`` run measured."""

    default: str
    """The name of the row the targets apply to (the first detector given; ``default`` unless changed)."""
    detectors: tuple[DetectorSpeed, ...]
    options: SpeedOptions
    texts: str
    """Where the timed prompts came from (``built-in`` or a dataset name)."""
    cli_help_s: float | None = None
    serve_peak_rss_mb: float | None = None
    load_average: tuple[float, ...] = field(default_factory=tuple)
    """The machine's 1/5/15-minute load average at the end (figures from a loaded machine are slower)."""

    def to_json(self) -> dict[str, Any]:
        """``{"default", "detectors": [{"name", "prompts_per_s", "p50_ms", "p99_ms", "peak_rss_mb", ...}],
        ...}``: the issue's shape, plus load time, counts, errors and run settings."""
        return {"default": self.default, "detectors": [asdict(d) for d in self.detectors],
                "cli_help_s": self.cli_help_s, "serve_peak_rss_mb": self.serve_peak_rss_mb,
                "texts": self.texts, "options": asdict(self.options), "load_average": list(self.load_average)}


def child_env(threads: int | None) -> dict[str, str]:
    """The environment of a measuring child: offline models, no progress bars, thread settings."""
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HARMSCOPE_PROGRESS": "0",
                "TOKENIZERS_PARALLELISM": "false"})
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "HARMSCOPE_ORT_THREADS"):
            env[name] = str(threads)
    return env


def _run_child(request: dict[str, Any], options: SpeedOptions) -> dict[str, Any]:
    try:
        done = subprocess.run(CHILD, input=json.dumps(request), capture_output=True, text=True,
                              env=child_env(options.threads), timeout=options.timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {options.timeout_s:g} s"}
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"child exited with {done.returncode}: {tail[:300]}"}
    try:
        answer: dict[str, Any] = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"child exited with {done.returncode}: unreadable answer"}
    return answer


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def time_subject(subject: Subject, texts: Sequence[str], options: SpeedOptions) -> DetectorSpeed:
    """Prepare (fit, for a spec) and time ``subject`` in fresh child processes."""
    folder: str | None = None
    if needs_fit(subject):
        prepared = _run_child({"mode": "prepare", "subject": asdict(subject), "fit_limit": options.fit_limit,
                               "refit": options.refit}, options)
        if "error" in prepared:
            return DetectorSpeed(subject.name, subject.description, subject.kind, None, None, None, None,
                                 error=f"fitting failed: {prepared['error']}")
        folder = str(prepared["folder"])
    n_warm = options.batch_size
    pool = list(texts)
    single = pool[n_warm:n_warm + options.n_single]
    batch = pool[n_warm + options.n_single:n_warm + options.n_single + options.n_batch]
    if len(single) < options.n_single or len(batch) < options.n_batch:
        raise HarmscopeError(f"need {n_warm + options.n_single + options.n_batch} distinct prompts, "
                             f"got {len(pool)}; lower --batch/--single")
    answer = _run_child({"mode": "measure", "subject": asdict(subject), "folder": folder, "call": options.call,
                         "warm": pool[:n_warm], "single": single, "batch": batch,
                         "batch_size": options.batch_size, "budget_s": options.budget_s}, options)
    if "error" in answer:
        return DetectorSpeed(subject.name, subject.description, subject.kind, None, None, None, None,
                             error=str(answer["error"]))
    return DetectorSpeed(
        name=subject.name, description=subject.description + (f" (fitted on {options.fit_limit} pool texts)"
                                                              if folder else ""),
        kind=subject.kind, prompts_per_s=_number(answer["prompts_per_s"]), p50_ms=_number(answer["p50_ms"]),
        p99_ms=_number(answer["p99_ms"]), peak_rss_mb=_number(answer["peak_rss_mb"]),
        load_s=_number(answer["load_s"]), n_batch=int(answer["n_batch"]), n_single=int(answer["n_single"]))


def harmscope_command() -> list[str]:
    """How to start the ``harmscope`` CLI of this installation (its script beside the interpreter)."""
    script = Path(sys.executable).parent / "harmscope"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "harmscope.cli"]


def time_cli_help(runs: int = 5) -> float:
    """Median wall time (s) of ``harmscope --help`` over ``runs`` fresh processes."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*harmscope_command(), "--help"], capture_output=True, check=True, env=child_env(None))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_speed_bench(subjects: Sequence[Subject], texts: Sequence[str], options: SpeedOptions, *,
                    texts_source: str = "built-in", measure_help: bool = True,
                    serve_rss: Callable[[], float | None] | None = None,
                    on_start: Callable[[Subject], None] | None = None) -> SpeedReport:
    """Time every subject in turn (never two at once: they would share the cores), then the CLI start.

    ``serve_rss`` (e.g. :func:`harmscope.speed._serve.serve_peak_rss`) measures ``harmscope serve``.
    """
    if not subjects:
        raise HarmscopeError("nothing to time: give at least one --detector or keep the baselines")
    rows = []
    for subject in subjects:
        if on_start is not None:
            on_start(subject)
        rows.append(time_subject(subject, texts, options))
    help_s = time_cli_help() if measure_help else None
    serve = serve_rss() if serve_rss is not None else None
    load = tuple(round(x, 2) for x in os.getloadavg()) if hasattr(os, "getloadavg") else ()
    return SpeedReport(default=subjects[0].name, detectors=tuple(rows), options=options, texts=texts_source,
                       cli_help_s=help_s, serve_peak_rss_mb=serve, load_average=load)
