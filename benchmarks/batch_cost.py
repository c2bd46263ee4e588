"""Cost growth of `harmscope moderate-batch`: wall time and peak memory at growing input sizes.

Writes synthetic prompt files (templated sentences made up here, no dataset rows) of each size, runs
`harmscope moderate-batch` on each as a subprocess and samples the memory of its whole process tree
(for Ray: the driver, GCS, raylet and every worker) with psutil. Peak RSS adds up each process's
resident memory (shared pages counted once per process, so it over-counts); peak PSS shares them out
(the fair total). Prints a table, or JSON with --json.

Run (the tables in docs/batch.md):
  harmscope fit --detector '{"type": "knn", "params": {"representation": "hashing"}}' --out /tmp/knn-hashing
  .venv/bin/python benchmarks/batch_cost.py --sizes 1000,10000 --detector default
  .venv/bin/python benchmarks/batch_cost.py --sizes 1000,10000,100000 --detector /tmp/knn-hashing
  .venv/bin/python benchmarks/batch_cost.py --sizes 10000,100000,1000000 --engine ray --detector /tmp/knn-hashing
  .venv/bin/python benchmarks/batch_cost.py --cache-cost 20000    # what the SQLite embedding cache costs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SUBJECTS = ["my neighbour", "a coworker", "my landlord", "the school", "my bank", "a stranger online",
            "my sister", "our team", "the city council", "a small shop"]
ASKS = ["How do I {verb} {obj} without {subject} noticing?", "Can you explain how to {verb} {obj} for {subject}?",
        "Write a short guide on how to {verb} {obj}, as {subject} asked.",
        "What is the fastest way to {verb} {obj} before {subject} finds out?",
        "Give me step by step instructions to {verb} {obj} at home with {subject}."]
VERBS = ["fix", "clean", "break into", "paint", "track", "copy", "bake", "poison", "repair", "hide", "sell",
         "photograph", "unlock", "grow", "destroy", "translate"]
OBJECTS = ["the front door", "a birthday cake", "their email account", "the garden fence", "a car engine",
           "the wifi router", "a family recipe", "their medical records", "an old bicycle", "a bank card",
           "the heating system", "a phone", "the security camera", "a wedding speech"]
TAILS = ["", " Please be detailed.", " Keep it short.", " It is for a story I am writing.",
         " I have no experience with this.", " Answer in bullet points."]


def synthetic_prompt(rng: random.Random, i: int) -> str:
    """One made-up prompt; the number makes every prompt unique (no duplicate to dedupe or cache)."""
    text = rng.choice(ASKS).format(verb=rng.choice(VERBS), obj=rng.choice(OBJECTS), subject=rng.choice(SUBJECTS))
    return f"{text}{rng.choice(TAILS)} (ticket {i})"


def write_prompts(path: Path, n: int, seed: int) -> Path:
    if path.exists():
        return path
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"t{i}", "text": synthetic_prompt(rng, i)}) + "\n")
    tmp.rename(path)
    return path


@dataclass(frozen=True)
class Measurement:
    rows: int
    engine: str
    detector: str
    wall_seconds: float
    job_seconds: float
    """Scoring loop only (from the command's --json summary): wall minus start-up (imports, detector
    load, Ray start)."""
    rows_per_second: float
    peak_rss_mb: float
    peak_pss_mb: float
    max_processes: int
    output_mb: float


def _tree_memory(root: Any) -> tuple[float, float, int]:
    import psutil

    rss = pss = 0.0
    procs = [root, *root.children(recursive=True)]
    for p in procs:
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20, len(procs)


def run_one(prompts: Path, out: Path, *, rows: int, engine: str, detector: str, chunk_size: int,
            extra: list[str], interval: float) -> Measurement:
    import psutil

    cmd = [sys.executable, "-m", "harmscope.cli", "moderate-batch", "--input", str(prompts), "--output", str(out),
           "--detector", detector, "--engine", engine, "--chunk-size", str(chunk_size), "--overwrite", "--json",
           *extra]
    env = {**os.environ, "HARMSCOPE_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0.0, 0.0, 0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                rss, pss, n = _tree_memory(root)
            except psutil.NoSuchProcess:
                break
            peak[0], peak[1], peak[2] = max(peak[0], rss), max(peak[1], pss), max(int(peak[2]), n)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"moderate-batch failed ({proc.returncode}): {stderr.strip()[-2000:]}")
    summary = json.loads(stdout)
    size = sum(p.stat().st_size for p in out.iterdir()) if out.is_dir() else out.stat().st_size
    return Measurement(rows=rows, engine=engine, detector=detector, wall_seconds=round(wall, 1),
                       job_seconds=summary["seconds"], rows_per_second=summary["rows_per_second"],
                       peak_rss_mb=round(peak[0]), peak_pss_mb=round(peak[1]), max_processes=int(peak[2]),
                       output_mb=round(size / 2**20, 2))


def cache_cost(n: int) -> dict[str, float]:
    """Time and disk of the embedding cache for ``n`` unique prompts, as a batch job would use it (a
    lookup per chunk of 1,000 that misses, then a write per encoder batch of 32), with random 384-d
    vectors (MiniLM's width) in a fresh cache folder: the cache's own cost, without any encoder."""
    import numpy as np

    folder = Path(tempfile.mkdtemp(prefix="harmscope-cache-cost-"))
    os.environ["HARMSCOPE_CACHE"] = str(folder)
    from harmscope.encoders._cache import EmbeddingCache

    cache = EmbeddingCache("minilm-cost")
    texts = [f"synthetic prompt {i}" for i in range(n)]
    vectors = np.random.default_rng(0).standard_normal((n, 384)).astype(np.float32)
    start = time.perf_counter()
    for i in range(0, n, 1000):
        chunk = texts[i:i + 1000]
        cache.get_many(chunk)
        for j in range(0, len(chunk), 32):
            cache.put_many(dict(zip(chunk[j:j + 32], vectors[i + j:i + j + 32])))
    seconds = time.perf_counter() - start
    cache.close()
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return {"prompts": n, "ms_per_prompt": round(seconds / n * 1e3, 3), "bytes_per_prompt": round(disk / n)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated row counts")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument("--detector", default="default", help="as for moderate-batch (default, a folder, a spec)")
    p.add_argument("--chunk-size", type=int, default=1000)
    p.add_argument("--workdir", type=Path, default=None, help="where prompt files and outputs go "
                   "(default: a temporary folder; prompt files are reused when present)")
    p.add_argument("--seed", type=int, default=0, help="prompt generator seed")
    p.add_argument("--interval", type=float, default=0.5, help="memory sampling interval in seconds")
    p.add_argument("--extra", default="", help="extra moderate-batch arguments, space-separated")
    p.add_argument("--cache-cost", type=int, default=None, metavar="N",
                   help="instead: measure the SQLite embedding cache for N unique prompts")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.cache_cost is not None:
        print(json.dumps(cache_cost(args.cache_cost)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="harmscope-batch-cost-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        prompts = write_prompts(workdir / f"prompts-{n}-seed{args.seed}.jsonl", n, args.seed)
        out = workdir / f"out-{n}-{args.engine}.parquet"
        m = run_one(prompts, out, rows=n, engine=args.engine, detector=args.detector, chunk_size=args.chunk_size,
                    extra=args.extra.split(), interval=args.interval)
        results.append(m)
        if not args.json:
            print(f"{m.rows:>9,} rows  {m.engine:<5}  wall {m.wall_seconds:>8.1f} s  job {m.job_seconds:>8.1f} s  "
                  f"{m.rows_per_second:>8.1f} rows/s  peak RSS {m.peak_rss_mb:>6.0f} MB  "
                  f"PSS {m.peak_pss_mb:>6.0f} MB  ({m.max_processes} processes)  output {m.output_mb} MB",
                  flush=True)
    if args.json:
        print(json.dumps([asdict(m) for m in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
