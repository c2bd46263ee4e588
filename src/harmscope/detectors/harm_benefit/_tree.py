"""Typed schema of a harm-benefit tree (SafetyAnalyst, arXiv:2410.16665).

A tree describes one prompt: the stakeholders it may affect; for each, the harmful and beneficial actions
that complying with the prompt may lead to; for each action, its effects rated by immediacy, extent and
likelihood. Category names are canonical names from ``load_taxonomies()``; build trees from raw JSON with
``validate_tree`` (strict, reports every problem) or ``parse_tree`` (tolerant, for LLM output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harmscope.detectors.harm_benefit._taxonomy import load_taxonomies

Extent = Literal["minor", "significant", "substantial", "major"]
Likelihood = Literal["low", "medium", "high"]
Kind = Literal["harm", "benefit"]

EXTENTS: tuple[Extent, ...] = ("minor", "significant", "substantial", "major")
"""Ordered from least to most severe."""
LIKELIHOODS: tuple[Likelihood, ...] = ("low", "medium", "high")
"""Ordered from least to most likely."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Effect(_Frozen):
    """One effect of an action on a stakeholder."""

    effect: str
    """Canonical effect category (or group) name from effects.yaml, of the action's kind."""
    immediacy: bool
    """True when the effect is immediate or short-term; False when long-term or downstream (discounted)."""
    extent: Extent
    likelihood: Likelihood


class Action(_Frozen):
    """A harmful or beneficial action with its effects."""

    action: str
    """Canonical category: an AIR-2024 level-2 or level-3 name for harms, a benefit_actions.yaml name for
    benefits."""
    effects: tuple[Effect, ...] = ()
    text: str | None = None
    """The action as the generator wrote it, when that differs from the category (free-text benefits)."""


class Stakeholder(_Frozen):
    """Someone (a person, group, institution, ...) a prompt's answer may affect."""

    name: str = Field(min_length=1)
    harms: tuple[Action, ...] = ()
    benefits: tuple[Action, ...] = ()


@dataclass(frozen=True)
class EffectRef:
    """One effect of a tree with its position."""

    stakeholder_index: int
    stakeholder: str
    kind: Kind
    action_index: int
    effect_index: int
    action: Action
    effect: Effect

    @property
    def path(self) -> str:
        return (f"stakeholders[{self.stakeholder_index}].{self.kind}s[{self.action_index}]"
                f".effects[{self.effect_index}]")


class HarmBenefitTree(_Frozen):
    """The harm-benefit tree of one prompt. Category names are checked against the taxonomies."""

    stakeholders: tuple[Stakeholder, ...] = ()

    @model_validator(mode="after")
    def _known_categories(self) -> HarmBenefitTree:
        tax = load_taxonomies()
        bad: list[str] = []
        for i, st in enumerate(self.stakeholders):
            for kind, actions in (("harm", st.harms), ("benefit", st.benefits)):
                acts, effs = tax.actions(kind), tax.effects(kind)  # type: ignore[arg-type]
                for j, act in enumerate(actions):
                    where = f"stakeholders[{i}].{kind}s[{j}]"
                    if not acts.is_slot(act.action):
                        bad.append(f"{where}.action: {act.action!r} is not a {acts.kind} category")
                    for k, eff in enumerate(act.effects):
                        if not effs.is_slot(eff.effect):
                            bad.append(f"{where}.effects[{k}].effect: {eff.effect!r} is not a {effs.kind}")
        if bad:
            raise ValueError("; ".join(bad))
        return self

    def iter_effects(self) -> list[EffectRef]:
        """Every effect with where it sits, in tree order (harms before benefits per stakeholder)."""
        out: list[EffectRef] = []
        for i, st in enumerate(self.stakeholders):
            for kind, actions in (("harm", st.harms), ("benefit", st.benefits)):
                for j, act in enumerate(actions):
                    out.extend(EffectRef(i, st.name, kind, j, k, act, eff)  # type: ignore[arg-type]
                               for k, eff in enumerate(act.effects))
        return out

    def to_records(self) -> list[dict[str, object]]:
        """The tree in SafetyAnalyst's JSON layout (``[{"stakeholder", "harms", "benefits"}]``), as plain
        JSON types (lists, not tuples), so ``validate_tree(tree.to_records())`` gives the tree back."""
        return [
            {"stakeholder": st.name,
             "harms": [a.model_dump(mode="json", exclude_none=True) for a in st.harms],
             "benefits": [a.model_dump(mode="json", exclude_none=True) for a in st.benefits]}
            for st in self.stakeholders
        ]


def merge_trees(*trees: HarmBenefitTree) -> HarmBenefitTree:
    """One tree from several of the same prompt (e.g. a harm tree and a benefit tree, as SafetyAnalyst's
    HarmReporter and BenefitReporter write them), merging stakeholders with the same name."""
    order: list[str] = []
    harms: dict[str, list[Action]] = {}
    benefits: dict[str, list[Action]] = {}
    for tree in trees:
        for st in tree.stakeholders:
            if st.name not in harms:
                order.append(st.name)
                harms[st.name], benefits[st.name] = [], []
            harms[st.name].extend(st.harms)
            benefits[st.name].extend(st.benefits)
    return HarmBenefitTree(stakeholders=tuple(
        Stakeholder(name=n, harms=tuple(harms[n]), benefits=tuple(benefits[n])) for n in order))
