"""``LLMTreeGenerator``: an LLM behind any OpenAI-compatible chat endpoint writes the harm tree and the
benefit tree of each prompt (as SafetyAnalyst's HarmReporter and BenefitReporter do), which are merged
into one ``HarmBenefitTree``.

Per prompt there are two *parts*, each one chat request:

- **harm**: stakeholders -> harmful actions (AIR-2024 level-2/3 names) -> harmful effects;
- **benefit**: stakeholders -> beneficial actions (benefit_actions.yaml) -> beneficial effects.

Each request carries a compact template (``_prompts/*.md``: the category names of that part only, the
extent/likelihood/immediacy definitions, and a one-line JSON example) and asks for JSON-schema constrained
output (schema built from the pydantic models, with the category names as enums); ``ChatClient`` falls
back to ``json_object`` or plain text when the server rejects that. The reply goes through the tolerant
``parse_tree``. A part is *accepted* when JSON was found, nothing had to be dropped and there is at least
one stakeholder; otherwise only that part is asked again (up to ``max_attempts`` requests), with the
previous reply and the list of problems as feedback. When no attempt is accepted the best one is kept
(found JSON, fewest dropped parts, most effects) and the result says what was dropped and why.

Accepted parts are cached on disk under ``cache_dir("trees") / <model> / <template version>``, keyed by
the SHA-256 of the prompt text, one small JSON file each, written atomically as soon as the part is done,
so an interrupted run resumes where it stopped. Parts that were never accepted are not cached (a new run
tries them again). The template version includes a hash of the templates and the schema, so editing them
starts a fresh cache. Prompt text is never written to the cache nor logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Literal

from harmscope._paths import cache_dir
from harmscope._progress import progress
from harmscope.detectors.harm_benefit._generator import TreeResult
from harmscope.detectors.harm_benefit._parse import Dropped, ParseResult, Repair, parse_tree
from harmscope.detectors.harm_benefit._taxonomy import Hierarchy, load_taxonomies
from harmscope.detectors.harm_benefit._tree import Action, Effect, HarmBenefitTree, Stakeholder, merge_trees
from harmscope.errors import EndpointError

PartKind = Literal["harm", "benefit"]
PARTS: tuple[PartKind, ...] = ("harm", "benefit")
TEMPLATE_VERSION = "v1"
"""Bump by hand for changes the template hash does not see (e.g. how replies are judged)."""
MAX_FEEDBACK_PROBLEMS = 8
MAX_PREVIOUS_CHARS = 3000
"""The previous reply is sent back on a retry cut to this length (small models have small contexts)."""


# -- templates and schema ------------------------------------------------------------------------------------


def _template(name: str) -> str:
    path = resources.files("harmscope.detectors.harm_benefit").joinpath("_prompts", f"{name}.md")
    return path.read_text(encoding="utf-8").strip()


def _listing(hier: Hierarchy) -> str:
    """One line per weight-level category with its sub-categories: ``- Deception: Fraud; Academic ...``.

    Names are separated by ``;`` because some contain commas. A flat hierarchy is one name per line.
    """
    lines: list[str] = []
    for cat in hier.categories:
        if cat.level != hier.weight_level:
            continue
        children = [c.name for c in hier.categories if c.parent == cat.name]
        lines.append(f"- {cat.name}: {'; '.join(children)}" if children else f"- {cat.name}")
    return "\n".join(lines)


def part_schema(kind: PartKind) -> dict[str, Any]:
    """JSON schema of one part's reply, ``{"stakeholders": [{"name", "<kind>s": [{"action", "effects":
    [{"effect", "immediacy", "extent", "likelihood"}]}]}]}``, in OpenAI's strict form (every property
    required, no extra keys). Field types come from the pydantic models; category names are enums."""
    tax = load_taxonomies()
    effect_props = dict(Effect.model_json_schema()["properties"])
    for key, prop in effect_props.items():
        effect_props[key] = {k: v for k, v in prop.items() if k in ("type", "enum")}
    effect_props["effect"] = {"type": "string", "enum": tax.effects(kind).slots}
    action_props = Action.model_json_schema()["properties"]
    effect = {"type": "object", "properties": effect_props, "required": list(effect_props),
              "additionalProperties": False}
    action = {"type": "object",
              "properties": {"action": {"type": action_props["action"]["type"], "enum": tax.actions(kind).slots},
                             "effects": {"type": "array", "items": effect}},
              "required": ["action", "effects"], "additionalProperties": False}
    name_type = Stakeholder.model_json_schema()["properties"]["name"]["type"]
    stakeholder = {"type": "object",
                   "properties": {"name": {"type": name_type}, f"{kind}s": {"type": "array", "items": action}},
                   "required": ["name", f"{kind}s"], "additionalProperties": False}
    return {"type": "object", "properties": {"stakeholders": {"type": "array", "items": stakeholder}},
            "required": ["stakeholders"], "additionalProperties": False}


@cache
def template_version() -> str:
    """``v1-<hash>``: TEMPLATE_VERSION plus a hash of every template and both schemas (cache key part)."""
    digest = hashlib.sha256()
    for name in ("system", "harm", "benefit", "definitions", "retry"):
        digest.update(_template(name).encode("utf-8"))
    for kind in PARTS:
        digest.update(json.dumps(part_schema(kind), sort_keys=True).encode("utf-8"))
    return f"{TEMPLATE_VERSION}-{digest.hexdigest()[:10]}"


def build_messages(prompt: str, kind: PartKind, *, previous: str | None = None,
                   problems: Sequence[str] = ()) -> list[dict[str, str]]:
    """The chat messages for one part; on a retry also the previous reply and what was wrong with it."""
    tax = load_taxonomies()
    user = Template(_template(kind)).substitute(
        prompt=prompt.strip(), actions=_listing(tax.actions(kind)), effects=_listing(tax.effects(kind)),
        definitions=_template("definitions"))
    messages = [{"role": "system", "content": _template("system")}, {"role": "user", "content": user}]
    if problems:
        if previous is not None:
            messages.append({"role": "assistant", "content": previous[:MAX_PREVIOUS_CHARS]})
        listed = "\n".join(f"- {p}" for p in problems[:MAX_FEEDBACK_PROBLEMS])
        if len(problems) > MAX_FEEDBACK_PROBLEMS:
            listed += f"\n- ... and {len(problems) - MAX_FEEDBACK_PROBLEMS} more"
        messages.append({"role": "user", "content": Template(_template("retry")).substitute(problems=listed)})
    return messages


# -- judging a reply -----------------------------------------------------------------------------------------


def _only_kind(tree: HarmBenefitTree, kind: PartKind) -> HarmBenefitTree:
    """The tree with only this part's kind of actions (a harm reply that also lists benefits keeps harms)."""
    return HarmBenefitTree(stakeholders=tuple(
        Stakeholder(name=st.name, harms=st.harms if kind == "harm" else (),
                    benefits=st.benefits if kind == "benefit" else ())
        for st in tree.stakeholders))


