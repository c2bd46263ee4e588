"""`harmscope datasets`: list every registered dataset with its counts, or show one.

Prompt text is never printed unless ``--show-text`` is given (the sets hold harmful and personal text).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

MAX_CATEGORIES = 25
"""Categories listed by ``show`` before the rest are summed into one line."""


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "datasets", help="list the registered datasets with row and label counts, or show one",
        description="List every registered dataset (rows, unsafe/safe/unlabelled counts, role, license). "
        "Path-based benchmarks that are not shipped are listed as NAME: and load as NAME:PATH.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_list)
    inner = p.add_subparsers(dest="datasets_command", metavar="{show}")
    show = inner.add_parser("show", help="counts per label and category of one dataset",
                            description="Counts per label and category; example texts only with --show-text.")
    show.add_argument("name", metavar="NAME[:PATH]", help="registered name, e.g. xstest or wildguardtest:wgt.parquet")
    show.add_argument("--path", default=None, help="read a shipped set from this file or folder instead")
    show.add_argument("--n", type=int, default=5, help="example texts to print with --show-text (default 5)")
    show.add_argument("--show-text", action="store_true", help="also print a few example prompt texts")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=_show)


def _list(args: argparse.Namespace) -> int:
    from harmscope.data import list_datasets

    infos = list_datasets(count=True)
    if args.json:
        rows = [{"name": i.name, "rows": i.rows, "unsafe": i.counts.unsafe if i.counts else None,
                 "safe": i.counts.safe if i.counts else None,
                 "unlabeled": i.counts.unlabeled if i.counts else None, "role": i.role, "license": i.license,
                 "label_rule": i.label_rule, "path_based": i.path_based, "description": i.description}
                for i in infos]
        json.dump(rows, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    width = max(len(i.name) for i in infos)
    print(f"{'name':<{width}}  {'rows':>6}  {'U':>6}  {'B':>6}  {'none':>6}  {'role':<11}  license")
    for i in infos:
        if i.counts is None:
            cells = ["path" if i.path_based else "n/a"] + ["-"] * 3
        else:
            cells = [str(i.rows), str(i.counts.unsafe), str(i.counts.safe), str(i.counts.unlabeled)]
        print(f"{i.name:<{width}}  " + "  ".join(f"{c:>6}" for c in cells) + f"  {i.role:<11}  {i.license}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from collections import Counter

    from harmscope.data import dataset_info, load_dataset_with_report

    if args.n < 0:
        from harmscope.errors import HarmscopeError

        raise HarmscopeError("--n must be 0 or more")
    loaded = load_dataset_with_report(args.name, args.path)
    info = dataset_info(args.name, path=args.path)
    records = loaded.records
    labels = Counter("none" if r.label is None else r.label for r in records)
    categories = Counter(r.category or "(none)" for r in records)
    sources = Counter(r.source for r in records)
    pairs = sum(1 for r in records if r.pair_id is not None)
    if args.json:
        out: dict[str, Any] = {
            "name": args.name, "file": str(loaded.file) if loaded.file else None, "rows": len(records),
            "labels": dict(labels), "categories": dict(categories), "sources": dict(sources),
            "with_pair_id": pairs, "skipped": loaded.skipped, "repaired": loaded.repaired,
            "role": info.role, "label_rule": info.label_rule, "license": info.license,
        }
        if args.show_text:
            out["examples"] = [{"label": r.label, "category": r.category, "text": r.text} for r in records[: args.n]]
        json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    print(f"{args.name}: {info.description}")
    print(f"  file: {loaded.file}")
    print(f"  role: {info.role}; labels: {info.label_rule}; license: {info.license}")
    print(f"  rows: {len(records)}  " + "  ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    if pairs:
        print(f"  records with a pair_id: {pairs}")
    if len(sources) > 1:
        print("  parts: " + ", ".join(f"{s}={n}" for s, n in sources.items()))
    for what, counts in (("skipped", loaded.skipped), ("repaired", loaded.repaired)):
        if counts:
            print(f"  {what}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"  categories ({len(categories)}):")
    for category, n in categories.most_common(MAX_CATEGORIES):
        print(f"    {n:>6}  {category}")
    if len(categories) > MAX_CATEGORIES:
        rest = sum(n for _, n in categories.most_common()[MAX_CATEGORIES:])
        print(f"    {rest:>6}  ({len(categories) - MAX_CATEGORIES} more categories)")
    if args.show_text:
        print("  examples:")
        for r in records[: args.n]:
            text = " ".join(r.text.split())
            print(f"    [{r.label or 'none'}|{r.category or '-'}] {text[:200]}{'…' if len(text) > 200 else ''}")
    else:
        print("  (prompt text not shown; add --show-text to print a few examples)")
    return 0
