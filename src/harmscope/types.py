"""Typed records shared across the package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Label = Literal["safe", "unsafe"]
LABELS: tuple[Label, Label] = ("safe", "unsafe")


@dataclass(frozen=True)
class PromptRecord:
    """One prompt from any dataset, in one shape."""

    text: str
    """The prompt text as the user would send it."""
    label: Label | None
    """``"unsafe"``/``"safe"``, or ``None`` where the source gives no prompt-level label."""
    category: str | None = None
    """The harm category in the *source's own* taxonomy (mapped to ours elsewhere)."""
    source: str = ""
    """Registered dataset name (e.g. ``"xstest"``), plus ``/subset`` where a set has parts."""
    pair_id: str | None = None
    """Links matched safe/unsafe prompts (XSTest types, JBB goals, PhysicalSafety pairs)."""
    id: str | None = None
    """The row id in the source, where it has one."""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Other source columns worth keeping (subcategory, adversarial flag, …)."""

    @property
    def y(self) -> int:
        """1 for unsafe, 0 for safe; raises for unlabeled records."""
        if self.label is None:
            raise ValueError(f"record {self.id!r} from {self.source!r} has no label")
        return 1 if self.label == "unsafe" else 0
