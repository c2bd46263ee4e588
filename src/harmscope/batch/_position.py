"""Where a reader stands in its input: the resume point a checkpoint records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """How much of the input has been consumed.

    ``row``: data records consumed (good and bad). ``line`` and ``offset``: physical lines and bytes
    consumed (jsonl, csv; a csv header counts), so a text reader resumes with one ``seek`` instead of
    re-reading. Parquet resumes from ``row`` alone (``line`` and ``offset`` stay 0).
    """

    row: int = 0
    line: int = 0
    offset: int = 0

    def to_json(self) -> dict[str, int]:
        return {"row": self.row, "line": self.line, "offset": self.offset}

    @classmethod
    def from_json(cls, data: object) -> Position:
        if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("row", "line", "offset")):
            raise ValueError("a position needs integer row, line and offset")
        return cls(row=int(data["row"]), line=int(data["line"]), offset=int(data["offset"]))
