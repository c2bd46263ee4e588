"""`harmscope analyze "prompt"`: SafetyAnalyst verdict with its harm-benefit tree and each effect's
contribution, offline (the ``taxonomy`` tree generator on sentence embeddings).

Uses a fitted SafetyAnalyst detector from the cache (``cache_dir("detectors", "safety-analyst")``) or
``--detector FOLDER``; the cached one is fitted on first use (or with ``--fit``). ``--policy FILE`` steers
the weights and threshold without refitting. The prompt is never printed unless ``--show-text``.
Only the standard library is imported at module level.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "analyze", help="SafetyAnalyst verdict for one prompt, with its harm-benefit tree",
        description="Classify one prompt with the SafetyAnalyst detector (offline: predicted harm-benefit "
        "trees) and print the tree with each effect's contribution to the score. The first run fits the "
        "detector on the training-side datasets (about a minute with minilm) and caches it.")
    p.add_argument("prompt", nargs="?", default=None, help="the prompt to analyze (quote it)")
    p.add_argument("--policy", type=Path, default=None, metavar="FILE",
                   help="policy YAML that changes named weights or the threshold (no refit)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: verdict, score, threshold, contributions, ...")
    p.add_argument("--detector", type=Path, default=None, metavar="PATH",
                   help="folder of a saved SafetyAnalyst detector (default: the cached one)")
    p.add_argument("--fit", action="store_true",
                   help="(re)fit the detector on the training-side datasets and save it first")
    p.add_argument("--representation", default="minilm", metavar="ENCODER",
                   help="encoder id used when fitting (default minilm)")
    p.add_argument("--show-text", action="store_true", help="also print the prompt text")
    p.set_defaults(func=run)


def _default_folder() -> Path:
    from harmscope._paths import cache_dir

    return cache_dir("detectors") / "safety-analyst"


def _detector(args: argparse.Namespace) -> Any:
    from harmscope.detectors._io import META_FILE
    from harmscope.detectors.harm_benefit._detector import SafetyAnalystDetector, fit_default_detector
    from harmscope.errors import HarmscopeError

    folder: Path = args.detector or _default_folder()
    if args.fit or (args.detector is None and not (folder / META_FILE).is_file()):
        if not args.fit:
            print(f"harmscope: no fitted SafetyAnalyst detector in {folder}; fitting one now", file=sys.stderr)
        detector = fit_default_detector(args.representation)
        detector.save(folder)
        print(f"harmscope: saved the fitted detector to {folder}", file=sys.stderr)
        return detector
    if not (folder / META_FILE).is_file():
        raise HarmscopeError(f"--detector {folder}: no saved detector there; pass a folder written by "
                             "detector.save(), or add --fit to fit one into it")
    return SafetyAnalystDetector.load(folder)


def run(args: argparse.Namespace) -> int:
    from harmscope.errors import HarmscopeError

    prompt = args.prompt
    if prompt is None and not args.fit:
        raise HarmscopeError('give the prompt to analyze: harmscope analyze "your prompt"')
    if prompt is not None and not prompt.strip():
        raise HarmscopeError('the prompt is empty; give the text to analyze in quotes: harmscope analyze "..."')
    detector = _detector(args)
    if prompt is None:
        return 0
    from harmscope.detectors.harm_benefit._detector import SafetyAnalystDetector
    from harmscope.detectors.harm_benefit._policy import load_policy

    if not isinstance(detector, SafetyAnalystDetector):
        raise HarmscopeError(f"{args.detector} holds a {type(detector).__name__}, not a SafetyAnalyst detector")
    policy_name = ""
    if args.policy is not None:
        policy_name = load_policy(args.policy).name or str(args.policy)
        detector.set_params(policy=str(args.policy))
    explanation = detector.explain([prompt])[0]
    if args.json:
        print(json.dumps(_json(explanation, policy_name, prompt if args.show_text else None), indent=2))
    else:
        _print_rich(explanation, policy_name, prompt if args.show_text else None)
    return 0


def _json(e: Any, policy: str, prompt: str | None) -> dict[str, Any]:
    out: dict[str, Any] = e.analysis.to_json()
    out.update({
        "p_unsafe": e.score,
        "detector_threshold": e.threshold,
        "category": e.category.category,
        "air_categories": [{"category": c, "probability": q} for c, q in e.signals.categories],
        "p_unsafe_gate": e.signals.p_unsafe,
        "generator": "taxonomy",
        "policy": policy or None,
        "tree": e.tree.to_records(),
    })
    if prompt is not None:
        out["prompt"] = prompt
    return out


def _print_rich(e: Any, policy: str, prompt: str | None) -> None:
    from rich.console import Console

    from harmscope.detectors.harm_benefit._render import render_tree

    console = Console()
    if prompt is not None:
        console.print("prompt:", prompt, markup=False, highlight=False)
    console.print(render_tree(e.tree, e.analysis))
    cats = ", ".join(f"{c} {q:.2f}" for c, q in e.signals.categories[:3])
    console.print(f"P(unsafe) {e.score:.3f} (detector threshold {e.threshold:g}); gate {e.signals.p_unsafe:.3f}; "
                  f"AIR categories: {cats}", markup=False, highlight=False)
    console.print("trees are predicted offline from embeddings (taxonomy generator), not written by an LLM"
                  + (f"; policy: {policy}" if policy else ""), style="dim", markup=False, highlight=False)
