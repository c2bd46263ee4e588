"""`harmscope fit`: build the default detector from the shipped data into the cache.

Builds (or reads the cached) training pool, fits the detector spec on ``pool.train``, picks the threshold
on ``pool.val`` and saves detector + ``manifest.json`` atomically. Only stdlib at top level.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

PRESET_NAMES = ("fast", "accurate")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "fit", help="build the default detector from the shipped training data (into the cache)",
        description="Fit a detector on the training pool (built from ../shared/data, never from evaluation "
        "sets), choose its threshold on the pool's validation split and save it; `moderate`, `bench` and "
        "Guard('default') then use it.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--detector", metavar="SPEC", default=None,
                       help="detector type or JSON spec, e.g. probe-lr or "
                       "'{\"type\": \"knn\", \"params\": {\"k\": 20}}' (default: the 'fast' preset)")
    # The names are spelled out here (not read from harmscope.detectors.PRESETS) to keep --help stdlib-only;
    # a test checks that they agree.
    which.add_argument("--preset", choices=PRESET_NAMES, default=None,
                       help="a named spec: 'fast' (the default: kNN on minilm-safety-int8) or 'accurate' "
                       "(the same kNN on mpnet-safety-int8: better ranking, a fraction of the speed; "
                       "docs/speed.md)")
    p.add_argument("--out", type=Path, metavar="DIR", default=None,
                   help="save here instead of the default location (cache_dir/detectors/default)")
    p.add_argument("--force", action="store_true",
                   help="refit and replace an existing detector (of the same preset, unless --preset)")
    p.add_argument("--threshold-method", choices=("max_f1", "target_fpr"), default="max_f1",
                   help="max_f1 (default): best F1 on validation; target_fpr: the FPR on realistic benign "
                   "traffic (ToxicChat train-split validation rows) stays within --target-fpr")
    p.add_argument("--target-fpr", type=float, default=0.05, metavar="RATE",
                   help="false-positive budget for --threshold-method target_fpr (default 0.05)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON on stdout")
    p.set_defaults(func=run_fit)


def _parse_spec(text: str | None) -> Any:

    if text is None:
        return None
    from harmscope.cli._specs import parse_detector_spec

    return parse_detector_spec(text)


def _say(message: str) -> None:
    print(f"harmscope fit: {message}", file=sys.stderr, flush=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def run_fit(args: argparse.Namespace) -> int:
    from harmscope.data import build_pool
    from harmscope.detectors._default import (
        PRESETS,
        default_dir,
        fit_and_validate,
        pool_hash,
        read_manifest,
        save_default,
    )
    from harmscope.errors import HarmscopeError

    if not 0.0 <= args.target_fpr <= 1.0:
        raise HarmscopeError(f"--target-fpr must be in [0, 1], got {args.target_fpr}")
    target: Path = args.out if args.out is not None else default_dir()
    # Without --detector the spec is a preset's: --preset, else the one the saved detector was built
    # from, else 'fast'. A saved detector of another spec (an upgrade changed the preset, or another
    # was asked for) or pool is stale and refitted. An explicit --detector never replaces an existing
    # detector without --force.
    managed = args.detector is None
    manifest: dict[str, Any] | None = None
    if target.exists():
        if target.is_dir() and (target / "manifest.json").is_file():
            try:
                manifest = read_manifest(target)
            except HarmscopeError:
                if not args.force:
                    raise
        elif not args.force:
            raise HarmscopeError(f"{target} exists and is not a saved default detector; choose another --out "
                                 "or pass --force to replace it")
    saved_preset = (manifest or {}).get("preset")
    preset = args.preset or (saved_preset if saved_preset in PRESETS else "fast")
    wanted = PRESETS[preset] if managed else _parse_spec(args.detector)
    started = time.perf_counter()
    _say("building the training pool (cached after the first run) ...")
    pool = build_pool()  # once: for the staleness check below and for the fit
    if manifest is not None and not args.force:
        if managed and manifest.get("spec") != json.loads(json.dumps(wanted)):
            _say(f"the detector at {target} was fitted from {json.dumps(manifest.get('spec'))}, not the "
                 f"'{preset}' preset; refitting")
        elif managed and manifest.get("pool_hash") != pool_hash(pool):
            _say(f"the detector at {target} was fitted on another training pool (its data changed); refitting")
        else:
            _say(f"a detector already exists at {target} ({manifest.get('type')}, threshold "
                 f"{manifest.get('threshold'):.3f}, validation F1 {manifest['validation']['f1']:.3f}); "
                 "use --force to refit")
            if args.json:
                print(json.dumps(manifest, indent=2))
            return 0
    spec = wanted
    n_tr_u = sum(e.y for e in pool.train)
    n_va_u = sum(e.y for e in pool.val)
    _say(f"pool: {len(pool.train)} train ({n_tr_u} unsafe), {len(pool.val)} validation ({n_va_u} unsafe) "
         f"in {time.perf_counter() - started:.0f}s")
    shown = json.dumps(spec)
    _say(f"fitting {shown} on the train split, choosing the threshold ({args.threshold_method}) on validation ...")
    fit = fit_and_validate(spec, pool=pool, threshold_method=args.threshold_method, target_fpr=args.target_fpr)
    if managed:
        fit = dataclasses.replace(fit, preset=preset)
    path = save_default(fit, target, force=True)
    v = fit.validation
    ref = (f"; FPR on {'+'.join(v.reference_sources)} benign validation rows {_fmt(v.reference_fpr)} "
           f"(n={v.reference_n_safe})" if v.reference_sources else "")
    _say(f"validation (n={v.n}, {v.n_unsafe} unsafe) at threshold {v.threshold:.3f}: F1 {v.f1:.3f}, "
         f"precision {v.precision:.3f}, recall {v.recall:.3f}, FPR {_fmt(v.fpr)}, AUPRC {_fmt(v.auprc)}{ref}")
    _say(f"saved to {path} in {time.perf_counter() - started:.0f}s total")
    if args.json:
        print(json.dumps(fit.manifest(), indent=2))
    return 0
