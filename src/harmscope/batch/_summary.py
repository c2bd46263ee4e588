"""The record of one ``moderate-batch`` run (``--json`` prints it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did. Row counts are totals over the whole output (all runs that built it);
    ``resumed_from``, ``new_rows``, ``seconds`` and ``rows_per_second`` are about this run only."""

    input: str
    output: str
    errors_file: str | None
    """``<output>.errors.jsonl`` when the input has bad rows, else ``None``."""
    checkpoint: str
    input_format: str
    output_format: str
    engine: str
    detector: str
    detector_fingerprint: str
    threshold: float | None
    rows: int
    """Input records consumed: ``scored + bad``."""
    scored: int
    flagged: int
    bad: int
    resumed_from: int
    """Records that earlier runs had already consumed (0 for a fresh run)."""
    new_rows: int
    seconds: float
    rows_per_second: float
    complete: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
