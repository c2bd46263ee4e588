"""The checkpoint beside a batch output (``<output>.checkpoint.json``): what job wrote the output, how far
it got, and the writers' committed states. Replaced atomically (temporary file, fsync, rename) after
every commit, so it always describes output that is on disk."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmscope.batch._position import Position
from harmscope.errors import HarmscopeError

FORMAT = "harmscope-moderate-batch"
VERSION = 1


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoint.json")


def errors_path(output: Path) -> Path:
    return output.with_name(output.name + ".errors.jsonl")


@dataclass(frozen=True)
class Counts:
    """Rows consumed so far, by outcome."""

    scored: int = 0
    flagged: int = 0
    bad: int = 0

    def plus(self, scored: int, flagged: int, bad: int) -> Counts:
        return Counts(self.scored + scored, self.flagged + flagged, self.bad + bad)


@dataclass(frozen=True)
class Checkpoint:
    """``job``: what must match for a rerun to resume (input hash, detector fingerprint, options).
    ``position``: where reading resumes. ``output``/``errors_bytes``: the writers' committed states."""

    job: dict[str, Any]
    position: Position = field(default_factory=Position)
    output: dict[str, Any] = field(default_factory=dict)
    errors_bytes: int = 0
    counts: Counts = field(default_factory=Counts)
    complete: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "job": self.job, "position": self.position.to_json(),
                "output": self.output, "errors_bytes": self.errors_bytes,
                "counts": {"scored": self.counts.scored, "flagged": self.counts.flagged, "bad": self.counts.bad},
                "complete": self.complete, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a moderate-batch checkpoint")
        if data.get("version") != VERSION:
            raise ValueError(f"checkpoint version {data.get('version')!r}, expected {VERSION}")
        c = data["counts"]
        return cls(job=dict(data["job"]), position=Position.from_json(data["position"]),
                   output=dict(data["output"]), errors_bytes=int(data["errors_bytes"]),
                   counts=Counts(int(c["scored"]), int(c["flagged"]), int(c["bad"])),
                   complete=bool(data["complete"]))


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint at ``path``, ``None`` if there is none; HarmscopeError if it is unreadable."""
    if not path.exists():
        return None
    try:
        return Checkpoint.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HarmscopeError(f"{path} is not a valid moderate-batch checkpoint ({error}); pass --overwrite "
                             "to start over") from None


def write_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(checkpoint.to_json(), f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def job_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """A one-line description of what differs between two job identities, ``None`` when they match."""
    labels = {"input_sha256": "the input file's content", "input_format": "the input format",
              "output_format": "the output format", "detector": "the detector",
              "text_field": "--text-field", "id_field": "--id-field", "id_required": "--id-field",
              "chunk_size": "--chunk-size", "top_categories": "--top-categories"}
    for key, label in labels.items():
        if saved.get(key) != current.get(key):
            return f"{label} changed since the output was started"
    return None
