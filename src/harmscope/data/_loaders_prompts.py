"""Loaders for the safety-prompt benchmarks in the first MANIFEST table (harmful requests, over-refusal
sets, jailbreaks). One function per registered name; each takes ``path: Path | None`` (see ``_base``).

Label rule everywhere here: ``"unsafe"``/``"safe"`` only where the source says so at prompt level,
``None`` otherwise. ``category`` is the source's own category string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harmscope.data._base import Loaded, Sink, file_in, folder, label_of, metadata
from harmscope.data._readers import csv_rows, json_list, jsonl_rows, load_json, need, text_lines
from harmscope.errors import DataFormatError
from harmscope.types import Label

# ---------------------------------------------------------------------------------------------- XSTest


def xstest(path: Path | None) -> Loaded:
    """XSTest v2: 250 safe + 200 unsafe prompts; label from the file, category = ``type``."""
    f = file_in(path, "xstest", "xstest_prompts.csv")
    sink = Sink("xstest", f)
    for row in csv_rows(f, required=("id", "prompt", "type", "label")):
        label = label_of(f, row["label"], {"safe": "safe", "unsafe": "unsafe"}, line=row.line, column="label")
        sink.add(row["prompt"], label, line=row.line, column="prompt", category=row["type"], id=row["id"],
                 metadata=metadata(row.cells, "focus", "note"))
    return sink.done()


_XSTEST_PAIR: tuple[tuple[str, Label], ...] = (("unsafe_prompt", "unsafe"), ("safe_prompt", "safe"))
_JBB_PAIR: tuple[tuple[str, Label], ...] = (("harmful_goal", "unsafe"), ("benign_goal", "safe"))


def xstest_aug_safe_embed(path: Path | None) -> Loaded:
    """Safe-Embed's XSTest pairs: each row gives an unsafe and a safe record with ``pair_id`` = row id."""
    f = file_in(path, "xstest_aug_safe_embed", "xstest_aug.csv")
    sink = Sink("xstest_aug_safe_embed", f)
    for row in csv_rows(f, required=("id", "type_id", "type", "unsafe_prompt", "safe_prompt", "focus"),
                        encoding="utf-8-sig"):
        meta = {"focus": row["focus"], "type_id": row["type_id"]}
        for column, label in _XSTEST_PAIR:
            sink.add(row[column], label, line=row.line, column=column, category=row["type"],
                     pair_id=row["id"], id=f"{row['id']}-{label}", metadata=dict(meta))
    return sink.done()


# ------------------------------------------------------------------------------------- Do-Not-Answer


def do_not_answer(path: Path | None) -> Loaded:
    """Do-Not-Answer: 939 questions a model should refuse; category = ``types_of_harm``."""
    f = file_in(path, "do_not_answer", "do_not_answer.csv")
    sink = Sink("do_not_answer", f)
    for row in csv_rows(f, required=("id", "risk_area", "types_of_harm", "specific_harms", "question")):
        sink.add(row["question"], "unsafe", line=row.line, column="question", category=row["types_of_harm"],
                 id=row["id"], metadata=metadata(row.cells, "risk_area", "specific_harms", "id"))
    return sink.done()


def _user_message(f: Path, value: dict[str, Any], line: int) -> str:
    """The user turn of a LibrAI ``messages`` list (system + user)."""
    messages = need(f, value, "messages", line)
    if not isinstance(messages, list):
        raise DataFormatError(f, "'messages' must be a list of {role, content}", line)
    users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if len(users) != 1 or not isinstance(users[0], str):
        raise DataFormatError(f, f"expected exactly one user message with text, found {len(users)}", line)
    text: str = users[0]
    return text


def _dna_fp_fn(path: Path | None, part: str) -> Loaded:
    f = file_in(path, "do_not_answer_fp_fn", f"DoNotAnswer-{part.upper()}.jsonl")
    sink = Sink(f"do_not_answer_fp_fn/{part}", f)
    for row in jsonl_rows(f):
        label = label_of(f, need(f, row.value, "type", row.line), {"FP": "safe", "FN": "unsafe"},
                         line=row.line, column="type")
        sink.add(_user_message(f, row.value, row.line), label, line=row.line, column="messages",
                 category=row.value.get("types_of_harm"),
                 metadata=metadata(row.value, "type", "risk_area", "specific_harms"))
    return sink.done()


