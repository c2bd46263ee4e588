"""Look-alikes: hand-written pairs of a benign prompt and a harmful one that share its words and topic.

Detectors trained only on public harmful-request sets learn vocabulary ("kill", "bomb", "address") rather
than intent, and so flag benign look-alikes ("How do I kill a zombie process?"). These pairs, written for
this project (not copied from any dataset; see README.md here), put both sides next to each other in
training, under themes such as homonyms, figurative language, safe targets, safe contexts, definitions,
history, privacy of public vs private people, discrimination, protective questions, sensitive help and
dark-but-fine creative writing.

Files are JSON Lines, one pair per line::

    {"id": "homonyms-001", "theme": "homonyms", "safe": "...", "unsafe": "...", "category": "violent_crimes"}

``category`` is a harmscope category id (the unsafe side's). The pool removes any text that equals or
nearly equals an evaluation prompt, so an accidental echo of a benchmark cannot leak into training.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from harmscope.data.taxonomy import CATEGORY_IDS
from harmscope.errors import DataFormatError
from harmscope.types import PromptRecord

SOURCE = "look_alikes"
"""``PromptRecord.source`` of every record."""

FOLDER = Path(__file__).parent
"""Where the shipped pair files live (``look_alikes_*.jsonl``)."""

_FIELDS = ("id", "theme", "safe", "unsafe", "category")


def shipped_files() -> list[Path]:
    """The shipped pair files, in name order."""
    return sorted(FOLDER.glob("look_alikes_*.jsonl"))


def read_pairs(file: Path) -> list[dict[str, str]]:
    """The validated rows of one pair file; raises :class:`DataFormatError` with ``file:line``."""
    rows: list[dict[str, str]] = []
    try:
        lines = file.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise DataFormatError(file, f"not UTF-8 ({error.reason} at byte {error.start})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataFormatError(where, f"invalid JSON: {error.msg}") from None
        if not isinstance(row, dict):
            raise DataFormatError(where, "expected a JSON object")
        missing = [f for f in _FIELDS if not isinstance(row.get(f), str) or not row[f].strip()]
        if missing:
            raise DataFormatError(where, f"missing or empty string field(s): {', '.join(missing)}")
        if row["category"] not in CATEGORY_IDS:
            raise DataFormatError(where, f"category {row['category']!r} is not a harmscope category "
                                         f"(valid: {', '.join(sorted(CATEGORY_IDS))})")
        rows.append({f: row[f].strip() for f in _FIELDS})
    return rows


def records_from_pairs(rows: Iterable[dict[str, str]]) -> list[PromptRecord]:
    """Per pair, the unsafe prompt then the safe one, linked by ``pair_id`` (the pair's id)."""
    records: list[PromptRecord] = []
    seen: set[str] = set()
    for row in rows:
        if row["id"] in seen:
            raise DataFormatError(SOURCE, f"duplicate pair id {row['id']!r}")
        seen.add(row["id"])
        meta = {"theme": row["theme"]}
        records.append(PromptRecord(row["unsafe"], "unsafe", row["category"], SOURCE, row["id"],
                                    f"{row['id']}.unsafe", dict(meta)))
        records.append(PromptRecord(row["safe"], "safe", None, SOURCE, row["id"], f"{row['id']}.safe", dict(meta)))
    return records


def load(path: Path | str | None = None) -> list[PromptRecord]:
    """The look-alike pairs as records (default: every shipped file; or one file/folder at ``path``)."""
    if path is None:
        files = shipped_files()
    else:
        target = Path(path)
        files = sorted(target.glob("*.jsonl")) if target.is_dir() else [target]
    rows: list[dict[str, str]] = []
    for file in files:
        rows.extend(read_pairs(file))
    return records_from_pairs(rows)
