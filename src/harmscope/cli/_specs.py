"""Parsing of the ``--detector`` option shared by several commands (stdlib only: keeps --help fast)."""

from __future__ import annotations

import json
from typing import Any


def parse_detector_spec(text: str) -> Any:
    """A detector type name stays a string; text starting with ``{`` must be a JSON ``{type, params}`` spec."""
    from harmscope.errors import HarmscopeError

    if not text.lstrip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise HarmscopeError(f"--detector looks like a JSON spec but is not valid JSON ({error.msg})") from error