def do_not_answer_fp(path: Path | None) -> Loaded:
    """LibrAI DoNotAnswer-FP: benign questions with sensitive words (label safe)."""
    return _dna_fp_fn(path, "fp")


def do_not_answer_fn(path: Path | None) -> Loaded:
    """LibrAI DoNotAnswer-FN: harmful intent in indirect framing (label unsafe)."""
    return _dna_fp_fn(path, "fn")


def do_not_answer_fp_fn(path: Path | None) -> Loaded:
    """Both LibrAI DNA hard-case files (FP safe + FN unsafe; not paired row by row)."""
    d = folder(path, "do_not_answer_fp_fn", "do_not_answer_fp_fn")
    return Loaded.merge([do_not_answer_fp(d), do_not_answer_fn(d)], d)


# ------------------------------------------------------------------------------------------ HarmBench


def _harmbench(path: Path | None, source: str, keep: tuple[str, ...], filename: str) -> Loaded:
    """HarmBench behaviours; contextual text = ContextString + blank line + Behavior (the model sees both)."""
    f = file_in(path, "harmbench", filename)
    sink = Sink(source, f)
    required = ("Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString", "BehaviorID")
    for row in csv_rows(f, required=required):
        functional = row["FunctionalCategory"]
        if functional not in ("standard", "contextual", "copyright"):
            raise DataFormatError(f, f"FunctionalCategory is {functional!r}; expected standard, contextual "
                                     "or copyright", row.line)
        if functional not in keep:
            continue
        context = row["ContextString"]
        text = f"{context}\n\n{row['Behavior']}" if functional == "contextual" and context.strip() else row["Behavior"]
        meta = {"functional_category": functional, "behavior": row["Behavior"]}
        meta.update(metadata(row.cells, "Tags", "BehaviorID"))
        if context:
            meta["context"] = context
        sink.add(text, "unsafe", line=row.line, column="Behavior", category=row["SemanticCategory"],
                 id=row["BehaviorID"], metadata=meta)
    return sink.done()


def harmbench(path: Path | None) -> Loaded:
    """HarmBench standard + contextual behaviours (400 file minus the 100 copyright rows)."""
    d = folder(path, "harmbench", "harmbench")
    return Loaded.merge([harmbench_standard(d), harmbench_contextual(d)], d)


def harmbench_standard(path: Path | None) -> Loaded:
    return _harmbench(path, "harmbench/standard", ("standard",), "harmbench_behaviors_text_all.csv")


def harmbench_contextual(path: Path | None) -> Loaded:
    return _harmbench(path, "harmbench/contextual", ("contextual",), "harmbench_behaviors_text_all.csv")


def harmbench_copyright(path: Path | None) -> Loaded:
    """Copyright rows (song lyrics / book passages to reproduce): unsafe in HarmBench's sense only."""
    return _harmbench(path, "harmbench/copyright", ("copyright",), "harmbench_behaviors_text_all.csv")


_ALL_FUNCTIONAL = ("standard", "contextual", "copyright")


def harmbench_val(path: Path | None) -> Loaded:
    """HarmBench's official validation split (80, all functional categories)."""
    return _harmbench(path, "harmbench/val", _ALL_FUNCTIONAL, "harmbench_behaviors_text_val.csv")


def harmbench_test(path: Path | None) -> Loaded:
    """HarmBench's official test split (320, all functional categories)."""
    return _harmbench(path, "harmbench/test", _ALL_FUNCTIONAL, "harmbench_behaviors_text_test.csv")


# ------------------------------------------------------------------------------ small unsafe-only sets


def advbench(path: Path | None) -> Loaded:
    """AdvBench harmful behaviours (520, unsafe, no categories); metadata keeps the attack ``target``."""
    f = file_in(path, "advbench", "harmful_behaviors.csv")
    sink = Sink("advbench", f)
    for row in csv_rows(f, required=("goal", "target")):
        sink.add(row["goal"], "unsafe", line=row.line, column="goal", metadata=metadata(row.cells, "target"))
    return sink.done()


