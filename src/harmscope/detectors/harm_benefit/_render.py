"""Rich rendering of a harm-benefit tree with each effect's contribution to the score."""

from __future__ import annotations

from typing import Any

from harmscope.detectors.harm_benefit._aggregate import Explanation
from harmscope.detectors.harm_benefit._tree import HarmBenefitTree


def render_tree(tree: HarmBenefitTree, explanation: Explanation) -> Any:
    """A ``rich.tree.Tree``: verdict at the root, then stakeholders, harms/benefits, actions and effects,
    each with its (summed) contribution. Harm contributions are red, benefits green."""
    from rich.text import Text
    from rich.tree import Tree

    by_path = {c.path: c.value for c in explanation.contributions}
    colour = "red" if explanation.verdict == "unsafe" else "green"
    root = Tree(Text.assemble((explanation.verdict.upper(), f"bold {colour}"),
                              f"  score {explanation.score:+.4f} vs threshold {explanation.threshold:+.4f}"
                              f"  (p = {explanation.probability:.3f})"))
    for i, st in enumerate(tree.stakeholders):
        st_total = sum(v for p, v in by_path.items() if p.startswith(f"stakeholders[{i}]."))
        node = root.add(Text.assemble((st.name, "bold"), f"  {st_total:+.4f}"))
        for kind, actions, style in (("harm", st.harms, "red"), ("benefit", st.benefits, "green")):
            if not actions:
                continue
            kind_node = node.add(Text(f"{kind}s", style=style))
            for j, act in enumerate(actions):
                prefix = f"stakeholders[{i}].{kind}s[{j}]."
                act_total = sum(v for p, v in by_path.items() if p.startswith(prefix))
                label = act.action if act.text is None else f"{act.action} — {act.text}"
                act_node = kind_node.add(Text.assemble(label, (f"  {act_total:+.4f}", style)))
                for k, eff in enumerate(act.effects):
                    value = by_path.get(f"{prefix}effects[{k}]", 0.0)
                    when = "immediate" if eff.immediacy else "long-term"
                    act_node.add(Text.assemble(f"{eff.effect} · {eff.extent} · {eff.likelihood} · {when}",
                                               (f"  {value:+.4f}", style)))
    bias = [c.value for c in explanation.contributions if c.kind == "bias"]
    if bias:
        root.add(Text(f"bias  {bias[0]:+.4f}", style="dim"))
    return root
