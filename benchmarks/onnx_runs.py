"""How to run a quantised ONNX encoder on 2 cores: texts/s of four ways to call onnxruntime, side by side.

A quantised export (dynamic int8) must run one text per graph run, or a text's vector depends on its batch
mates (docs/speed.md). This compares, on the same prompts and in the same process, interleaved:

- ``batched``: length-sorted padded batches of 64 on one session with 2 intra-op threads (reference
  only: its vectors depend on the batch);
- ``one-by-one``: one text per run on that 2-thread session;
- ``2 callers x 1 thread``: one text per run, two threads calling one single-threaded session side by side
  (what ``onnx:<folder>`` does for quantised exports since this benchmark);
- ``2 callers x 2 threads``: the same with the 2-thread session (the callers fight over its thread pool);
- ``2 callers x 1 thread, one tokenise``: as ``2 callers x 1 thread``, but the texts are tokenised in one
  ``encode_batch`` call and each run gets its text's unpadded ids (tried 2026-12-06: no faster, not used).

Prints the median texts/s over --repeats passes of --texts prompts, and checks that the per-text ways give
identical vectors.

Run: .venv/bin/python benchmarks/onnx_runs.py [--folder ONNX_EXPORT] [--texts 1024] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _session(model: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])


def _default_folder() -> Path:
    from harmscope.encoders.finetune import current_safety_int8

    return current_safety_int8("minilm-safety")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="an ONNX export folder (default: the default detector's minilm-safety-int8)")
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from tokenizers import Tokenizer

    from harmscope.speed._prompts import speed_texts

    folder = args.folder or _default_folder()
    texts = speed_texts(args.texts + 64)
    warm, timed = texts[:64], texts[64:]
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=256)
    two, one = _session(folder / "model.onnx", 2), _session(folder / "model.onnx", 1)
    inputs = {i.name for i in two.get_inputs()}

    def run(session: Any, batch: list[str]) -> NDArray[np.float32]:
        if len(batch) > 1:
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        encodings = tokenizer.encode_batch(batch)
        tokenizer.no_padding()
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return forward(session, ids, mask)

    def forward(session: Any, ids: NDArray[np.int64], mask: NDArray[np.int64]) -> NDArray[np.float32]:
        feed = {k: v for k, v in {"input_ids": ids, "attention_mask": mask,
                                  "token_type_ids": np.zeros_like(ids)}.items() if k in inputs}
        tokens = session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        return np.asarray((tokens * weights).sum(axis=1) / weights.sum(axis=1), dtype=np.float32)

    callers = ThreadPoolExecutor(2)

    def batched(batch: list[str]) -> NDArray[np.float32]:
        ordered = sorted(batch, key=len)  # as the encoders batch: similar lengths together, little padding
        return np.concatenate([run(two, ordered[i:i + 64]) for i in range(0, len(ordered), 64)])

    def one_by_one(batch: list[str]) -> NDArray[np.float32]:
        return np.concatenate([run(two, [t]) for t in batch])

    def side_by_side(session: Any) -> Callable[[list[str]], NDArray[np.float32]]:
        return lambda batch: np.concatenate(list(callers.map(lambda t: run(session, [t]), batch)))

    def tokenise_once(session: Any) -> Callable[[list[str]], NDArray[np.float32]]:
        def way(batch: list[str]) -> NDArray[np.float32]:
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            encodings = tokenizer.encode_batch(batch)
            tokenizer.no_padding()
            single = [(np.array([e.ids[:n]], dtype=np.int64), np.ones((1, n), dtype=np.int64))
                      for e in encodings for n in [sum(e.attention_mask)]]
            return np.concatenate(list(callers.map(lambda pair: forward(session, *pair), single)))
        return way

    ways: dict[str, Callable[[list[str]], NDArray[np.float32]]] = {
        "batched (64, 2 threads)": batched, "one-by-one (2 threads)": one_by_one,
        "2 callers x 1 thread": side_by_side(one), "2 callers x 2 threads": side_by_side(two),
        "2 callers x 1 thread, one tokenise": tokenise_once(one)}
    rates: dict[str, list[float]] = {name: [] for name in ways}
    vectors: dict[str, NDArray[np.float32]] = {}
    for way in ways.values():
        way(warm)
    for _ in range(args.repeats):
        for name, way in ways.items():
            start = time.perf_counter()
            vectors[name] = way(timed)
            rates[name].append(len(timed) / (time.perf_counter() - start))
    print(f"{folder.name}: {len(timed)} prompts x {args.repeats} passes, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, values in rates.items():
        print(f"  {name:<36} {statistics.median(values):7.0f} texts/s  (passes: "
              f"{', '.join(f'{v:.0f}' for v in values)})")
    per_text = [vectors[n] for n in ways if n != "batched (64, 2 threads)"]
    same = all(np.array_equal(per_text[0], v) for v in per_text[1:])
    print(f"  per-text ways give identical vectors: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