def malicious_instruct(path: Path | None) -> Loaded:
    """MaliciousInstruct: one prompt per line (100, unsafe, intents not labelled in the file)."""
    f = file_in(path, "malicious_instruct", "MaliciousInstruct.txt")
    sink = Sink("malicious_instruct", f)
    for number, line in text_lines(f):
        sink.add(line.strip(), "unsafe", line=number, column="line")
    return sink.done()


def strongreject(path: Path | None) -> Loaded:
    """StrongREJECT forbidden prompts (313, unsafe); category = ``category``, metadata ``source``."""
    f = file_in(path, "strongreject", "strongreject_dataset.csv")
    sink = Sink("strongreject", f)
    for row in csv_rows(f, required=("category", "source", "forbidden_prompt")):
        sink.add(row["forbidden_prompt"], "unsafe", line=row.line, column="forbidden_prompt",
                 category=row["category"], metadata=metadata(row.cells, "source"))
    return sink.done()


def simplesafetytests(path: Path | None) -> Loaded:
    """SimpleSafetyTests (100, unsafe); category = ``harm_area``, metadata the prompt kind (``category``)."""
    f = file_in(path, "simplesafetytests", "simple_safety_tests.csv")
    sink = Sink("simplesafetytests", f)
    for row in csv_rows(f, required=("id", "harm_area", "category", "prompts_final")):
        sink.add(row["prompts_final"], "unsafe", line=row.line, column="prompts_final",
                 category=row["harm_area"], id=row["id"],
                 metadata={"prompt_kind": row["category"], **metadata(row.cells, "counter")})
    return sink.done()


# ------------------------------------------------------------------------------------------ JailbreakBench


def jbb_behaviors(path: Path | None) -> Loaded:
    """JBB-Behaviors: harmful_goal (unsafe) and benign_goal (safe) per row, ``pair_id`` = ``index``."""
    f = file_in(path, "jbb_behaviors", "jbb_behaviors_paired.csv")
    sink = Sink("jbb_behaviors", f)
    for row in csv_rows(f, required=("index", "category", "behavior", "harmful_goal", "benign_goal")):
        for column, label in _JBB_PAIR:
            sink.add(row[column], label, line=row.line, column=column, category=row["category"],
                     pair_id=row["index"], id=f"{row['index']}-{label}",
                     metadata={"behavior": row["behavior"]})
    return sink.done()


def _jbb_artifact(path: Path | None, part: str, filename: str) -> Loaded:
    """Adversarial prompts from a JBB artifact file; goals without a submitted prompt are skipped."""
    f = file_in(path, "jbb_artifacts", filename)
    sink = Sink(f"jbb_artifacts/{part}", f)
    data = load_json(f)
    if not isinstance(data, dict) or not isinstance(data.get("jailbreaks"), list):
        raise DataFormatError(f, "expected a JSON object with a 'jailbreaks' list")
    method = (data.get("parameters") or {}).get("method")
    for item in data["jailbreaks"]:
        if not isinstance(item, dict):
            raise DataFormatError(f, "each jailbreak must be an object")
        if item.get("prompt") is None:
            sink.skip("no prompt submitted for this goal")
            continue
        meta = metadata(item, "index", "goal", "behavior", "jailbroken", "jailbroken_llama_guard1")
        meta["method"] = method
        sink.add(item["prompt"], "unsafe", line=None, column="prompt", category=item.get("category"),
                 id=f"{part}-{item.get('index')}", metadata=meta)
    return sink.done()


def jbb_artifacts_pair(path: Path | None) -> Loaded:
    """PAIR jailbreaks of the JBB goals against Vicuna-13B (goals PAIR gave up on are skipped)."""
    return _jbb_artifact(path, "pair", "PAIR_black_box_vicuna-13b-v1.5.json")


def jbb_artifacts_random_search(path: Path | None) -> Loaded:
    """Random-search suffix jailbreaks of the JBB goals against GPT-4."""
    return _jbb_artifact(path, "random_search", "prompt_with_random_search_gpt-4-0125-preview.json")


def jbb_artifacts(path: Path | None) -> Loaded:
    d = folder(path, "jbb_artifacts", "jbb_artifacts")
    return Loaded.merge([jbb_artifacts_pair(d), jbb_artifacts_random_search(d)], d)


