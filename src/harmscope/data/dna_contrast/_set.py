"""The Safety-Contrast file format, the seeded Do-Not-Answer sample, and the join that turns rows into records.

A contrast file is JSON Lines, one Do-Not-Answer prompt per line::

    {"dna_id": "412", "types_of_harm": "Assisting illegal activities",
     "edits": ["...", "...", "...", "...", "..."], "source": "hand-written"}

The original (unsafe) question is never stored: it is read from the Do-Not-Answer data at load time, so
the file holds only our own text and the upstream prompts are not redistributed.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harmscope.errors import DataFormatError, DataNotFoundError
from harmscope.types import PromptRecord

EDITS_PER_PROMPT = 5
"""Safe minimal edits per unsafe prompt, as in the Safe-Embed Safety-Contrast set."""

SOURCE = "dna_contrast"
"""``PromptRecord.source`` of every record this dataset returns."""

MAX_CHANGE_RATIO = 0.6
"""Edits whose word-level change ratio exceeds this are not "minimal" and are flagged by :func:`check_rows`."""


@dataclass(frozen=True)
class ContrastRow:
    """One line of a contrast file: a Do-Not-Answer id and its safe edits."""

    dna_id: str
    types_of_harm: str
    edits: tuple[str, ...]
    source: str
    """``"hand-written"`` or ``"generated:<model>"``."""

    def to_json(self) -> str:
        """The row as one JSON line (no trailing newline)."""
        return json.dumps(
            {"dna_id": self.dna_id, "types_of_harm": self.types_of_harm, "edits": list(self.edits),
             "source": self.source},
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class EditIssue:
    """One edit (or row) that fails the integrity check."""

    dna_id: str
    edit_index: int | None
    """0-based index into ``edits``; ``None`` when the problem concerns the whole row."""
    problem: str


@dataclass(frozen=True)
class CheckReport:
    """Integrity figures for a contrast file joined with its originals."""

    prompts: int
    edits: int
    per_type: dict[str, int]
    """Prompts per Do-Not-Answer harm type."""
    median_change_ratio: float
    max_change_ratio: float
    issues: tuple[EditIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues


# ---------------------------------------------------------------------------------------------------------
# Do-Not-Answer originals


def dna_records() -> list[PromptRecord]:
    """The 939 Do-Not-Answer prompts (all unsafe), ``id`` = CSV ``id``, ``category`` = ``types_of_harm``.

    Read through the dataset registry (``load_dataset("do_not_answer")``), so ``HARMSCOPE_DATA`` decides
    where they come from.
    """
    from harmscope.data import load_dataset

    return load_dataset("do_not_answer")


def sample_dna(records: Sequence[PromptRecord], per_type: int = 10, seed: int = 0) -> list[PromptRecord]:
    """A stratified, seeded sample: ``per_type`` prompts from each harm type (all of a smaller type).

    Order within a type is by SHA-256 of ``"{seed}:{id}"``, so the draw does not depend on the file's row
    order or on Python's ``random`` implementation, and a larger ``per_type`` extends a smaller one (the
    sample for 10 is the first 10 of the sample for 12). Result order: harm type (sorted), then that hash.
    """
    if per_type < 1:
        raise ValueError(f"per_type must be at least 1, got {per_type}")
    by_type: dict[str, list[PromptRecord]] = defaultdict(list)
    for record in records:
        if record.id is None or record.category is None:
            raise ValueError("Do-Not-Answer records need an id and a category (types_of_harm)")
        by_type[record.category].append(record)

    def key(record: PromptRecord) -> str:
        return hashlib.sha256(f"{seed}:{record.id}".encode()).hexdigest()

    return [r for harm in sorted(by_type) for r in sorted(by_type[harm], key=key)[:per_type]]


# ---------------------------------------------------------------------------------------------------------
# Contrast files


def parse_row(obj: object, path: Path, line: int) -> ContrastRow:
    """Validate one decoded JSON line; raises :class:`DataFormatError` naming the file and line."""
    if not isinstance(obj, dict):
        raise DataFormatError(path, "each line must be a JSON object", line)
    missing = {"dna_id", "types_of_harm", "edits"} - obj.keys()
    if missing:
        raise DataFormatError(path, f"missing key(s) {', '.join(sorted(missing))}", line)
    dna_id, harm, edits = obj["dna_id"], obj["types_of_harm"], obj["edits"]
    if not isinstance(dna_id, str | int) or isinstance(dna_id, bool) or not str(dna_id).strip():
        raise DataFormatError(path, "dna_id must be a non-empty string", line)
    if not isinstance(harm, str) or not harm:
        raise DataFormatError(path, "types_of_harm must be a non-empty string", line)
    if not isinstance(edits, list) or not all(isinstance(e, str) and e.strip() for e in edits):
        raise DataFormatError(path, "edits must be a list of non-empty strings", line)
    if len(edits) != EDITS_PER_PROMPT:
        raise DataFormatError(path, f"edits must hold {EDITS_PER_PROMPT} strings, found {len(edits)}", line)
    return ContrastRow(dna_id=str(dna_id).strip(), types_of_harm=harm, edits=tuple(e.strip() for e in edits),
                       source=str(obj.get("source") or "unknown"))


def read_rows(path: Path | str) -> list[ContrastRow]:
    """All rows of a contrast file, validated; duplicate ``dna_id`` values are an error."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(path, "give the path of a dna-contrast JSONL file")
    rows: list[ContrastRow] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(path, f"not valid JSON ({error.msg})", line_no) from None
            row = parse_row(obj, path, line_no)
            if row.dna_id in seen:
                raise DataFormatError(path, f"dna_id {row.dna_id!r} repeats line {seen[row.dna_id]}", line_no)
            seen[row.dna_id] = line_no
            rows.append(row)
    return rows


