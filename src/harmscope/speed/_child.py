"""The measuring child of ``bench-speed``: one fresh process per detector, so peak memory is its own.

Run as ``python -m harmscope.speed._child`` with one JSON request on stdin; prints one JSON answer on
the last line of stdout. ``{"mode": "prepare", ...}`` fits a spec detector and saves it;
``{"mode": "measure", ...}`` loads a scorer and times it:

1. load (``load_s``: building the scorer and its first call, which loads lazily loaded models);
2. warm-up: one batch and a few single calls (allocator growth, caches);
3. single-prompt latency: one text per call, each text new (p50/p99 over ``single`` calls, or as many
   as fit in ``budget_s``);
4. batch throughput: ``batch`` texts in batches of ``batch_size`` (or as many batches as fit in
   ``budget_s``, at least one), prompts/s;
5. peak RSS (``ru_maxrss``) of this process.

The embedding cache is off throughout (a repeated prompt would otherwise time a cache hit).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from typing import Any


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """Time one scorer as described in the module doc; a JSON-ready dict."""
    from harmscope.encoders import embedding_cache_disabled
    from harmscope.speed._subjects import Subject, load_scorer

    subject = Subject(**request["subject"])
    single: list[str] = request["single"]
    batch: list[str] = request["batch"]
    batch_size = int(request["batch_size"])
    budget = float(request["budget_s"])
    warm: list[str] = request["warm"]
    with embedding_cache_disabled():
        start = time.perf_counter()
        scorer = load_scorer(subject, request["call"], request.get("folder"))
        scorer(warm[:1])  # models load lazily, on the first call: that is part of loading
        load_s = time.perf_counter() - start
        scorer(warm[:batch_size])
        for text in warm[1:4]:
            scorer([text])
        latencies: list[float] = []
        phase = time.perf_counter()
        for text in single:
            t = time.perf_counter()
            scorer([text])
            latencies.append((time.perf_counter() - t) * 1000.0)
            if time.perf_counter() - phase > budget and len(latencies) >= 5:
                break
        done = 0
        phase = time.perf_counter()
        for i in range(0, len(batch), batch_size):
            chunk = batch[i:i + batch_size]
            scorer(chunk)
            done += len(chunk)
            if time.perf_counter() - phase > budget:
                break
        batch_s = time.perf_counter() - phase
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"load_s": load_s, "p50_ms": _percentile(latencies, 50), "p99_ms": _percentile(latencies, 99),
            "n_single": len(latencies), "prompts_per_s": done / batch_s if batch_s > 0 else float("nan"),
            "n_batch": done, "batch_s": batch_s, "peak_rss_mb": peak_kb / 1024.0}


def main() -> int:
    warnings.filterwarnings("ignore")  # the baselines' pickles warn about scikit-learn versions
    request = json.loads(sys.stdin.read())
    try:
        if request["mode"] == "prepare":
            from harmscope.speed._subjects import Subject, prepare

            folder = prepare(Subject(**request["subject"]), int(request["fit_limit"]), refit=bool(request["refit"]))
            answer: dict[str, Any] = {"folder": str(folder)}
        else:
            answer = measure(request)
    except Exception as error:  # noqa: BLE001  (reported in the parent's table, one line)
        answer = {"error": f"{type(error).__name__}: {error}".splitlines()[0][:300]}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