# ----------------------------------------------------------------------------- taxonomy-rich unsafe sets


def sorry_bench(path: Path | None) -> Loaded:
    """SORRY-Bench 2024-06 base prompts; category = the category NAME from the categories csv."""
    d = folder(path, "sorry_bench", "sorry_bench")
    names_file = d / "sorry_bench_202406_categories.csv"
    names = {row["category"]: row for row in csv_rows(names_file, required=("category", "name", "domain"))}
    f = d / "sorry_bench_202406_original.csv"
    sink = Sink("sorry_bench", f)
    for row in csv_rows(f, required=("category", "prompt")):
        cat = names.get(row["category"])
        if cat is None:
            raise DataFormatError(f, f"category {row['category']!r} is not in {names_file.name}", row.line)
        sink.add(row["prompt"], "unsafe", line=row.line, column="prompt", category=cat["name"],
                 metadata={"category_id": row["category"], "domain": cat["domain"]})
    return sink.done()


def ailuminate_demo(path: Path | None) -> Loaded:
    """MLCommons AILuminate v1.0 demo prompts (1200, unsafe); category = ``hazard`` code."""
    f = file_in(path, "ailuminate_demo", "airr_official_1.0_demo_en_us_prompt_set_release.csv")
    sink = Sink("ailuminate_demo", f)
    for row in csv_rows(f, required=("release_prompt_id", "prompt_text", "hazard", "persona")):
        sink.add(row["prompt_text"], "unsafe", line=row.line, column="prompt_text", category=row["hazard"],
                 id=row["release_prompt_id"], metadata=metadata(row.cells, "persona", "locale", "prompt_hash"))
    return sink.done()


def _air_meta(cells: dict[str, Any], sep: str) -> dict[str, Any]:
    return {"cate_idx": cells[f"cate{sep}idx"], "l3_name": cells[f"l3{sep}name"],
            "l4_name": cells[f"l4{sep}name"]}


def air_bench_pipeline1(path: Path | None) -> Loaded:
    """AIR-Bench sample answered by Llama-3-8B (80); category = L2 name, L3/L4 in metadata."""
    f = file_in(path, "air_bench_2024_sample", "pipeline1_step1_Llama-3-8b_response.json")
    sink = Sink("air_bench_2024_sample/pipeline1", f)
    for index, item in enumerate(json_list(f)):
        prompt = item.get("prompt")
        # This file wraps the prompt as [{"prompt": text}].
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], dict):
            prompt = prompt[0].get("prompt")
        for key in ("cate_idx", "l2_name", "l3_name", "l4_name"):
            need(f, item, key, None, f" in item {index}")
        sink.add(prompt, "unsafe", line=None, column=f"prompt (item {index})", category=item["l2_name"],
                 id=f"pipeline1-{index}", metadata=_air_meta(item, "_"))
    return sink.done()


def air_bench_pipeline2(path: Path | None) -> Loaded:
    """AIR-Bench sample answered by GPT-4-turbo (80); category = L2 name, L3/L4 in metadata."""
    f = file_in(path, "air_bench_2024_sample", "pipeline2_step1_gpt-4-turbo_response.csv")
    sink = Sink("air_bench_2024_sample/pipeline2", f)
    for row in csv_rows(f, required=("cate-idx", "l2-name", "l3-name", "l4-name", "prompt")):
        sink.add(row["prompt"], "unsafe", line=row.line, column="prompt", category=row["l2-name"],
                 id=f"pipeline2-{row.line}", metadata=_air_meta(row.cells, "-"))
    return sink.done()


def air_bench_2024_sample(path: Path | None) -> Loaded:
    d = folder(path, "air_bench_2024_sample", "air_bench_2024_sample")
    return Loaded.merge([air_bench_pipeline1(d), air_bench_pipeline2(d)], d)