def join_rows(rows: Iterable[ContrastRow], originals: Iterable[PromptRecord], path: Path) -> list[PromptRecord]:
    """Each row -> 1 unsafe record (the original question) followed by its 5 safe edits.

    All six share ``pair_id = dna_id`` and ``category = types_of_harm``. Raises :class:`DataFormatError`
    when an id is not in the Do-Not-Answer data or its harm type disagrees with it.
    """
    by_id = {r.id: r for r in originals}
    out: list[PromptRecord] = []
    for line_no, row in enumerate(rows, start=1):
        original = by_id.get(row.dna_id)
        if original is None:
            raise DataFormatError(
                path, f"dna_id {row.dna_id!r} is not in the Do-Not-Answer data; check the id or the data "
                "folder (HARMSCOPE_DATA)", line_no)
        if original.category != row.types_of_harm:
            raise DataFormatError(
                path, f"dna_id {row.dna_id!r} has types_of_harm {row.types_of_harm!r} but Do-Not-Answer says "
                f"{original.category!r}", line_no)
        common = {"set_source": row.source}
        out.append(PromptRecord(text=original.text, label="unsafe", category=row.types_of_harm, source=SOURCE,
                                pair_id=row.dna_id, id=row.dna_id, metadata={**common, "edit_index": None}))
        for k, edit in enumerate(row.edits, start=1):
            out.append(PromptRecord(text=edit, label="safe", category=row.types_of_harm, source=SOURCE,
                                    pair_id=row.dna_id, id=f"{row.dna_id}.e{k}",
                                    metadata={**common, "edit_index": k}))
    return out


# ---------------------------------------------------------------------------------------------------------
# Minimality


_WORD = re.compile(r"[\w'’-]+")


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def word_change_ratio(original: str, edit: str) -> float:
    """Word-level Levenshtein distance / the longer word count (0 = same words, 1 = nothing kept).

    Case and punctuation are ignored, so "How can I X?" -> "how can i x" scores 0.
    """
    a, b = _words(original), _words(edit)
    if not a and not b:
        return 0.0
    previous = list(range(len(b) + 1))
    for i, word_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, word_b in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word_a != word_b))
        previous = current
    return previous[-1] / max(len(a), len(b))


def _norm(text: str) -> str:
    return " ".join(_words(text))


def edit_problem(original: str, edit: str, others: Sequence[str] = (),
                 max_change: float = MAX_CHANGE_RATIO) -> str | None:
    """Why ``edit`` is not an acceptable minimal safe edit of ``original`` (``None`` if it is)."""
    if not edit.strip():
        return "empty"
    if _norm(edit) == _norm(original):
        return "same words as the original"
    if any(_norm(edit) == _norm(o) for o in others):
        return "duplicates another edit"
    ratio = word_change_ratio(original, edit)
    if ratio > max_change:
        return f"changes {ratio:.2f} of the words (limit {max_change})"
    return None


def check_rows(rows: Sequence[ContrastRow], originals: Iterable[PromptRecord],
               max_change: float = MAX_CHANGE_RATIO) -> CheckReport:
    """Every edit non-empty, different from its original and its siblings, and at most ``max_change``."""
    by_id = {r.id: r for r in originals}
    issues: list[EditIssue] = []
    ratios: list[float] = []
    for row in rows:
        original = by_id.get(row.dna_id)
        if original is None:
            issues.append(EditIssue(row.dna_id, None, "id not in the Do-Not-Answer data"))
            continue
        for k, edit in enumerate(row.edits):
            ratios.append(word_change_ratio(original.text, edit))
            problem = edit_problem(original.text, edit, row.edits[:k], max_change)
            if problem:
                issues.append(EditIssue(row.dna_id, k, problem))
    return CheckReport(
        prompts=len(rows), edits=sum(len(r.edits) for r in rows),
        per_type=dict(sorted(Counter(r.types_of_harm for r in rows).items())),
        median_change_ratio=statistics.median(ratios) if ratios else 0.0,
        max_change_ratio=max(ratios, default=0.0), issues=tuple(issues),
    )
