"""A 3-layer student of ``minilm-safety``: does a cheaper encoder keep the default's quality?

The default's batch throughput sits at the 300 prompts/s target (docs/speed.md), ~85% of it in the
6-layer int8 encoder. This builds a layer-reduced copy of the current ``minilm-safety`` build (its
embeddings and the transformer layers in ``--keep``), trains it to reproduce the teacher's sentence
vectors (mean-squared error, the sentence-transformers layer-reduction recipe) on the training pool's
train split only, saves it as a sentence-transformers folder and exports it to int8 ONNX. Score it with

    .venv/bin/python benchmarks/dev_matrix.py --detectors knn --representations onnx:<out>-int8 \
        --params '{"k": 80, "temperature": 0.02}'

and time it with ``benchmarks/onnx_runs.py --folder <out>-int8``.

Run: .venv/bin/python benchmarks/distill_student.py --out /tmp/minilm-safety-l3 [--keep 1,3,5] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the student (and <out>-int8)")
    parser.add_argument("--keep", default="1,3,5", help="teacher layers the student keeps (0-based)")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    from harmscope._progress import progress
    from harmscope.data import build_pool
    from harmscope.encoders._onnx_export import export_onnx
    from harmscope.encoders.finetune import current_safety_encoder

    torch.manual_seed(args.seed)
    teacher_folder, key = current_safety_encoder("minilm-safety")
    texts = sorted({e.text for e in build_pool().train})
    teacher = SentenceTransformer(str(teacher_folder), device="cpu", local_files_only=True)
    teacher.max_seq_length = args.max_seq_length
    start = time.perf_counter()
    targets = torch.tensor(teacher.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=True))
    teacher_seconds = time.perf_counter() - start
    del teacher

    student = SentenceTransformer(str(teacher_folder), device="cpu", local_files_only=True)
    student.max_seq_length = args.max_seq_length
    keep = [int(i) for i in args.keep.split(",")]
    bert: Any = student[0].auto_model
    bert.encoder.layer = torch.nn.ModuleList([bert.encoder.layer[i] for i in keep])
    bert.config.num_hidden_layers = len(keep)
    optimizer = torch.optim.AdamW(student.parameters(), lr=args.learning_rate, weight_decay=0.01)
    order = list(range(len(texts)))
    rng = random.Random(args.seed)
    steps_per_epoch = -(-len(texts) // args.batch_size)
    total = int(steps_per_epoch * args.epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1.0 - s / total))
    batches: list[list[int]] = []
    while len(batches) < total:
        rng.shuffle(order)
        batches.extend(order[i:i + args.batch_size] for i in range(0, len(order), args.batch_size))
    tokenize = getattr(student, "preprocess", None) or student.tokenize
    student.train()
    losses: list[float] = []
    start = time.perf_counter()
    for batch in progress(batches[:total], total=total, desc="distil", unit="step"):
        features = tokenize([texts[i] for i in batch])
        loss = torch.nn.functional.mse_loss(student(features)["sentence_embedding"], targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    train_seconds = time.perf_counter() - start
    student.eval()
    student.max_seq_length = 256
    student.save(str(args.out))
    tail = losses[-50:]
    summary = {"teacher": teacher_folder.name, "teacher_key": key, "keep": keep, "texts": len(texts),
               "steps": total, "epochs": args.epochs, "learning_rate": args.learning_rate,
               "max_seq_length": args.max_seq_length, "teacher_encode_s": round(teacher_seconds, 1),
               "train_s": round(train_seconds, 1), "final_mse": sum(tail) / len(tail)}
    (args.out / "distill.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    export_onnx(args.out, args.out.with_name(args.out.name + "-int8"), quantize=True)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