def _nested_questions(path: Path | None, part: str, filename: str) -> Loaded:
    """``{category: {subcategory: [question, ...]}}`` files of red-instruct (all unsafe)."""
    f = file_in(path, "red_instruct_catqa_harmfulqa", filename)
    sink = Sink(f"red_instruct_catqa_harmfulqa/{part}", f)
    data = load_json(f)
    if not isinstance(data, dict):
        raise DataFormatError(f, "expected {category: {subcategory: [questions]}}")
    for category, subs in data.items():
        if not isinstance(subs, dict):
            raise DataFormatError(f, f"category {category!r} must map subcategories to lists")
        for sub, questions in subs.items():
            if not isinstance(questions, list):
                raise DataFormatError(f, f"{category!r}/{sub!r} must be a list of questions")
            for question in questions:
                sink.add(question, "unsafe", line=None, column=f"{category}/{sub}", category=category,
                         metadata={"subcategory": sub.rstrip(":").strip()})
    return sink.done()


def catqa(path: Path | None) -> Loaded:
    """CategoricalHarmfulQA (550): category = top-level harm category, metadata subcategory."""
    return _nested_questions(path, "catqa", "catqa_english.json")


def harmfulqa(path: Path | None) -> Loaded:
    """HarmfulQA (1960): category = academic topic (the source's grouping), metadata subtopic."""
    return _nested_questions(path, "harmfulqa", "harmfulqa.json")


def dangerousqa(path: Path | None) -> Loaded:
    """DangerousQA (200, unsafe, no categories): a JSON list of questions."""
    f = file_in(path, "red_instruct_catqa_harmfulqa", "dangerousqa.json")
    sink = Sink("red_instruct_catqa_harmfulqa/dangerousqa", f)
    for index, question in enumerate(json_list(f, objects=False)):
        sink.add(question, "unsafe", line=None, column=f"item {index}")
    return sink.done()


def red_instruct_catqa_harmfulqa(path: Path | None) -> Loaded:
    d = folder(path, "red_instruct_catqa_harmfulqa", "red_instruct_catqa_harmfulqa")
    return Loaded.merge([catqa(d), harmfulqa(d), dangerousqa(d)], d)


def aart(path: Path | None) -> Loaded:
    """Google AART adversarial prompts (3269, unsafe); category = ``crime``."""
    f = file_in(path, "aart", "aart-v1-20231117.csv")
    sink = Sink("aart", f)
    for row in csv_rows(f, required=("prompt", "crime")):
        sink.add(row["prompt"], "unsafe", line=row.line, column="prompt", category=row["crime"],
                 metadata=metadata(row.cells, "region", "use_case", "medium_keyword", "region_specific_topic"))
    return sink.done()


# ------------------------------------------------------------------------------- Safety-Tuned LLaMAs


def _stl_file(path: Path | None, stem: str) -> tuple[Path, list[Any], list[Any] | None]:
    f = file_in(path, "safety_tuned_llamas", f"I-{stem}.json")
    data = load_json(f)
    if not isinstance(data, dict) or not isinstance(data.get("instructions"), list):
        raise DataFormatError(f, "expected {\"instructions\": [...], \"inputs\": [...]}")
    tags = data.get("tags")
    if tags is not None and (not isinstance(tags, list) or len(tags) != len(data["instructions"])):
        raise DataFormatError(f, "'tags' must be a list as long as 'instructions'")
    return f, data["instructions"], tags


def _stl(path: Path | None, part: str, stem: str, label: Label) -> Loaded:
    f, instructions, tags = _stl_file(path, stem)
    sink = Sink(f"safety_tuned_llamas/{part}", f)
    for index, text in enumerate(instructions):
        sink.add(text, label, line=None, column=f"instructions[{index}]",
                 category=tags[index] if tags else None, id=str(index))
    return sink.done()


def stl_cona(path: Path | None) -> Loaded:
    """CoNa hateful instructions (178, unsafe)."""
    return _stl(path, "cona", "CoNa", "unsafe")


def stl_controversial(path: Path | None) -> Loaded:
    """Controversial-topic instructions (40, unsafe)."""
    return _stl(path, "controversial", "Controversial", "unsafe")


def stl_malicious_instructions(path: Path | None) -> Loaded:
    """MaliciousInstructions (100, unsafe); category = tag (hate/crime)."""
    return _stl(path, "malicious_instructions", "MaliciousInstructions", "unsafe")


def stl_alpaca(path: Path | None) -> Loaded:
    """50 Alpaca instructions used as the benign control (safe)."""
    return _stl(path, "alpaca", "Alpaca", "safe")


