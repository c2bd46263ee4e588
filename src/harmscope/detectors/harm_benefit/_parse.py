"""Raw JSON -> ``HarmBenefitTree``: strict validation that reports every problem, and a tolerant parser for
LLM output that recovers every valid part and lists what it repaired and what it dropped.

Both walk the raw data with the same rules. ``validate_tree`` accepts only canonical keys, names and values
and returns a ``ValidationReport`` with one ``Issue`` per problem, each with its path
(``stakeholders[2].harms[0].effects[1].extent: 'huge' is not one of minor, significant, substantial,
major``). ``parse_tree`` first strips code fences and repairs the JSON (json_repair), then matches keys,
category names and values leniently (see ``EXTENT_SYNONYMS``, ``LIKELIHOOD_SYNONYMS``, ``IMMEDIACY_WORDS``
and ``Hierarchy.match``), records each such change as a ``Repair`` and drops what it cannot recover
(an effect, an action or a stakeholder) as a ``Dropped`` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harmscope.detectors.harm_benefit._taxonomy import Hierarchy, Taxonomies, load_taxonomies, normalize
from harmscope.detectors.harm_benefit._tree import (
    EXTENTS,
    LIKELIHOODS,
    Action,
    Effect,
    HarmBenefitTree,
    Kind,
    Stakeholder,
)
from harmscope.errors import HarmscopeError

EXTENT_SYNONYMS: dict[str, str] = {
    "minimal": "minor", "small": "minor", "slight": "minor", "mild": "minor", "negligible": "minor",
    "limited": "minor", "low": "minor",
    "moderate": "significant", "medium": "significant", "notable": "significant", "meaningful": "significant",
    "considerable": "substantial", "high": "substantial", "large": "substantial", "serious": "substantial",
    "severe": "substantial",
    "critical": "major", "catastrophic": "major", "extreme": "major", "very high": "major", "massive": "major",
}
"""Loose extent words -> canonical extent. The four canonical levels follow the SafetyAnalyst definitions
(minor: isolated, reversible; significant: reversible with significant effort; substantial: widespread, not
easily reversible; major: systemic, irreversible, catastrophic), so "moderate" -> significant and "severe" ->
substantial; "critical"/"catastrophic"/"extreme" -> major."""

LIKELIHOOD_SYNONYMS: dict[str, str] = {
    "unlikely": "low", "rare": "low", "very low": "low", "improbable": "low", "minimal": "low",
    "moderate": "medium", "possible": "medium", "mid": "medium", "average": "medium", "moderately likely": "medium",
    "likely": "high", "very likely": "high", "probable": "high", "very high": "high", "certain": "high",
    "almost certain": "high",
}
"""Loose likelihood words -> canonical likelihood. Numbers (0.8, "80%") map by the paper's bands:
below 30 % low, 30-70 % medium, above 70 % high."""

IMMEDIACY_WORDS: dict[str, bool] = {
    "true": True, "yes": True, "y": True, "1": True, "immediate": True, "short term": True,
    "immediately": True, "direct": True,
    "false": False, "no": False, "n": False, "0": False, "long term": False, "delayed": False,
    "downstream": False, "indirect": False, "not immediate": False,
}
"""Loose immediacy values -> bool (True = immediate / short-term)."""

_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "stakeholder": {
        "name": ("stakeholder name", "who", "entity", "stakeholders"),
        "harms": ("harm", "harmful actions", "harm actions", "harmful action"),
        "benefits": ("benefit", "beneficial actions", "benefit actions", "beneficial action"),
    },
    "action": {
        "action": ("action type", "category", "harmful action", "beneficial action", "type", "name"),
        "effects": ("effect list", "harmful effects", "beneficial effects", "consequences", "effect"),
        "text": ("description", "details"),
    },
    "effect": {
        "effect": ("effect type", "effect category", "category", "type", "name"),
        "immediacy": ("immediate", "is immediate", "immediately", "short term"),
        "extent": ("severity", "magnitude", "degree", "extent of harm", "extent of benefit"),
        "likelihood": ("probability", "likeliness", "chance", "likelyhood"),
    },
}
_STRICT_KEYS: dict[str, set[str]] = {"stakeholder": {"name", "stakeholder", "harms", "benefits"},
                                     "action": {"action", "effects", "text"},
                                     "effect": {"effect", "immediacy", "extent", "likelihood"}}
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)(?:```|$)", re.DOTALL)


class TreeValidationError(HarmscopeError, ValueError):
    """Raised by ``ValidationReport.raise_if_invalid``; its message lists every issue."""


@dataclass(frozen=True)
class Issue:
    """One problem found by ``validate_tree``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class ValidationReport:
    """Result of strict validation: every issue, and the tree when there were none."""

    issues: tuple[Issue, ...]
    tree: HarmBenefitTree | None

    @property
    def ok(self) -> bool:
        return not self.issues

    def __str__(self) -> str:
        if self.ok:
            return "valid harm-benefit tree"
        return f"{len(self.issues)} problem(s):\n" + "\n".join(f"  {i}" for i in self.issues)

    def raise_if_invalid(self) -> HarmBenefitTree:
        """The tree, or TreeValidationError listing every issue."""
        if self.tree is None:
            raise TreeValidationError(f"invalid harm-benefit tree, {self!s}")
        return self.tree


