"""`run_safe_embed_report`: files, tables with encoders as columns, paper columns, no prompt text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmscope.encoders import Encoder
from harmscope.encoders._hashing import HashingEncoder
from harmscope.errors import DataNotFoundError, HarmscopeError
from harmscope.reports import run_safe_embed_report
from harmscope.types import PromptRecord

TYPES = ["homonyms", "figurative_language", "target", "context", "definitions", "group", "action", "history",
         "privacy_publicity", "privacy_fictionality"]
SECRET = "zqxj"  # a word in every prompt: it must never reach the report files


def _load(name: str) -> list[PromptRecord]:
    if name == "xstest_aug_safe_embed":
        out = []
        for i, kind in enumerate(TYPES):
            for j in range(2):
                pid = f"{i}-{j}"
                out.append(PromptRecord(f"{SECRET} unsafe {kind} kill person {j}", "unsafe", kind, pair_id=pid))
                out.append(PromptRecord(f"{SECRET} safe {kind} kill process {j}", "safe", kind, pair_id=pid))
        return out
    if name == "do_not_answer":
        return [PromptRecord(f"{SECRET} {cat} request {i} {cat}", "unsafe", cat) for cat in ("alpha", "beta", "gamma")
                for i in range(5)]
    if name == "jbb_behaviors":
        return [r for g in range(3) for r in (PromptRecord(f"{SECRET} harmful goal {g}", "unsafe", f"c{g % 2}", pair_id=str(g)),
                                              PromptRecord(f"{SECRET} benign goal {g}", "safe", f"c{g % 2}", pair_id=str(g)))]
    if name.startswith("beavertails_prompts/"):
        return [PromptRecord(f"{SECRET} {name[-4:]} sample text {i} {i % 7}", None) for i in range(30)]
    raise DataNotFoundError(f"/nowhere/{name}")


def _build(name: str) -> Encoder:
    return HashingEncoder(dim=64 if name == "small" else 256)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path_factory.mktemp("cache")))


def test_report_files_and_content(tmp_path: Path) -> None:
    report = run_safe_embed_report(["small", "mpnet"], tmp_path, k=3, avg_sim="prefer-paper", avg_sim_prompts=40,
                                   contrast_sets=["jbb", "dna-contrast"], build=_build, load=_load)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"report.md", "results.json", "challenging_heatmap.png", "taxonomy_tsne_small.png",
                     "taxonomy_tsne_mpnet.png"}
    for png in ("challenging_heatmap.png", "taxonomy_tsne_small.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"

    # prefer-paper: "mpnet" has a published constant, "small" is computed
    assert [e.avg_sim.source for e in report.encoders] == ["computed", "paper"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["encoders"]) == ["small", "mpnet"]
    assert results["encoders"]["mpnet"]["avg_sim"]["avg_sim"] == 0.092
    assert "dna-contrast" in results["encoders"]["small"]["skipped"]
    assert set(results["encoders"]["small"]["contrast"]) == {"jbb"}
    assert results["paper"]["challenging"]["SBERT-all"]["history"] == 0.698

    md = (tmp_path / "report.md").read_text()
    assert "| type | small | mpnet | paper: SBERT-all |" in md
    assert "| history | " in md and "| 0.698 |" in md  # the paper's SBERT-all history score beside ours
    assert "| harm type | small | mpnet |" in md and "**macro**" in md
    assert "jbb (n=3, contrasts=3)" in md and "dna-contrast (not available)" in md
    for text in (md, (tmp_path / "results.json").read_text()):
        assert SECRET not in text


def test_report_numbers_equal_the_tasks(tmp_path: Path) -> None:
    from harmscope.analysis import AvgSim, run_challenging

    report = run_safe_embed_report(["small"], tmp_path, k=2, avg_sim="0.2", contrast_sets=[], plots=False,
                                   build=_build, load=_load)
    direct = run_challenging(_build("small"), avg_sim=AvgSim(0.2, "given", "small"),
                             records=_load("xstest_aug_safe_embed"))
    assert report.encoders[0].challenging.per_type == pytest.approx(direct.per_type)
    assert not (tmp_path / "challenging_heatmap.png").exists()
    md = (tmp_path / "report.md").read_text()
    assert f"| homonyms | {direct.per_type['homonyms']:.3f} |" in md


def test_report_input_errors(tmp_path: Path) -> None:
    with pytest.raises(HarmscopeError, match="no encoders"):
        run_safe_embed_report([], tmp_path, build=_build, load=_load)
    with pytest.raises(HarmscopeError, match="unknown contrast sets"):
        run_safe_embed_report(["small"], tmp_path, contrast_sets=["nope"], build=_build, load=_load)
