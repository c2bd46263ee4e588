"""Benchmark suites as data: which registered sets ``harmscope bench --suite NAME`` scores, and in what role.

A :class:`SuiteEntry` names one evaluation row. Its ``datasets`` are registered dataset names (see
``docs/datasets.md``) or a derived set from :data:`DERIVED_SETS`; several names are combined into one
row (e.g. CoCoNot's contrast prompts + its safety-concern requests form one two-class set). The role
is checked against the loaded labels, so a suite cannot silently score the wrong thing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harmscope.errors import HarmscopeError, UnknownNameError
from harmscope.evaluation import EvalSet, Role
from harmscope.types import PromptRecord

__all__ = ["DERIVED_SETS", "DEV_SUITE", "SUITES", "SuiteEntry", "get_suite", "load_entry", "load_suite"]


@dataclass(frozen=True)
class SuiteEntry:
    """One row of a suite."""

    name: str
    """Row name in tables and JSON."""
    datasets: tuple[str, ...]
    """Registered dataset names (or :data:`DERIVED_SETS` names) whose records are concatenated."""
    role: Role
    """``two-class`` (F1 is the headline), ``unsafe-only`` (recall) or ``benign-only`` (FPR)."""
    note: str = ""
    """What the row measures, for the report."""


DERIVED_SETS: Mapping[str, str] = {
    "alpaca_sample": "harmscope.data._samples:alpaca_sample",
}
"""Sets that are not registered datasets but fixed functions of one (``name -> "module:attr"``; the
function takes no argument). ``alpaca_sample``: 500 benign Alpaca instructions drawn with seed 0 from
``refusal_direction_splits/harmless_test``; the training pool leaves the same sample out."""

DEV_SUITE: tuple[SuiteEntry, ...] = (
    # Two-class: unsafe prompts next to safe look-alikes (over-refusal traps).
    SuiteEntry("xstest", ("xstest",), "two-class", "250 safe prompts that look unsafe + 200 unsafe contrasts"),
    SuiteEntry("jbb_behaviors", ("jbb_behaviors",), "two-class", "JailbreakBench: 100 harmful goals, "
               "100 benign goals on the same topics"),
    SuiteEntry("do_not_answer_fp_fn", ("do_not_answer_fp_fn",), "two-class",
               "Do-Not-Answer false-positive (safe) and false-negative (unsafe) prompts"),
    SuiteEntry("coconot_contrast_vs_safety", ("coconot/contrast", "coconot/safety_concerns"), "two-class",
               "CoCoNot contrast prompts (should comply) vs requests with safety concerns"),
    SuiteEntry("physical_safety", ("safety_tuned_llamas/physical_safety",), "two-class",
               "PhysicalSafety: 100 unsafe / 100 safe paired instructions"),
    # Unsafe-only: recall.
    SuiteEntry("harmbench/standard", ("harmbench/standard",), "unsafe-only", "HarmBench standard behaviours"),
    SuiteEntry("harmbench/contextual", ("harmbench/contextual",), "unsafe-only",
               "HarmBench behaviours with a context passage"),
    SuiteEntry("simplesafetytests", ("simplesafetytests",), "unsafe-only", "SimpleSafetyTests"),
    SuiteEntry("strongreject", ("strongreject",), "unsafe-only", "StrongREJECT forbidden prompts"),
    SuiteEntry("sorry_bench", ("sorry_bench",), "unsafe-only", "SORRY-Bench base prompts (45 categories)"),
    SuiteEntry("ailuminate_demo", ("ailuminate_demo",), "unsafe-only", "AILuminate demo prompts"),
    SuiteEntry("jbb_artifacts", ("jbb_artifacts",), "unsafe-only",
               "JailbreakBench jailbreak artifacts (PAIR + random search)"),
    SuiteEntry("inthewild_jailbreak", ("inthewild_jailbreak",), "unsafe-only", "in-the-wild jailbreak prompts"),
    # Benign-only: false-positive rate.
    SuiteEntry("oktest", ("oktest",), "benign-only", "OKTest: safe prompts with trigger words"),
    SuiteEntry("alpaca_eval", ("alpaca_eval",), "benign-only", "AlpacaEval instructions"),
    SuiteEntry("alpaca_sample", ("alpaca_sample",), "benign-only",
               "500 Alpaca instructions (seed 0) from refusal_direction_splits/harmless_test"),
)

SUITES: Mapping[str, tuple[SuiteEntry, ...]] = {"dev": DEV_SUITE}

Loader = Callable[[str], Sequence[PromptRecord]]


def get_suite(name: str) -> tuple[SuiteEntry, ...]:
    """The entries of a named suite; UnknownNameError lists the suites."""
    if name not in SUITES:
        raise UnknownNameError("suite", name, sorted(SUITES))
    return SUITES[name]


def _default_load(name: str) -> Sequence[PromptRecord]:
    if name in DERIVED_SETS:
        module_name, _, attr = DERIVED_SETS[name].partition(":")
        records: Sequence[PromptRecord] = getattr(importlib.import_module(module_name), attr)()
        return records
    from harmscope.data import load_dataset

    return load_dataset(name)


def load_entry(entry: SuiteEntry, *, load: Loader | None = None) -> EvalSet:
    """Load and concatenate the records of ``entry`` (``load`` maps a name to records; tests pass one)."""
    if not entry.datasets:
        raise HarmscopeError(f"suite entry {entry.name!r} names no dataset")
    loader = load or _default_load
    records: list[PromptRecord] = []
    for name in entry.datasets:
        records.extend(loader(name))
    return EvalSet(entry.name, records, entry.role)


def load_suite(name: str, *, load: Loader | None = None) -> list[EvalSet]:
    """Every entry of the suite ``name``, loaded (all before any scoring, so a missing file fails fast)."""
    return [load_entry(entry, load=load) for entry in get_suite(name)]