@dataclass(frozen=True)
class Repair:
    """A value ``parse_tree`` changed to make it valid (kept in the tree)."""

    path: str
    original: str
    fixed: str
    reason: str


@dataclass(frozen=True)
class Dropped:
    """A part ``parse_tree`` could not recover (left out of the tree), with why."""

    path: str
    reason: str
    snippet: str
    """Start of the dropped raw value (at most 80 characters) to help find it in the generator output."""


@dataclass(frozen=True)
class ParseResult:
    """The recovered tree plus exactly what was repaired and what was dropped."""

    tree: HarmBenefitTree
    repairs: tuple[Repair, ...] = ()
    dropped: tuple[Dropped, ...] = ()

    @property
    def complete(self) -> bool:
        """True when nothing was dropped."""
        return not self.dropped

    @property
    def n_effects(self) -> int:
        return len(self.tree.iter_effects())


def _snippet(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class _Walker:
    lenient: bool
    tax: Taxonomies
    issues: list[Issue] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)

    # A fixable deviation: an issue in strict mode, a repair in lenient mode; the walk goes on either way.
    def fix(self, path: str, original: Any, fixed: Any, strict_msg: str, reason: str) -> None:
        if self.lenient:
            self.repairs.append(Repair(path, _snippet(original), _snippet(fixed), reason))
        else:
            self.issues.append(Issue(path, strict_msg))

    # An unrecoverable problem: the part at ``path`` is dropped.
    def fail(self, path: str, reasons: Sequence[str], raw: Any) -> None:
        if self.lenient:
            self.dropped.append(Dropped(path, "; ".join(reasons), _snippet(raw)))
        else:
            self.issues.extend(Issue(path, r) for r in reasons)

    def fields(self, obj: Mapping[Any, Any], level: str, path: str) -> dict[str, Any]:
        """Map the keys of ``obj`` to canonical field names; unknown keys are reported and ignored."""
        out: dict[str, Any] = {}
        for key, value in obj.items():
            canon = self._canonical_key(str(key), level)
            kpath = f"{path}.{key}"
            if canon is None:
                allowed = ", ".join(sorted(_STRICT_KEYS[level]))
                self.fail(kpath, [f"unknown key {str(key)!r} (allowed: {allowed})"], value)
                continue
            if level == "stakeholder" and canon == "stakeholder":
                canon = "name"
            if canon in out:
                self.fail(kpath, [f"duplicate key for {canon!r}; kept the first"], value)
                continue
            if canon != key and not (level == "stakeholder" and key == "stakeholder"):
                self.fix(kpath, key, canon, f"unknown key {str(key)!r}; did you mean {canon!r}?",
                         "key spelling")
            out[canon] = value
        return out

    def _canonical_key(self, key: str, level: str) -> str | None:
        if key in _STRICT_KEYS[level]:
            return key
        norm = normalize(key)
        for canon, synonyms in _KEYS[level].items():
            if norm == canon or norm in synonyms:
                return canon
        if level == "stakeholder" and norm == "stakeholder":
            return "stakeholder"
        return None

    # -- levels ------------------------------------------------------------------------------------------
    def tree(self, data: Any) -> HarmBenefitTree:
        items = self._stakeholder_list(data)
        stakeholders = [st for i, raw in enumerate(items)
                        if (st := self.stakeholder(raw, f"stakeholders[{i}]", i)) is not None]
        return HarmBenefitTree(stakeholders=tuple(stakeholders))

    def _stakeholder_list(self, data: Any) -> list[Any]:
        if isinstance(data, list):
            if data and all(isinstance(x, list) for x in data):  # e.g. a harm tree and a benefit tree
                self.fix("stakeholders", "[[...], [...]]", "[...]", "expected a list of stakeholders, "
                         "got a list of lists", "flattened nested lists")
                return [x for sub in data for x in sub]
            return data
        if isinstance(data, Mapping):
            keys = {normalize(str(k)): k for k in data}
            if "stakeholders" in keys and isinstance(data[keys["stakeholders"]], list):
                return list(data[keys["stakeholders"]])
            if any(self._canonical_key(str(k), "stakeholder") for k in data):
                self.fix("stakeholders", "{...}", "[{...}]", "expected a list of stakeholders, got one object",
                         "wrapped a single stakeholder in a list")
                return [data]
            lists = [k for k, v in data.items() if isinstance(v, list)]
            if self.lenient and len(lists) == 1:
                self.fix("stakeholders", lists[0], "stakeholders", "", "used the only list in the object")
                return list(data[lists[0]])
        self.fail("stakeholders", [f"expected a list of stakeholders, got {type(data).__name__}"], data)
        return []

    def stakeholder(self, raw: Any, path: str, i: int) -> Stakeholder | None:
        if not isinstance(raw, Mapping):
            self.fail(path, [f"expected an object, got {type(raw).__name__}"], raw)
            return None
        f = self.fields(raw, "stakeholder", path)
        name = f.get("name")
        if not isinstance(name, str) or not name.strip():
            fixed = f"stakeholder {i + 1}"
            what = "missing name" if name is None else f"{name!r} is not a non-empty string"
            self.fix(f"{path}.name", name, fixed, what, "named by position")
            name = fixed
        kinds: dict[Kind, list[Action]] = {"harm": [], "benefit": []}
        for kind in ("harm", "benefit"):
            key = f"{kind}s"
            raw_actions = f.get(key, [])
            if raw_actions is None:
                self.fix(f"{path}.{key}", None, [], f"{key}: expected a list, got null", "null -> empty list")
                raw_actions = []
            if isinstance(raw_actions, Mapping):
                self.fix(f"{path}.{key}", "{...}", "[{...}]", f"{key}: expected a list, got one object",
                         "wrapped a single action in a list")
                raw_actions = [raw_actions]
            if not isinstance(raw_actions, list):
                self.fail(f"{path}.{key}", [f"expected a list, got {type(raw_actions).__name__}"], raw_actions)
                continue
            for j, raw_act in enumerate(raw_actions):
                act = self.action(raw_act, f"{path}.{key}[{j}]", kind)
                if act is not None:
                    kinds[kind].append(act)
        return Stakeholder(name=name.strip(), harms=tuple(kinds["harm"]), benefits=tuple(kinds["benefit"]))

    def action(self, raw: Any, path: str, kind: Kind) -> Action | None:
        if not isinstance(raw, Mapping):
            self.fail(path, [f"expected an object, got {type(raw).__name__}"], raw)
            return None
        f = self.fields(raw, "action", path)
        hier = self.tax.actions(kind)
        name = f.get("action")
        category: str | None = None
        text = f.get("text") if isinstance(f.get("text"), str) else None
        if not isinstance(name, str) or not name.strip():
            self.fail(f"{path}.action", ["missing action" if name is None else f"{name!r} is not a string"], raw)
        else:
            category = self._category(hier, name, f"{path}.action", path, raw)
            if category is not None and category != name and kind == "benefit" and text is None:
                text = name.strip()
        raw_effects = f.get("effects")
        effects: list[Effect] = []
        if category is None and self.lenient:
            return None  # already listed as dropped; its effects go with it
        if raw_effects is None:
            self.fail(f"{path}.effects", ["missing effects"], raw)
        else:
            if isinstance(raw_effects, Mapping):
                self.fix(f"{path}.effects", "{...}", "[{...}]", "effects: expected a list, got one object",
                         "wrapped a single effect in a list")
                raw_effects = [raw_effects]
            if not isinstance(raw_effects, list):
                self.fail(f"{path}.effects", [f"expected a list, got {type(raw_effects).__name__}"], raw_effects)
            else:
                for k, raw_eff in enumerate(raw_effects):
                    eff = self.effect(raw_eff, f"{path}.effects[{k}]", kind)
                    if eff is not None:
                        effects.append(eff)
        if category is None:
            return None
        return Action(action=category, effects=tuple(effects), text=text)

    def _category(self, hier: Hierarchy, text: str, path: str, drop_path: str, raw: Any) -> str | None:
        """Canonical category for ``text``; ``path`` is the field, ``drop_path`` the part dropped if none."""
        if not self.lenient:
            if hier.is_slot(text):
                return text
            close = hier.close_matches(text)
            hint = f"; close: {', '.join(close)}" if close else ""
            level_hint = ""
            if text in hier:  # a real category, but too broad
                hint = ""
                level_hint = (f" (level {hier.get(text).level} is above the weight level; use one of: "
                              f"{', '.join(hier.below_weight_level(text))})")
            self.issues.append(Issue(path, f"{text!r} is not a {hier.kind} category{level_hint}{hint}"))
            return None
        m = hier.match(text)
        if m is None:
            close = hier.close_matches(text)
            hint = f"; close: {', '.join(close)}" if close else ""
            self.fail(drop_path, [f"{text!r} matches no {hier.kind} category{hint}"], raw)
            return None
        if not hier.is_slot(m.name):
            below = ", ".join(hier.below_weight_level(m.name))
            self.fail(drop_path, [(f"{text!r} names only the level-{hier.get(m.name).level} category {m.name!r}, "
                             f"too broad to weight; expected one of: {below}")], raw)
            return None
        if m.name != text:
            self.fix(path, text, m.name, "", f"category matched ({m.how})")
        return m.name

    def effect(self, raw: Any, path: str, kind: Kind) -> Effect | None:
        if not isinstance(raw, Mapping):
            self.fail(path, [f"expected an object, got {type(raw).__name__}"], raw)
            return None
        f = self.fields(raw, "effect", path)
        problems: list[tuple[str, str]] = []  # (field path, message)
        effect: str | None = None
        name = f.get("effect")
        if isinstance(name, int) and not isinstance(name, bool):
            name = str(name)
        if not isinstance(name, str) or not name.strip():
            problems.append((f"{path}.effect", "missing effect" if name is None else f"{name!r} is not a string"))
        else:
            n_before = len(self.issues) + len(self.dropped)
            effect = self._category(self.tax.effects(kind), name, f"{path}.effect", path, raw)
            if effect is None and self.lenient and len(self.dropped) > n_before:
                problems.append((f"{path}.effect", self.dropped.pop().reason))
        immediacy = self._immediacy(f.get("immediacy"), f"{path}.immediacy", problems)
        extent = self._level(f.get("extent"), "extent", EXTENTS, EXTENT_SYNONYMS, f"{path}.extent", problems)
        likelihood = self._level(f.get("likelihood"), "likelihood", LIKELIHOODS, LIKELIHOOD_SYNONYMS,
                                 f"{path}.likelihood", problems)
        if problems:
            if self.lenient:
                self.fail(path, [f"{p.rsplit('.', 1)[-1]}: {m}" for p, m in problems], raw)
            else:
                self.issues.extend(Issue(p, m) for p, m in problems)
            return None
        if effect is None or immediacy is None or extent is None or likelihood is None:
            return None
        return Effect(effect=effect, immediacy=immediacy, extent=extent,  # type: ignore[arg-type]
                      likelihood=likelihood)  # type: ignore[arg-type]

    def _immediacy(self, value: Any, path: str, problems: list[tuple[str, str]]) -> bool | None:
        if isinstance(value, bool):
            return value
        if value is None:
            problems.append((path, "missing immediacy (true = immediate, false = long-term)"))
            return None
        key = normalize(str(value))
        if key in IMMEDIACY_WORDS:
            fixed = IMMEDIACY_WORDS[key]
            self.fix(path, value, fixed, f"{value!r} is not a boolean (true or false)", "immediacy word")
            return fixed
        problems.append((path, f"{value!r} is not a boolean (true or false)"))
        return None

    def _level(self, value: Any, what: str, allowed: Sequence[str], synonyms: Mapping[str, str], path: str,
               problems: list[tuple[str, str]]) -> str | None:
        choices = ", ".join(allowed)
        if value is None:
            problems.append((path, f"missing {what} (one of {choices})"))
            return None
        if isinstance(value, str) and value in allowed:
            return value
        fixed: str | None = None
        if what == "likelihood" and not isinstance(value, bool):
            fixed = _likelihood_number(value)
        if fixed is None and isinstance(value, str):
            key = normalize(value)
            fixed = key if key in allowed else synonyms.get(key)
        if fixed is None:
            problems.append((path, f"{value!r} is not one of {choices}"))
            return None
        self.fix(path, value, fixed, f"{value!r} is not one of {choices}", f"{what} synonym")
        return fixed


