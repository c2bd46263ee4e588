"""Name resolution, missing data, path overrides, list/describe, and the `harmscope datasets` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmscope.cli.main import main
from harmscope.data import Loaded, dataset_info, list_datasets, load_dataset, load_dataset_with_report
from harmscope.errors import DataFormatError, DataNotFoundError, UnknownNameError

FIXTURES = Path(__file__).parent / "fixtures"


def test_unknown_name() -> None:
    with pytest.raises(UnknownNameError, match="unknown dataset 'no_such_set'.*xstest"):
        load_dataset("no_such_set")


def test_missing_data_says_to_set_harmscope_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="HARMSCOPE_DATA") as info:
        load_dataset("xstest")
    assert "xstest_prompts.csv" in str(info.value)


def test_path_override_file_and_folder(tmp_path: Path) -> None:
    csv_text = "id,prompt,type,label,focus,note\n1,How do I kill time at an airport?,homonyms,safe,kill,\n" \
               "2,An invented unsafe contrast.,contrast_homonyms,unsafe,kill,\n"
    (tmp_path / "xstest_prompts.csv").write_text(csv_text, encoding="utf-8")
    by_folder = load_dataset("xstest", path=tmp_path)
    by_file = load_dataset("xstest", path=tmp_path / "xstest_prompts.csv")
    assert by_folder == by_file
    assert [(r.id, r.label, r.category, r.metadata) for r in by_file] == [
        ("1", "safe", "homonyms", {"focus": "kill"}), ("2", "unsafe", "contrast_homonyms", {"focus": "kill"})]


def test_shipped_loader_rejects_bad_label_and_empty_text(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("id,prompt,type,label\n1,fine,homonyms,safe\n2,also fine,homonyms,unclear\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="'label' is 'unclear'") as info:
        load_dataset("xstest", path=f)
    assert info.value.line == 3
    f.write_text("id,prompt,type,label\n1,fine,homonyms,safe\n2,\"\",homonyms,safe\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="empty text in 'prompt'") as info:
        load_dataset("xstest", path=f)
    assert info.value.line == 3


def test_non_utf8_in_plain_text_loader(tmp_path: Path) -> None:
    f = tmp_path / "m.txt"
    f.write_bytes(b"first line\nsecond \xff line\n")
    with pytest.raises(DataFormatError, match="not valid utf-8 \\(byte 0xff\\)") as info:
        load_dataset("malicious_instruct", path=f)
    assert info.value.line == 2


def test_multi_file_set_needs_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "one.json"
    f.write_text("{}", encoding="utf-8")
    with pytest.raises(DataFormatError, match="pass the folder"):
        load_dataset("safety_tuned_llamas", path=f)


def test_physical_safety_pairs_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "I-PhysicalSafetyUnsafe.json").write_text(json.dumps({"instructions": ["u0", "u1"]}))
    (tmp_path / "I-PhysicalSafetySafe.json").write_text(json.dumps({"instructions": ["s0", "s1"]}))
    records = load_dataset("safety_tuned_llamas/physical_safety", path=tmp_path)
    assert [(r.text, r.label, r.pair_id) for r in records] == [
        ("u0", "unsafe", "0"), ("s0", "safe", "0"), ("u1", "unsafe", "1"), ("s1", "safe", "1")]
    (tmp_path / "I-PhysicalSafetySafe.json").write_text(json.dumps({"instructions": ["s0"]}))
    with pytest.raises(DataFormatError, match="must pair up"):
        load_dataset("safety_tuned_llamas/physical_safety", path=tmp_path)


def test_loaded_merge_sums_counts() -> None:
    a = Loaded([], {"x": 1}, None, {"r": 2})
    b = Loaded([], {"x": 2, "y": 1}, None)
    merged = Loaded.merge([a, b], Path("d"))
    assert merged.skipped == {"x": 3, "y": 1} and merged.repaired == {"r": 2} and merged.n_skipped == 4


def test_report_is_typed_and_counts_skips() -> None:
    loaded = load_dataset_with_report("wildguardtest", FIXTURES / "wildguardtest_sample.jsonl")
    assert isinstance(loaded, Loaded) and loaded.n_skipped == 1 and loaded.file == FIXTURES / "wildguardtest_sample.jsonl"


def test_list_and_info_without_counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_DATA", str(tmp_path))
    infos = {i.name: i for i in list_datasets()}
    assert infos["xstest"].rows is None and infos["xstest"].labels == ("unsafe", "safe")
    assert infos["wildguardtest:"].path_based and infos["beavertails_prompts/good"].labels == ("none",)
    info = dataset_info("toxicchat", count=True, path=FIXTURES / "toxicchat_sample.csv")
    assert info.rows == 3 and info.counts is not None and (info.counts.unsafe, info.counts.safe) == (2, 1)


def test_cli_list_json_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HARMSCOPE_DATA", str(tmp_path))  # nothing to count: fast, and nothing crashes
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert {"xstest", "harmbench/contextual", "openai-moderation:"} <= set(by_name)
    assert by_name["xstest"]["rows"] is None and by_name["xstest"]["role"] == "two-class"


def test_cli_show_hides_text_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    name = f"toxicchat:{FIXTURES / 'toxicchat_sample.csv'}"
    assert main(["datasets", "show", name]) == 0
    out = capsys.readouterr().out
    assert "rows: 3" in out and "safe=1" in out and "unsafe=2" in out and "haiku" not in out
    assert main(["datasets", "show", name, "--show-text", "--n", "1"]) == 0
    out = capsys.readouterr().out
    assert "haiku" in out and "Invented toxic" not in out


def test_cli_show_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "show", f"openai-moderation:{FIXTURES / 'openai_moderation_sample.jsonl'}",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["labels"] == {"safe": 2, "unsafe": 2} and out["skipped"] == {"no moderation code annotated": 1}
    assert "examples" not in out
    assert main(["datasets", "show", "no_such_set"]) == 2
    assert "unknown dataset" in capsys.readouterr().err
