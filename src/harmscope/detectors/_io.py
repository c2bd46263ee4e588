"""Save/load helpers: JSON for parameters and scalars, ``.npz`` for arrays, JSON Lines for bank texts.

No pickle anywhere: a saved detector is plain data that can be inspected and loaded safely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harmscope.errors import DataFormatError, HarmscopeError

FORMAT = "harmscope-detector"
VERSION = 1
META_FILE = "detector.json"
ARRAYS_FILE = "arrays.npz"
BANK_FILE = "bank.jsonl"


def encode_json(value: Any, where: str) -> Any:
    """A JSON-ready copy of ``value``; tuples are tagged so they come back as tuples."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not np.isfinite(value):
            raise HarmscopeError(f"cannot save {where}={value!r}: only finite numbers can be saved")
        return value
    if isinstance(value, (np.integer, np.floating)):
        return encode_json(value.item(), where)
    if isinstance(value, tuple):
        return {"__tuple__": [encode_json(v, where) for v in value]}
    if isinstance(value, list):
        return [encode_json(v, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise HarmscopeError(f"cannot save {where}: dictionary keys must be strings")
        return {k: encode_json(v, f"{where}.{k}") for k, v in value.items()}
    raise HarmscopeError(
        f"cannot save {where} of type {type(value).__name__}: parameters must be plain JSON data "
        "(str, number, bool, None, list, tuple, dict)"
    )


def decode_json(value: Any) -> Any:
    """Inverse of :func:`encode_json`."""
    if isinstance(value, list):
        return [decode_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(decode_json(v) for v in value["__tuple__"])
        return {k: decode_json(v) for k, v in value.items()}
    return value


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    text = json.dumps({"format": FORMAT, "version": VERSION, **meta}, indent=2, allow_nan=False)
    (directory / META_FILE).write_text(text + "\n", encoding="utf-8")


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    if not path.is_file():
        raise HarmscopeError(
            f"no saved detector in {directory}: {META_FILE} is missing; pass the folder given to save()"
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"not valid JSON ({exc.msg})", line=exc.lineno) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataFormatError(path, f"not a harmscope detector file (expected format {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise DataFormatError(path, f"format version {meta.get('version')!r} is not supported (want {VERSION})")
    return meta


def write_arrays(directory: Path, arrays: dict[str, NDArray[Any]]) -> None:
    np.savez(directory / ARRAYS_FILE, allow_pickle=False, **arrays)


def read_arrays(directory: Path) -> dict[str, NDArray[Any]]:
    path = directory / ARRAYS_FILE
    if not path.is_file():
        raise HarmscopeError(f"saved detector in {directory} is incomplete: {ARRAYS_FILE} is missing")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise HarmscopeError(f"saved detector is incomplete: {path} is missing")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, f"not valid JSON ({exc.msg})", line=number) from exc
    return rows