def _likelihood_number(value: Any) -> str | None:
    """0.8 / "80%" / "0.8" -> "high" by the paper's bands (< 30 % low, 30-70 % medium, > 70 % high)."""
    if isinstance(value, (int, float)):
        p = float(value)
    elif isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", value)):
        p = float(m.group(1)) / (100.0 if m.group(2) else 1.0)
    else:
        return None
    if p > 1.0:
        p /= 100.0
    if not 0.0 <= p <= 1.0:
        return None
    return "low" if p < 0.3 else ("medium" if p <= 0.7 else "high")


def validate_tree(data: Any) -> ValidationReport:
    """Check raw JSON data (SafetyAnalyst's list of ``{"stakeholder", "harms", "benefits"}`` or
    ``{"stakeholders": [...]}``) against the schema and taxonomies; report every problem with its path."""
    walker = _Walker(lenient=False, tax=load_taxonomies())
    tree = walker.tree(data)
    issues = tuple(walker.issues)
    return ValidationReport(issues=issues, tree=None if issues else tree)


def strip_fences(text: str) -> str:
    """The content of the first Markdown code fence if there is one, else ``text`` without chatter before the
    first ``[`` or ``{``."""
    m = _FENCE.search(text)
    if m:
        return m.group(1)
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    return text[min(starts):] if starts else text


def parse_tree(text: str) -> ParseResult:
    """Recover a harm-benefit tree from LLM output (code fences, chatter, broken JSON, loose keys and values)."""
    from json_repair import loads  # light, but only needed here

    body = strip_fences(text)
    repairs: list[Repair] = []
    if body != text:
        repairs.append(Repair("$", "<text around the JSON>", "<JSON only>", "stripped code fence or chatter"))
    try:
        import json

        data: Any = json.loads(body)
    except ValueError:
        data = loads(body)
        if data not in ("", None):
            repairs.append(Repair("$", "<invalid JSON>", "<repaired JSON>", "repaired JSON syntax (json_repair)"))
    if data in ("", None) or isinstance(data, (str, int, float, bool)):
        empty = HarmBenefitTree()
        return ParseResult(empty, tuple(repairs), (Dropped("$", "no JSON list or object found", _snippet(text)),))
    walker = _Walker(lenient=True, tax=load_taxonomies())
    tree = walker.tree(data)
    return ParseResult(tree, tuple(repairs + walker.repairs), tuple(walker.dropped))