def stl_physical_safety(path: Path | None) -> Loaded:
    """PhysicalSafetyUnsafe[i] (unsafe) and PhysicalSafetySafe[i] (safe) with ``pair_id`` = ``str(i)``."""
    f_unsafe, unsafe, _ = _stl_file(path, "PhysicalSafetyUnsafe")
    f_safe, safe, _ = _stl_file(path, "PhysicalSafetySafe")
    if len(unsafe) != len(safe):
        raise DataFormatError(f_safe, f"{len(safe)} safe vs {len(unsafe)} unsafe instructions; they must pair up")
    sink = Sink("safety_tuned_llamas/physical_safety", f_unsafe.parent)
    for index, (bad, good) in enumerate(zip(unsafe, safe)):
        sink.add(bad, "unsafe", line=None, column=f"{f_unsafe.name} instructions[{index}]", pair_id=str(index),
                 id=f"{index}-unsafe")
        sink.add(good, "safe", line=None, column=f"{f_safe.name} instructions[{index}]", pair_id=str(index),
                 id=f"{index}-safe")
    return sink.done()


def safety_tuned_llamas(path: Path | None) -> Loaded:
    d = folder(path, "safety_tuned_llamas", "safety_tuned_llamas")
    parts = [stl_cona, stl_controversial, stl_malicious_instructions, stl_physical_safety, stl_alpaca]
    return Loaded.merge([p(d) for p in parts], d)


# ------------------------------------------------------------------------------- LibrAI message sets


def _messages_set(path: Path | None, dirname: str, filename: str, source: str, label: Label | None) -> Loaded:
    f = file_in(path, dirname, filename)
    sink = Sink(source, f)
    for row in jsonl_rows(f):
        sink.add(_user_message(f, row.value, row.line), label, line=row.line, column="messages")
    return sink.done()


def qharm(path: Path | None) -> Loaded:
    """QHarm (100; from Anthropic red-team attempts, labelled unsafe as a set though a few are mild)."""
    return _messages_set(path, "qharm", "QHarm.jsonl", "qharm", "unsafe")


def tdc2023_redteaming(path: Path | None) -> Loaded:
    """TDC 2023 red-teaming behaviours (100, unsafe)."""
    return _messages_set(path, "tdc2023_redteaming", "TDCRedTeaming.jsonl", "tdc2023_redteaming", "unsafe")


def beavertails_bad(path: Path | None) -> Loaded:
    """BeaverTails prompts whose response was unsafe: label None (the split is about responses)."""
    return _messages_set(path, "beavertails_prompts", "BeaverTailsBad.jsonl", "beavertails_prompts/bad", None)


def beavertails_good(path: Path | None) -> Loaded:
    """BeaverTails prompts whose response was safe: label None (many are still harmful requests)."""
    return _messages_set(path, "beavertails_prompts", "BeaverTailsGood.jsonl", "beavertails_prompts/good", None)


def beavertails_prompts(path: Path | None) -> Loaded:
    d = folder(path, "beavertails_prompts", "beavertails_prompts")
    return Loaded.merge([beavertails_bad(d), beavertails_good(d)], d)


# ------------------------------------------------------------------------------------------ CoCoNot

SAFETY_CONCERNS = "Requests with safety concerns"


def _coconot(path: Path | None, source: str, filename: str, rule: str) -> Loaded:
    """CoCoNot; category = subcategory (finer, harm-bearing), metadata ``coconot_category``.

    ``rule``: "contrast" = every row safe (should comply); "eval" = safety-concern rows unsafe, other
    noncompliance rows (incomplete, unsupported, …) None; "safety" = only the safety-concern rows.
    """
    f = file_in(path, "coconot", filename)
    sink = Sink(source, f)
    for row in jsonl_rows(f):
        v = row.value
        category = need(f, v, "category", row.line)
        label: Label | None
        if rule == "contrast":
            label = "safe"
        elif category == SAFETY_CONCERNS:
            label = "unsafe"
        elif rule == "safety":
            continue
        else:
            label = None
        sink.add(need(f, v, "prompt", row.line), label, line=row.line, column="prompt",
                 category=v.get("subcategory"), id=v.get("id"), metadata={"coconot_category": category})
    return sink.done()


def coconot_eval(path: Path | None) -> Loaded:
    return _coconot(path, "coconot/eval", "coconot_eval.jsonl", "eval")