@dataclass(frozen=True)
class ReplyCheck:
    """One reply parsed for one part, and the problems that make it unacceptable (none = accepted)."""

    parse: ParseResult
    problems: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return not self.problems


def judge_reply(text: str, kind: PartKind) -> ReplyCheck:
    """Parse one reply for part ``kind`` and list what is wrong with it (see the module docstring)."""
    parsed = parse_tree(text)
    parsed = ParseResult(_only_kind(parsed.tree, kind), parsed.repairs, parsed.dropped)
    problems = [f"{d.path}: {d.reason}" if d.path != "$" else d.reason for d in parsed.dropped]
    if not parsed.tree.stakeholders and not any(d.path == "$" for d in parsed.dropped):
        problems.append('no stakeholders: list at least one (e.g. "the user")')
    return ReplyCheck(parsed, tuple(problems))


def _score(parsed: ParseResult) -> tuple[int, int, int]:
    """Higher is better: JSON found, fewer dropped parts, more effects."""
    found = not any(d.path == "$" for d in parsed.dropped)
    return (int(found), -len(parsed.dropped), parsed.n_effects)


# -- results -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartReport:
    """How one part (the harm tree or the benefit tree of a prompt) was obtained."""

    kind: PartKind
    accepted: bool
    """An attempt passed (JSON found, nothing dropped, at least one stakeholder)."""
    attempts: int
    """Chat requests made in this run (0 when the part came from the cache)."""
    cached: bool
    problems: tuple[str, ...] = ()
    """Why each rejected attempt was rejected (one line per attempt, in order)."""
    response_format: str | None = None
    """Format of the request that produced the kept reply (json_schema, json_object or text)."""


@dataclass(frozen=True)
class LLMTreeResult(TreeResult):
    """A TreeResult plus how each part was generated. ``parse`` merges both parts' repairs and drops, with
    paths prefixed by ``harm:`` / ``benefit:``."""

    parts: tuple[PartReport, ...] = ()

    @property
    def attempts(self) -> int:
        """Chat requests made for this prompt in this run (both parts)."""
        return sum(p.attempts for p in self.parts)

    @property
    def accepted(self) -> bool:
        """Both parts passed (possibly after repairs and retries)."""
        return bool(self.parts) and all(p.accepted for p in self.parts)

    @property
    def dropped(self) -> tuple[Dropped, ...]:
        return self.parse.dropped if self.parse is not None else ()


