"""Loaders for benign prompt pools: real chat prompts, instruction sets and over-defense negatives.

All records here are ``"safe"`` except where the source flags otherwise (CyberSecEval ``is_malicious``,
refusal_direction's harmful splits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harmscope.data._base import Loaded, Sink, file_in, folder, label_of, metadata
from harmscope.data._readers import csv_rows, json_list, jsonl_rows, need
from harmscope.errors import DataFormatError
from harmscope.types import Label


def alpaca_eval(path: Path | None) -> Loaded:
    """AlpacaEval instructions (805, safe); category = source ``dataset`` (selfinstruct, oasst, …)."""
    f = file_in(path, "alpaca_eval", "alpaca_eval_text_davinci_003_outputs.json")
    sink = Sink("alpaca_eval", f)
    for index, item in enumerate(json_list(f)):
        sink.add(item.get("instruction"), "safe", line=None, column=f"instruction (item {index})",
                 category=item.get("dataset"), id=str(index))
    return sink.done()


_RD_SPLITS: dict[str, Label] = {
    "harmless_train": "safe", "harmless_val": "safe", "harmless_test": "safe",
    "harmful_train": "unsafe", "harmful_val": "unsafe", "harmful_test": "unsafe",
}


def _refusal_split(path: Path | None, split: str) -> Loaded:
    """One refusal_direction split; harmless = Alpaca (safe), harmful = AdvBench/JBB/HarmBench/… (unsafe)."""
    f = file_in(path, "refusal_direction_splits", f"{split}.json")
    sink = Sink(f"refusal_direction_splits/{split}", f)
    label = _RD_SPLITS[split]
    for index, item in enumerate(json_list(f)):
        sink.add(item.get("instruction"), label, line=None, column=f"instruction (item {index})",
                 category=item.get("category"))
    return sink.done()


def _rd(split: str) -> Any:
    def load(path: Path | None) -> Loaded:
        return _refusal_split(path, split)

    load.__doc__ = f"refusal_direction_splits/{split} ({_RD_SPLITS[split]})."
    return load


harmless_train = _rd("harmless_train")
harmless_val = _rd("harmless_val")
harmless_test = _rd("harmless_test")
harmful_train = _rd("harmful_train")
harmful_val = _rd("harmful_val")
harmful_test = _rd("harmful_test")


def refusal_direction_splits(path: Path | None) -> Loaded:
    d = folder(path, "refusal_direction_splits", "refusal_direction_splits")
    return Loaded.merge([_refusal_split(d, split) for split in _RD_SPLITS], d)


def _arena(path: Path | None, version: str) -> Loaded:
    """Arena-Hard questions; category = cluster (v0.1) or subcategory (v2.0), metadata arena category."""
    f = file_in(path, "arena_hard", f"arena_hard_v{version}_question.jsonl")
    sink = Sink(f"arena_hard/v{version}", f)
    for row in jsonl_rows(f):
        v = row.value
        sink.add(need(f, v, "prompt", row.line), "safe", line=row.line, column="prompt",
                 category=v.get("cluster") or v.get("subcategory"), id=v.get("uid"),
                 metadata=metadata(v, "category"))
    return sink.done()


def arena_hard_v01(path: Path | None) -> Loaded:
    return _arena(path, "0.1")


def arena_hard_v20(path: Path | None) -> Loaded:
    return _arena(path, "2.0")


def arena_hard(path: Path | None) -> Loaded:
    d = folder(path, "arena_hard", "arena_hard")
    return Loaded.merge([arena_hard_v01(d), arena_hard_v20(d)], d)


def counsel_chat(path: Path | None) -> Loaded:
    """CounselChat questions (safe, sensitive topics): ONE record per questionID (the file has one row per
    answer; the first row of each question wins). text = questionTitle + blank line + questionText, since
    the title is often the actual question; category = topic."""
    f = file_in(path, "counsel_chat", "20200325_counsel_chat.csv")
    sink = Sink("counsel_chat", f)
    seen: set[str] = set()
    for row in csv_rows(f, required=("questionID", "questionTitle", "questionText", "topic")):
        qid = row["questionID"]
        if qid in seen:
            continue
        seen.add(qid)
        title, body = row["questionTitle"].strip(), row["questionText"].strip()
        text = body if not title or body.startswith(title) else f"{title}\n\n{body}" if body else title
        sink.add(text, "safe", line=row.line, column="questionText", category=row["topic"], id=qid,
                 metadata=metadata(row.cells, "split"))
    return sink.done()


def _fastchat(path: Path | None, part: str, filename: str) -> Loaded:
    """FastChat question files: text = first turn; the second MT-bench turn is kept in metadata."""
    f = file_in(path, "mt_bench_vicuna80", filename)
    sink = Sink(f"mt_bench_vicuna80/{part}", f)
    for row in jsonl_rows(f):
        turns = need(f, row.value, "turns", row.line)
        if not isinstance(turns, list) or not turns:
            raise DataFormatError(f, "'turns' must be a non-empty list of strings", row.line)
        meta = {"later_turns": turns[1:]} if len(turns) > 1 else {}
        sink.add(turns[0], "safe", line=row.line, column="turns", category=row.value.get("category"),
                 id=str(row.value.get("question_id")), metadata=meta)
    return sink.done()


def mt_bench(path: Path | None) -> Loaded:
    return _fastchat(path, "mt_bench", "mt_bench_question.jsonl")


def vicuna80(path: Path | None) -> Loaded:
    return _fastchat(path, "vicuna", "vicuna_bench_question.jsonl")


def mt_bench_vicuna80(path: Path | None) -> Loaded:
    d = folder(path, "mt_bench_vicuna80", "mt_bench_vicuna80")
    return Loaded.merge([mt_bench(d), vicuna80(d)], d)


def koala_test_set(path: Path | None) -> Loaded:
    """Koala test prompts (180, safe; evaluation only per its README)."""
    f = file_in(path, "koala_test_set", "koala_test_set.jsonl")
    sink = Sink("koala_test_set", f)
    for row in jsonl_rows(f):
        sink.add(need(f, row.value, "prompt", row.line), "safe", line=row.line, column="prompt",
                 id=row.value.get("id"))
    return sink.done()


def self_instruct_user_oriented(path: Path | None) -> Loaded:
    """Self-Instruct user-oriented tasks (252, safe): text = instruction, plus a blank line and the first
    instance's input when it has one (that pair is what a user would send); category = motivation_app."""
    f = file_in(path, "self_instruct_user_oriented", "user_oriented_instructions.jsonl")
    sink = Sink("self_instruct_user_oriented", f)
    for row in jsonl_rows(f):
        v = row.value
        instruction = need(f, v, "instruction", row.line)
        instances = v.get("instances") or []
        first_input = instances[0].get("input", "") if instances and isinstance(instances[0], dict) else ""
        text = f"{instruction}\n\n{first_input}" if isinstance(first_input, str) and first_input.strip() else instruction
        sink.add(text, "safe", line=row.line, column="instruction", category=v.get("motivation_app"),
                 id=v.get("id"))
    return sink.done()