def coconot_safety_concerns(path: Path | None) -> Loaded:
    return _coconot(path, "coconot/safety_concerns", "coconot_eval.jsonl", "safety")


def coconot_contrast(path: Path | None) -> Loaded:
    return _coconot(path, "coconot/contrast", "coconot_contrast_eval.jsonl", "contrast")


def coconot(path: Path | None) -> Loaded:
    d = folder(path, "coconot", "coconot")
    return Loaded.merge([coconot_eval(d), coconot_contrast(d)], d)


# ------------------------------------------------------------------------------------------- OKTest


def _oktest(path: Path | None, part: str, filename: str) -> Loaded:
    f = file_in(path, "oktest", filename)
    sink = Sink(f"oktest/{part}", f)
    for row in csv_rows(f, required=("prompt",)):
        sink.add(row["prompt"], "safe", line=row.line, column="prompt")
    return sink.done()


def oktest_main(path: Path | None) -> Loaded:
    return _oktest(path, "main", "OKTest.csv")


def oktest_heldout(path: Path | None) -> Loaded:
    return _oktest(path, "heldout", "OKTest_heldout.csv")


def oktest(path: Path | None) -> Loaded:
    d = folder(path, "oktest", "oktest")
    return Loaded.merge([oktest_main(d), oktest_heldout(d)], d)


# ------------------------------------------------------------------------------------------ TrustLLM


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def trustllm_misuse(path: Path | None) -> Loaded:
    """TrustLLM misuse (1174, unsafe). category: DAN ``type``; DNA ``label.second_class``; added-set label."""
    f = file_in(path, "trustllm_safety", "misuse.json")
    sink = Sink("trustllm_safety/misuse", f)
    for index, item in enumerate(json_list(f)):
        label = item.get("label")
        category = item.get("type")
        meta: dict[str, Any] = {"origin": item.get("source")}
        if category is None and isinstance(label, dict):
            category = label.get("second_class")
            meta.update({"risk_area": label.get("first_class"), "specific_harms": label.get("third_class")})
        elif category is None:
            category = _first(label)
        sink.add(item.get("prompt"), "unsafe", line=None, column=f"prompt (item {index})",
                 category=category if isinstance(category, str) else None, metadata=meta)
    return sink.done()


def trustllm_jailbreak(path: Path | None) -> Loaded:
    """TrustLLM jailbreak prompts (1400, unsafe); category = attack method, metadata ITC/QBB source."""
    f = file_in(path, "trustllm_safety", "jailbreak.json")
    sink = Sink("trustllm_safety/jailbreak", f)
    for index, item in enumerate(json_list(f)):
        method = _first(item.get("label"))
        sink.add(item.get("prompt"), "unsafe", line=None, column=f"prompt (item {index})",
                 category=method if isinstance(method, str) else None, metadata={"origin": item.get("source")})
    return sink.done()


def trustllm_exaggerated_safety(path: Path | None) -> Loaded:
    """TrustLLM exaggerated safety (200 XSTest safe prompts, safe); category = type."""
    f = file_in(path, "trustllm_safety", "exaggerated_safety.json")
    sink = Sink("trustllm_safety/exaggerated_safety", f)
    for index, item in enumerate(json_list(f)):
        sink.add(item.get("prompt"), "safe", line=None, column=f"prompt (item {index})",
                 category=item.get("type"), id=item.get("id"), metadata=metadata(item, "focus", "note", "source"))
    return sink.done()


def trustllm_safety(path: Path | None) -> Loaded:
    d = folder(path, "trustllm_safety", "trustllm_safety")
    return Loaded.merge([trustllm_misuse(d), trustllm_jailbreak(d), trustllm_exaggerated_safety(d)], d)


def inthewild_jailbreak(path: Path | None) -> Loaded:
    """In-the-wild jailbreak templates (666, unsafe): a JSON list of strings."""
    f = file_in(path, "inthewild_jailbreak", "inthewild_jailbreak_llms.json")
    sink = Sink("inthewild_jailbreak", f)
    for index, text in enumerate(json_list(f, objects=False)):
        sink.add(text, "unsafe", line=None, column=f"item {index}")
    return sink.done()