@dataclass(frozen=True)
class _Part:
    tree: HarmBenefitTree
    parse: ParseResult
    report: PartReport


# -- cache ---------------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "model"


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


@dataclass
class TreeCache:
    """Accepted parts on disk: ``<root>/<model>/<template version>/<hash[:2]>/<hash>.<kind>.json``."""

    root: Path
    model: str
    version: str
    hits: int = field(default=0, init=False)

    def path(self, key: str, kind: PartKind) -> Path:
        return self.root / _slug(self.model) / self.version / key[:2] / f"{key}.{kind}.json"

    def get(self, key: str, kind: PartKind) -> _Part | None:
        path = self.path(key, kind)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            tree = HarmBenefitTree.model_validate(data["tree"])
            repairs = tuple(Repair(**r) for r in data.get("repairs", []))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None  # unreadable or no longer valid (taxonomy changed): generate again
        self.hits += 1
        report = PartReport(kind, accepted=True, attempts=0, cached=True,
                            response_format=data.get("response_format"))
        return _Part(tree, ParseResult(tree, repairs, ()), report)

    def put(self, key: str, part: _Part, model_reported: str) -> None:
        path = self.path(key, part.report.kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"kind": part.report.kind, "tree": part.tree.model_dump(mode="json"),
                  "repairs": [asdict(r) for r in part.parse.repairs], "attempts": part.report.attempts,
                  "response_format": part.report.response_format, "model": model_reported,
                  "template_version": self.version, "created": int(time.time())}
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
            os.replace(tmp, path)  # atomic: a reader sees the old file or the whole new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# -- the generator -------------------------------------------------------------------------------------------