def wizardlm_testset(path: Path | None) -> Loaded:
    """WizardLM test set (218, safe); category = Skill, metadata Difficulty."""
    f = file_in(path, "wizardlm_testset", "WizardLM_testset.jsonl")
    sink = Sink("wizardlm_testset", f)
    for row in jsonl_rows(f):
        v = row.value
        sink.add(need(f, v, "Instruction", row.line), "safe", line=row.line, column="Instruction",
                 category=v.get("Skill"), id=str(v.get("idx")), metadata=metadata(v, "Difficulty"))
    return sink.done()


def cyberseceval_mitre_frr(path: Path | None) -> Loaded:
    """CyberSecEval MITRE false-refusal prompts: label from ``is_malicious`` (all false → safe)."""
    f = file_in(path, "cyberseceval_mitre_frr", "mitre_frr.json")
    sink = Sink("cyberseceval_mitre_frr", f)
    for index, item in enumerate(json_list(f)):
        label = label_of(f, item.get("is_malicious"), {False: "safe", True: "unsafe"}, line=None,
                         column=f"is_malicious (item {index})")
        sink.add(item.get("mutated_prompt"), label, line=None, column=f"mutated_prompt (item {index})",
                 category=item.get("attack_type"), metadata=metadata(item, "model"))
    return sink.done()


def notinject(path: Path | None) -> Loaded:
    """NotInject (3 × 113, safe): benign prompts seeded with injection trigger words; category as given."""
    d = folder(path, "notinject", "notinject")
    parts = []
    for part in ("one", "two", "three"):
        f = d / f"NotInject_{part}.json"
        sink = Sink("notinject", f)
        for index, item in enumerate(json_list(f)):
            sink.add(item.get("prompt"), "safe", line=None, column=f"prompt (item {index})",
                     category=item.get("category"), id=f"{part}-{index}",
                     metadata={"word_list": item.get("word_list"), "file": part})
        parts.append(sink.done())
    return Loaded.merge(parts, d)
