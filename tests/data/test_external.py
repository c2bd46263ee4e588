"""Path-based loaders (benchmarks not shipped): every published layout, skip counting, malformed lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from harmscope.data import load_dataset, load_dataset_with_report
from harmscope.errors import DataFormatError, DataNotFoundError, HarmscopeError
from harmscope.types import PromptRecord

FIXTURES = Path(__file__).parent / "fixtures"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------- openai-moderation


def test_openai_moderation_labels_categories_and_skips(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="harmscope.data"):
        loaded = load_dataset_with_report(f"openai-moderation:{FIXTURES / 'openai_moderation_sample.jsonl'}")
    records = loaded.records
    assert [r.label for r in records] == ["safe", "unsafe", "unsafe", "safe"]
    assert [r.category for r in records] == [None, "H,V", "SH", None]
    assert records[1].metadata["codes"] == {"S": 0, "H": 1, "V": 1, "HR": 0, "SH": 0, "S3": 0, "H2": 0, "V2": 0}
    assert records[2].metadata["codes"] == {"SH": 1}  # missing codes stay unknown, not 0
    assert loaded.skipped == {"no moderation code annotated": 1}
    assert all(r.source == "openai-moderation" for r in records)
    assert "skipped 1 row" in caplog.text
    assert "no annotation at all" not in caplog.text  # counts only, never the text


def test_openai_moderation_name_plus_path_equals_scheme() -> None:
    f = FIXTURES / "openai_moderation_sample.jsonl"
    assert load_dataset("openai-moderation", path=f) == load_dataset(f"openai-moderation:{f}")


def test_openai_moderation_bad_json_line(tmp_path: Path) -> None:
    f = _write(tmp_path / "m.jsonl", '{"prompt": "ok", "S": 0}\n\n{"prompt": "broken", "S": \n')
    with pytest.raises(DataFormatError) as info:
        load_dataset(f"openai-moderation:{f}")
    assert info.value.line == 3 and "bad JSON" in str(info.value) and str(f) in str(info.value)


def test_openai_moderation_wrong_code_value(tmp_path: Path) -> None:
    f = _write(tmp_path / "m.jsonl", '{"prompt": "ok", "S": 0}\n{"prompt": "x", "H": 2}\n')
    with pytest.raises(DataFormatError, match="'H' is 2") as info:
        load_dataset(f"openai-moderation:{f}")
    assert info.value.line == 2


def test_openai_moderation_empty_prompt(tmp_path: Path) -> None:
    f = _write(tmp_path / "m.jsonl", '{"prompt": "  ", "S": 1}\n')
    with pytest.raises(DataFormatError, match="empty text") as info:
        load_dataset(f"openai-moderation:{f}")
    assert info.value.line == 1


def test_scheme_without_path_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HarmscopeError, match="openai-moderation:PATH"):
        load_dataset("openai-moderation")
    with pytest.raises(DataNotFoundError, match="openai-moderation:PATH"):
        load_dataset(f"openai-moderation:{tmp_path / 'absent.jsonl'}")


# -------------------------------------------------------------------------------------- wildguardtest


def _check_wildguard(loaded_records: list[PromptRecord], skipped: dict[str, int]) -> None:
    assert [r.label for r in loaded_records] == ["unsafe", "safe", "unsafe"]
    assert [r.category for r in loaded_records] == ["cyberattack", "benign", "violence_and_physical_harm"]
    assert [r.metadata["adversarial"] for r in loaded_records] == [False, False, True]
    assert skipped == {"no prompt_harm_label": 1}


def test_wildguardtest_jsonl() -> None:
    loaded = load_dataset_with_report(f"wildguardtest:{FIXTURES / 'wildguardtest_sample.jsonl'}")
    _check_wildguard(loaded.records, loaded.skipped)


def test_wildguardtest_parquet_and_json_array(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [json.loads(line) for line in (FIXTURES / "wildguardtest_sample.jsonl").read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "wgt.parquet")
    loaded = load_dataset_with_report("wildguardtest", tmp_path / "wgt.parquet")
    _check_wildguard(loaded.records, loaded.skipped)
    _write(tmp_path / "wgt.json", json.dumps(rows))
    loaded = load_dataset_with_report(f"wildguardtest:{tmp_path / 'wgt.json'}")
    _check_wildguard(loaded.records, loaded.skipped)


def test_wildguardtest_unknown_label_names_the_line(tmp_path: Path) -> None:
    f = _write(tmp_path / "w.jsonl", '{"prompt": "a", "prompt_harm_label": "harmful"}\n'
                                     '{"prompt": "b", "prompt_harm_label": "maybe"}\n')
    with pytest.raises(DataFormatError, match="'maybe'") as info:
        load_dataset(f"wildguardtest:{f}")
    assert info.value.line == 2


def test_wildguardtest_missing_prompt_key(tmp_path: Path) -> None:
    f = _write(tmp_path / "w.jsonl", '{"text": "a", "prompt_harm_label": "harmful"}\n')
    with pytest.raises(DataFormatError, match="missing key 'prompt'") as info:
        load_dataset(f"wildguardtest:{f}")
    assert info.value.line == 1


# ------------------------------------------------------------------------------------------ toxicchat


def test_toxicchat_csv_multiline_row() -> None:
    records = load_dataset(f"toxicchat:{FIXTURES / 'toxicchat_sample.csv'}")
    assert [r.label for r in records] == ["safe", "unsafe", "unsafe"]
    assert [r.id for r in records] == ["c1", "c2", "c3"]
    assert [r.metadata["jailbreaking"] for r in records] == [0, 0, 1]
    assert "\n" in records[2].text


def test_toxicchat_jsonl_and_judgebench_json() -> None:
    jl = load_dataset(f"toxicchat:{FIXTURES / 'toxicchat_sample.jsonl'}")
    assert [(r.label, r.metadata["jailbreaking"]) for r in jl] == [("safe", 0), ("unsafe", 1)]
    js = load_dataset(f"toxicchat:{FIXTURES / 'toxicchat_judgebench_sample.json'}")
    assert [(r.id, r.label, r.metadata["jailbreaking"]) for r in js] == [("a1", "safe", 0), ("a2", "unsafe", 1)]
    assert {r.source for r in js} == {"toxicchat"}


def test_toxicchat_csv_errors_count_the_header(tmp_path: Path) -> None:
    bad_label = _write(tmp_path / "t.csv", "conv_id,user_input,toxicity,jailbreaking\na,hi,0,0\nb,yo,2,0\n")
    with pytest.raises(DataFormatError, match="'toxicity' is '2'") as info:
        load_dataset(f"toxicchat:{bad_label}")
    assert info.value.line == 3
    no_column = _write(tmp_path / "u.csv", "conv_id,text,toxicity\na,hi,0\n")
    with pytest.raises(DataFormatError, match="missing column.*'user_input'") as info:
        load_dataset(f"toxicchat:{no_column}")
    assert info.value.line == 1
    ragged = _write(tmp_path / "r.csv", "conv_id,user_input,toxicity\na,hi,0\nb,yo,1,extra\n")
    with pytest.raises(DataFormatError, match="4 cells but the header has 3") as info:
        load_dataset(f"toxicchat:{ragged}")
    assert info.value.line == 3


def test_toxicchat_non_utf8_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "latin1.csv"
    f.write_bytes("conv_id,user_input,toxicity\na,fine,0\nb,caf\u00e9,0\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match="not valid utf-8") as info:
        load_dataset(f"toxicchat:{f}")
    assert info.value.line == 3 and info.value.path == f


def test_unsupported_suffix(tmp_path: Path) -> None:
    f = _write(tmp_path / "t.xlsx", "x")
    with pytest.raises(DataFormatError, match="unsupported file type"):
        load_dataset(f"wildguardtest:{f}")
