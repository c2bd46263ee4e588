"""Similarity banks: recall@10 of FAISS HNSW and IVF against exact search, and single-query latency, for
banks of 10k, 100k and 1M clustered synthetic 384-d unit vectors (harmscope.speed._bank_bench explains
why clustered, not uniform, vectors). A benchmark, not a test: figures depend on the machine and its load.

Run: OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bank_recall.py [--sizes 10000,100000,1000000] [--json]
     [--indexes exact,hnsw,ivf] [--queries 200] [--hnsw-m 32] [--ef-construction 80] [--ef-search 64]
     [--nprobe 32] [--detector-bank FOLDER]
--detector-bank times a saved detector's own bank instead (e.g. ~/.cache/harmscope/detectors/default: real
MiniLM vectors), with --queries of its rows held out as queries.
The 1M bank needs about 4 GB of memory and builds its HNSW graph in tens of minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys

from harmscope.detectors._bank import HnswParams, IvfParams
from harmscope.speed._bank_bench import BankBenchReport, bench_bank


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated bank sizes")
    p.add_argument("--indexes", default="exact,hnsw,ivf", help="comma-separated: exact, hnsw, ivf")
    p.add_argument("--queries", type=int, default=200, help="queries for recall and latency")
    p.add_argument("--exact-latency-queries", type=int, default=50,
                   help="single queries timed for exact search (slow on big banks)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--hnsw-m", type=int, default=HnswParams.m)
    p.add_argument("--ef-construction", type=int, default=HnswParams.ef_construction)
    p.add_argument("--ef-search", default=str(HnswParams.ef_search),
                   help="HNSW search beam; a comma list times each on the same built index (first = default)")
    p.add_argument("--nprobe", default=str(IvfParams.nprobe), help="IVF lists scanned; a comma list as above")
    p.add_argument("--detector-bank", metavar="FOLDER", default=None,
                   help="time the bank of a saved detector (its arrays.npz) instead of synthetic banks")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    efs = tuple(int(v) for v in str(args.ef_search).split(","))
    probes = tuple(int(v) for v in str(args.nprobe).split(","))
    hnsw = HnswParams(m=args.hnsw_m, ef_construction=args.ef_construction, ef_search=efs[0])
    ivf = IvfParams(nprobe=probes[0])
    sweep = {"ef_search": efs, "nprobe": probes}
    rows = []
    if args.detector_bank:
        import numpy as np

        from harmscope.speed._bank_bench import bench_vectors, held_out_split

        with np.load(f"{args.detector_bank}/arrays.npz") as arrays:
            bank, queries = held_out_split(arrays["bank_vectors"].astype(np.float32), args.queries)
        rows = bench_vectors(bank, queries, k=args.k, exact_latency_queries=args.exact_latency_queries,
                             indexes=tuple(args.indexes.split(",")), hnsw=hnsw, ivf=ivf, **sweep)
        args.sizes, args.dim = "", int(bank.shape[1])
    for size in (int(s) for s in args.sizes.split(",") if s):
        print(f"bank of {size} vectors ...", file=sys.stderr)
        done = bench_bank(size, dim=args.dim, k=args.k, n_queries=args.queries,
                          exact_latency_queries=args.exact_latency_queries,
                          indexes=tuple(args.indexes.split(",")), hnsw=hnsw, ivf=ivf, **sweep)
        for r in done:  # as they come: a 1M bank takes long
            print(f"  {r.index}: build {r.build_s:.1f} s, recall@{args.k} {r.recall_at_k:.3f}, "
                  f"p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms", file=sys.stderr)
        rows += done
    report = BankBenchReport(dim=args.dim, k=args.k, hnsw=hnsw, ivf=ivf, rows=tuple(rows))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"recall@{args.k} vs exact search, single-query latency (dim {args.dim}; "
                        f"HNSW M={hnsw.m} efC={hnsw.ef_construction} efS={hnsw.ef_search}; IVF nprobe={ivf.nprobe})")
    for name in ("bank", "index", "build s", f"recall@{args.k}", "p50 ms", "p99 ms", "queries"):
        table.add_column(name, justify="left" if name in ("index",) else "right")
    for r in rows:
        table.add_row(f"{r.n_bank:,}", r.index, f"{r.build_s:.1f}", f"{r.recall_at_k:.3f}", f"{r.p50_ms:.2f}",
                      f"{r.p99_ms:.2f}", str(r.n_queries))
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
