"""Safety-Contrast set for Do-Not-Answer (``dna_contrast``): unsafe prompts next to minimal safe edits.

Each sampled Do-Not-Answer question (unsafe) comes with 5 edits that change a few words and make the
request clearly safe, in the spirit of the (unpublished) Safety-Contrast set of the Safe-Embed paper.
It tests whether an encoder or detector separates *intent* rather than topic words.

The shipped set ``dna_contrast_v1.jsonl`` was hand-written for this project (see README.md in this
folder); :func:`generate` makes more with any OpenAI-compatible chat endpoint. Files store only the
Do-Not-Answer id and our edits; :func:`load` joins them with the Do-Not-Answer data at load time.
"""

from __future__ import annotations

from pathlib import Path

from harmscope.data.dna_contrast._generate import (
    GenerationReport,
    InvalidReply,
    build_messages,
    generate,
    parse_edits,
)
from harmscope.data.dna_contrast._set import (
    EDITS_PER_PROMPT,
    MAX_CHANGE_RATIO,
    CheckReport,
    ContrastRow,
    EditIssue,
    check_rows,
    dna_records,
    join_rows,
    read_rows,
    sample_dna,
    word_change_ratio,
)
from harmscope.types import PromptRecord

DEFAULT_FILE = Path(__file__).with_name("dna_contrast_v1.jsonl")
"""The hand-written set shipped with the package (120 prompts x 5 edits)."""

__all__ = [
    "DEFAULT_FILE",
    "EDITS_PER_PROMPT",
    "MAX_CHANGE_RATIO",
    "CheckReport",
    "ContrastRow",
    "EditIssue",
    "GenerationReport",
    "InvalidReply",
    "build_messages",
    "check",
    "check_rows",
    "dna_records",
    "generate",
    "load",
    "parse_edits",
    "read_rows",
    "sample_dna",
    "word_change_ratio",
]


def load(path: Path | str | None = None) -> list[PromptRecord]:
    """The contrast set as records: per prompt, the unsafe original followed by its 5 safe edits.

    ``path`` is a contrast JSONL file (default: the shipped hand-written set; a :func:`generate` output
    works too). All records have ``source="dna_contrast"``, ``pair_id`` = the Do-Not-Answer id and
    ``category`` = its ``types_of_harm``; the original keeps ``id`` = that id, edit *k* gets
    ``"{id}.e{k}"``. Raises DataFormatError when an id is missing from the Do-Not-Answer data.
    """
    file = Path(path) if path is not None else DEFAULT_FILE
    return join_rows(read_rows(file), dna_records(), file)


def check(path: Path | str | None = None, max_change: float = MAX_CHANGE_RATIO) -> CheckReport:
    """Integrity report for a contrast file (default: the shipped set) against the Do-Not-Answer data."""
    file = Path(path) if path is not None else DEFAULT_FILE
    return check_rows(read_rows(file), dna_records(), max_change)
