"""One report over several encoders: every Safe-Embed task, next to the paper's published numbers.

``run_safe_embed_report`` writes into a folder:

- ``report.md``: tables with encoders as columns (and the paper's columns where it published numbers);
- ``challenging_heatmap.png``: XSTest types × encoders, like the paper's figure;
- ``taxonomy_tsne_<encoder>.png``: t-SNE of the Do-Not-Answer prompts coloured by harm type;
- ``results.json``: every number, for machines.

No prompt text is written, only aggregate numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmscope._progress import progress
from harmscope.analysis import (
    AVG_SIM_DATASETS,
    CHALLENGING_DATASET,
    CONTRAST_SETS,
    DEFAULT_AVG_SIM_PROMPTS,
    TAXONOMY_DATASET,
    AvgSim,
    ChallengingHeatmapDisplay,
    ChallengingResult,
    ContrastResult,
    EmbeddingScatterDisplay,
    TaxonomyResult,
    compute_avg_sim,
    paper_name,
    paper_numbers,
    resolve_avg_sim,
    run_challenging,
    run_contrast,
    run_taxonomy,
)
from harmscope.encoders import Encoder
from harmscope.errors import HarmscopeError
from harmscope.types import PromptRecord

__all__ = ["EncoderReport", "SafeEmbedReport", "render_markdown", "run_safe_embed_report"]

REFERENCE_PAPER_ENCODER = "SBERT-all"
"""Shown in every comparison, even when no requested encoder is in the paper (it is our ``mpnet``)."""


@dataclass(frozen=True)
class EncoderReport:
    """All task results for one encoder."""

    name: str
    """The encoder name as requested (``minilm``), used as the column header."""
    avg_sim: AvgSim
    challenging: ChallengingResult
    taxonomy: TaxonomyResult
    contrast: dict[str, ContrastResult]
    skipped: dict[str, str] = field(default_factory=dict)
    """Contrast set -> why it was skipped (its data is not available)."""

    def to_json(self) -> dict[str, Any]:
        return {"encoder": self.name, "encoder_id": self.challenging.encoder, "avg_sim": self.avg_sim.to_json(),
                "challenging": self.challenging.to_json(), "taxonomy": self.taxonomy.to_json(),
                "contrast": {s: r.to_json() for s, r in self.contrast.items()}, "skipped": dict(self.skipped)}


@dataclass(frozen=True)
class SafeEmbedReport:
    encoders: tuple[EncoderReport, ...]
    k: int
    avg_sim_spec: str
    files: tuple[str, ...]
    """Files written, relative to the output folder."""

    def to_json(self) -> dict[str, Any]:
        paper = paper_numbers()
        return {"k": self.k, "avg_sim_spec": self.avg_sim_spec,
                "encoders": {e.name: e.to_json() for e in self.encoders},
                "paper": {"citation": paper.citation, "avg_sim": paper.avg_sim, "avg_sim_source": paper.avg_sim_source,
                          "challenging": paper.challenging, "challenging_source": paper.challenging_source},
                "files": list(self.files)}


def run_safe_embed_report(encoders: Sequence[str], out: Path | str, *, avg_sim: str = "compute", k: int = 10,
                          seed: int = 0, contrast_sets: Sequence[str] = tuple(CONTRAST_SETS), plots: bool = True,
                          avg_sim_prompts: int = DEFAULT_AVG_SIM_PROMPTS,
                          build: Callable[[str], Encoder] | None = None,
                          load: Callable[[str], Sequence[PromptRecord]] | None = None) -> SafeEmbedReport:
    """Run every task for every encoder and write the report files into ``out``.

    ``avg_sim`` is the ``--avg-sim`` spec applied to each encoder (``compute``, ``paper``,
    ``prefer-paper`` or a number). A contrast set whose data is missing is skipped and noted, so the
    report still appears; any other failure stops the run. ``build`` turns a name into an encoder
    (default :func:`harmscope.encoders.get_encoder`) and ``load`` a dataset name into records (default
    :func:`harmscope.data.load_dataset`); tests pass in-memory stand-ins.
    """
    if not encoders:
        raise HarmscopeError("no encoders given; pass --encoders a,b,c")
    unknown = [s for s in contrast_sets if s not in CONTRAST_SETS]
    if unknown:
        raise HarmscopeError(f"unknown contrast sets {unknown}; known: {', '.join(CONTRAST_SETS)}")
    if build is None:
        from harmscope.encoders import get_encoder

        build = get_encoder
    if load is None:
        from harmscope.data import load_dataset

        load = load_dataset
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    results: list[EncoderReport] = []
    files: list[str] = []
    for name in progress(list(encoders), total=len(encoders), desc="encoders", unit="encoder"):
        encoder = build(name)
        if avg_sim == "compute" or (avg_sim == "prefer-paper" and paper_name(name) is None):
            pools = [[r.text for r in load(n)] for n in AVG_SIM_DATASETS]
            constant = compute_avg_sim(encoder, seed=seed, n_prompts=avg_sim_prompts, pools=pools)
        else:
            constant = resolve_avg_sim(avg_sim, encoder_name=name, encoder=encoder, seed=seed)
        challenging = run_challenging(encoder, avg_sim=constant, records=load(CHALLENGING_DATASET))
        taxonomy = run_taxonomy(encoder, k=k, records=load(TAXONOMY_DATASET))
        contrast: dict[str, ContrastResult] = {}
        skipped: dict[str, str] = {}
        for set_name in contrast_sets:
            try:
                records = load(CONTRAST_SETS[set_name])
            except (FileNotFoundError, KeyError) as error:  # DataNotFoundError, UnknownNameError
                skipped[set_name] = str(error)
                continue
            contrast[set_name] = run_contrast(encoder, set_name=set_name, avg_sim=constant, records=records)
        if plots:
            filename = f"taxonomy_tsne_{_slug(name)}.png"
            display = EmbeddingScatterDisplay.from_embeddings(
                taxonomy.embeddings, taxonomy.categories, random_state=seed,
                title=f"Do-Not-Answer harm types, t-SNE of {name} embeddings (CP@{k} macro {taxonomy.purity.macro:.3f})")
            display.figure_.savefig(folder / filename, dpi=110)
            files.append(filename)
        results.append(EncoderReport(name=name, avg_sim=constant, challenging=challenging, taxonomy=taxonomy,
                                     contrast=contrast, skipped=skipped))
    report_files = ["report.md", "results.json"]
    if plots:
        scores = {r.name: r.challenging.per_type for r in results}
        for paper_col, values in _paper_challenging_columns(results).items():
            scores[paper_col] = values
        heat = ChallengingHeatmapDisplay(scores=scores, title="Safety-Challenging: normalised cosine of unsafe "
                                         "prompt to its safe pair (lower = better separated)").plot()
        heat.figure_.savefig(folder / "challenging_heatmap.png", dpi=110)
        report_files.append("challenging_heatmap.png")
    report = SafeEmbedReport(encoders=tuple(results), k=k, avg_sim_spec=str(avg_sim),
                             files=tuple(report_files + files))
    (folder / "results.json").write_text(json.dumps(report.to_json(), indent=2) + "\n", "utf-8")
    (folder / "report.md").write_text(render_markdown(report), "utf-8")
    return report


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "encoder"


def _paper_challenging_columns(results: Sequence[EncoderReport]) -> dict[str, dict[str, float]]:
    """Paper columns to show beside ours: the paper's row for each requested encoder it evaluated, plus
    the reference encoder. Only types that our data also has are kept."""
    paper = paper_numbers()
    names = [n for n in (paper_name(r.name) for r in results) if n is not None]
    if REFERENCE_PAPER_ENCODER not in names:
        names.append(REFERENCE_PAPER_ENCODER)
    types = list(results[0].challenging.per_type) if results else []
    columns: dict[str, dict[str, float]] = {}
    for n in dict.fromkeys(names):
        row = paper.challenging.get(n)
        if row is not None and set(types) <= set(row):
            columns[f"paper: {n}"] = {t: row[t] for t in types}
    return columns


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def render_markdown(report: SafeEmbedReport) -> str:
    """The report as Markdown: one table per task, encoders as columns."""
    paper = paper_numbers()
    encs = list(report.encoders)
    names = [e.name for e in encs]
    lines = ["# Safe-Embed evaluation", "",
             (f"Tasks from {paper.citation}. Encoders: {', '.join(names)}. "
             f"Normalisation constant: `--avg-sim {report.avg_sim_spec}`; CP uses k = {report.k}."), ""]

    lines += ["## Normalisation constant (mean cosine of unrelated prompts)", "",
              ("Computed on a seeded balanced sample of BeaverTails prompts (bad + good), all cross pairs of two "
              "random halves; `paper` is the constant the paper published for the same model."), ""]
    rows = [["value used"] + [_fmt(e.avg_sim.value) for e in encs],
            ["standard error"] + [_fmt(e.avg_sim.stderr, 4) for e in encs],
            ["source"] + [e.avg_sim.source for e in encs],
            ["prompts / pairs"] + [f"{e.avg_sim.n_prompts} / {e.avg_sim.n_pairs}" if e.avg_sim.n_prompts else "–"
                                   for e in encs]]
    pub = [paper.avg_sim.get(paper_name(e.name) or "") for e in encs]
    rows.append(["paper"] + [_fmt(v) for v in pub])
    lines += _table(["", *names], rows)

    paper_cols = _paper_challenging_columns(encs)
    lines += ["## Safety-Challenging (XSTest-aug, 250 unsafe/safe pairs)", "",
              ("Mean normalised cosine between each unsafe prompt and its safe look-alike, per XSTest type. "
              "Lower = the encoder separates them better. Paper columns: the published heatmap "
              f"({paper.challenging_source.split(' (')[0]}); they used their own constant."), ""]
    types = list(encs[0].challenging.per_type)
    rows = [[t] + [_fmt(e.challenging.per_type.get(t)) for e in encs] + [_fmt(c.get(t)) for c in paper_cols.values()]
            for t in types]
    rows.append(["**mean of types**"]
                + [_fmt(sum(e.challenging.per_type.values()) / len(e.challenging.per_type)) for e in encs]
                + [_fmt(sum(c.values()) / len(c)) for c in paper_cols.values()])
    lines += _table(["type", *names, *paper_cols], rows)
    lines += ["![Safety-Challenging heatmap](challenging_heatmap.png)", ""] if "challenging_heatmap.png" in report.files \
        else []

    lines += [f"## Safety-Taxonomy (Do-Not-Answer, Categorical Purity @ {report.k})", "",
              (f"Share of each prompt's {report.k} nearest neighbours (cosine, itself excluded) with its harm type, "
              "averaged per type; macro = mean over types, micro = mean over prompts. Higher = clusters by "
              "type. The paper reports CP only in a figure, so no paper column."), ""]
    cats = list(encs[0].taxonomy.purity.per_category)
    rows = [[f"{c} (n={encs[0].taxonomy.purity.counts[c]})"] + [_fmt(e.taxonomy.purity.per_category.get(c)) for e in encs]
            for c in cats]
    rows.append(["**macro**"] + [_fmt(e.taxonomy.purity.macro) for e in encs])
    rows.append(["**micro**"] + [_fmt(e.taxonomy.purity.micro) for e in encs])
    lines += _table(["harm type", *names], rows)
    lines += [f"![t-SNE {e.name}](taxonomy_tsne_{_slug(e.name)}.png)" for e in encs
              if f"taxonomy_tsne_{_slug(e.name)}.png" in report.files] + [""]

    sets = list(dict.fromkeys(s for e in encs for s in [*e.contrast, *e.skipped]))
    lines += ["## Safety-Contrast", "",
              ("For each unsafe prompt, the highest normalised cosine to its safe counterparts (same pair id), "
              "averaged. Lower = better separated."), ""]
    rows = []
    for s in sets:
        first = next((e.contrast[s] for e in encs if s in e.contrast), None)
        label = f"{s} (n={first.n}, contrasts={first.n_contrasts})" if first else f"{s} (not available)"
        rows.append([label] + [_fmt(e.contrast[s].overall) if s in e.contrast else "–" for e in encs])
    lines += _table(["set", *names], rows)
    for s in sets:
        available = [e for e in encs if s in e.contrast]
        # xstest_aug's categories are the XSTest types: that table is the Safety-Challenging one above
        if not available or s == "xstest_aug" or len(available[0].contrast[s].per_category) < 2:
            continue
        lines += [f"### {s}: per category", ""]
        cats = list(available[0].contrast[s].per_category)
        lines += _table(["category", *names],
                        [[c] + [_fmt(e.contrast[s].per_category.get(c)) if s in e.contrast else "–" for e in encs]
                         for c in cats])
    notes = [f"- {e.name}: {s} skipped: {why}" for e in encs for s, why in e.skipped.items()]
    if notes:
        lines += ["Skipped:", "", *notes, ""]
    return "\n".join(lines)
