"""Encoder throughput on mixed-length prompts: batches in input order vs sorted by length (what BatchedEncoder does).

Run: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/encode_batch_order.py
"""
import random
import time

from harmscope.data import load_dataset
from harmscope.encoders import get_encoder

texts = [r.text for n in ("inthewild_jailbreak", "do_not_answer", "arena_hard", "convabuse") for r in load_dataset(n)]
random.Random(0).shuffle(texts); texts = list(dict.fromkeys(texts))[:1200]
enc = get_encoder("minilm", use_cache=False); enc.encode(["warm"])
for name, order in (("input order", texts), ("sorted by length", sorted(texts, key=len))):
    t = time.perf_counter()
    for i in range(0, len(order), 32): enc._encode_batch(order[i:i+32])
    print(f"{name}: {len(order)/(time.perf_counter()-t):.1f} texts/s")