class LLMTreeGenerator:
    """Harm-benefit trees written by a chat LLM (``TreeGenerator``). See the module docstring.

    ``model`` and ``base_url`` name the endpoint (``base_url`` default ``$OPENAI_BASE_URL``, else OpenAI);
    the key comes from ``$api_key_env`` (none needed for local servers). Alternatively pass a ready
    ``client``. ``concurrency`` requests are in flight at once; each part gets at most ``max_attempts``
    requests; the first uses ``temperature``, retries ``retry_temperature`` (seeded by the attempt number).
    ``structured=False`` never asks for ``response_format``. ``cache_root`` defaults to
    ``cache_dir("trees")``; ``use_cache=False`` neither reads nor writes it.
    """

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        *,
        client: Any = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 300.0,
        concurrency: int = 4,
        max_attempts: int = 3,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        retry_temperature: float = 0.7,
        structured: bool = True,
        use_cache: bool = True,
        cache_root: Path | str | None = None,
    ) -> None:
        if concurrency < 1 or max_attempts < 1 or max_tokens < 1:
            raise ValueError("concurrency, max_attempts and max_tokens must be at least 1")
        if client is None:
            if not model:
                raise EndpointError("LLMTreeGenerator needs model= (the name the endpoint serves) or client=")
            from harmscope.llm import ChatClient

            client = ChatClient(model, base_url, api_key_env=api_key_env, timeout=timeout,
                                concurrency=concurrency)
        self.client = client
        self.model: str = client.model
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.retry_temperature = retry_temperature
        self.structured = structured
        self.version = template_version()
        self.id = f"llm:{self.model}:{self.version}"
        self.cache: TreeCache | None = None
        if use_cache:
            root = Path(cache_root) if cache_root is not None else cache_dir("trees")
            self.cache = TreeCache(root, self.model, self.version)

    def close(self) -> None:
        self.client.close()

    def generate(self, prompts: Sequence[str]) -> list[TreeResult]:
        """One ``LLMTreeResult`` per prompt, in order. Identical prompts are generated once.

        Raises EndpointRejectedError / EndpointUnreachableError (wrong URL, key or model; server down) at
        once; parts finished before that are in the cache, so the next call resumes after them.
        """
        from harmscope.llm import EndpointRejectedError, EndpointUnreachableError

        keys = [prompt_hash(p) for p in prompts]
        text_of = dict(zip(keys, prompts, strict=True))
        done: dict[tuple[str, PartKind], _Part] = {}
        todo: list[tuple[str, PartKind]] = []
        for key in dict.fromkeys(keys):
            for kind in PARTS:
                hit = self.cache.get(key, kind) if self.cache is not None else None
                if hit is not None:
                    done[(key, kind)] = hit
                else:
                    todo.append((key, kind))
        if todo:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                pending: dict[Future[_Part], tuple[str, PartKind]] = {}
                queue = iter(todo)

                def top_up() -> None:  # lazily, so an abort leaves little queued work behind
                    while len(pending) < self.concurrency and (job := next(queue, None)) is not None:
                        pending[pool.submit(self._part, text_of[job[0]], job[1])] = job

                def finished() -> Any:
                    top_up()
                    while pending:
                        ready, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                        for future in ready:
                            yield pending.pop(future), future
                        top_up()

                try:
                    for job, future in progress(finished(), total=len(todo), desc="harm-benefit trees",
                                                unit="part"):
                        part = future.result()  # re-raises a fatal endpoint error
                        done[job] = part
                        if self.cache is not None and part.report.accepted:
                            self.cache.put(job[0], part, self.model)
                except (EndpointRejectedError, EndpointUnreachableError, KeyboardInterrupt):
                    for other in pending:
                        other.cancel()
                    raise
        return [self._result(done[(key, "harm")], done[(key, "benefit")]) for key in keys]

    def _result(self, harm: _Part, benefit: _Part) -> LLMTreeResult:
        repairs: list[Repair] = []
        dropped: list[Dropped] = []
        for part in (harm, benefit):
            tag = part.report.kind
            repairs.extend(Repair(f"{tag}:{r.path}", r.original, r.fixed, r.reason) for r in part.parse.repairs)
            dropped.extend(Dropped(f"{tag}:{d.path}", d.reason, d.snippet) for d in part.parse.dropped)
        tree = merge_trees(harm.tree, benefit.tree)
        return LLMTreeResult(tree=tree, generator=self.id, parse=ParseResult(tree, tuple(repairs), tuple(dropped)),
                             parts=(harm.report, benefit.report))

    def _part(self, prompt: str, kind: PartKind) -> _Part:
        """Ask for one part until a reply is accepted or the attempts are used up; keep the best reply."""
        from harmscope.llm import EndpointRejectedError, EndpointUnreachableError, JsonSchema

        fmt = JsonSchema(f"{kind}_tree", part_schema(kind)) if self.structured else None
        rejected: list[str] = []
        best: tuple[ParseResult, str | None] | None = None
        previous: str | None = None
        problems: tuple[str, ...] = ()
        for attempt in range(self.max_attempts):
            retry = attempt > 0
            try:
                reply = self.client.complete(
                    build_messages(prompt, kind, previous=previous, problems=problems),
                    response_format=fmt, max_tokens=self.max_tokens,
                    temperature=self.retry_temperature if retry else self.temperature,
                    seed=attempt if retry else None)
            except (EndpointRejectedError, EndpointUnreachableError):
                raise
            except EndpointError as error:
                rejected.append(f"attempt {attempt + 1}: endpoint error: {error}")
                continue
            check = judge_reply(reply.text, kind)
            parsed, problems = check.parse, check.problems
            if reply.finish_reason == "length" and problems:
                problems = (*problems, f"the reply was cut off at max_tokens={self.max_tokens}; be shorter")
            if not problems:
                report = PartReport(kind, True, attempt + 1, False, tuple(rejected), reply.response_format)
                return _Part(parsed.tree, parsed, report)
            rejected.append(f"attempt {attempt + 1}: " + "; ".join(problems[:MAX_FEEDBACK_PROBLEMS]))
            if best is None or _score(parsed) > _score(best[0]):
                best = (parsed, reply.response_format)
            previous = reply.text
        if best is None:  # every attempt failed at the endpoint
            empty = HarmBenefitTree()
            parsed = ParseResult(empty, (), (Dropped("$", "no usable reply: " + rejected[-1], ""),))
            return _Part(empty, parsed, PartReport(kind, False, self.max_attempts, False, tuple(rejected)))
        parsed, used = best
        return _Part(parsed.tree, parsed, PartReport(kind, False, self.max_attempts, False, tuple(rejected), used))


def generation_summary(results: Sequence[TreeResult]) -> Mapping[str, int]:
    """Counts for a report line: prompts, accepted, complete, requests, cached parts."""
    llm = [r for r in results if isinstance(r, LLMTreeResult)]
    return {"prompts": len(results), "accepted": sum(r.accepted for r in llm),
            "complete": sum(r.complete for r in results), "requests": sum(r.attempts for r in llm),
            "cached_parts": sum(p.cached for r in llm for p in r.parts)}
