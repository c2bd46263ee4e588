"""Path-based loaders for benchmarks that are NOT shipped in the shared data folder, in their published
formats, plus ToxicChat's JUDGE-BENCH layout (``toxicchat_human`` ships; ``toxicchat:PATH`` reads it too).

- ``openai-moderation:PATH``: openai/moderation-api-release ``samples-1680.jsonl``.
- ``wildguardtest:PATH``: allenai/wildguardmix test split as parquet, jsonl or a JSON array.
- ``toxicchat:PATH``: lmsys/toxic-chat csv (or the same columns as jsonl/parquet) or the JUDGE-BENCH JSON.

These sets are for evaluation only: never train or tune on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmscope.data._base import Loaded, Sink, file_in, label_of
from harmscope.data._readers import csv_rows, json_list, jsonl_rows, load_json, need
from harmscope.errors import DataFormatError, DataNotFoundError, HarmscopeError
from harmscope.types import Label


@dataclass(frozen=True)
class TableRow:
    """One row of a tabular file: its 1-based line (csv counts the header; parquet/JSON arrays count rows)."""

    line: int
    cells: dict[str, Any]


def _need_path(path: Path | None, scheme: str, example: str) -> Path:
    if path is None or not str(path):
        raise HarmscopeError(f"{scheme} is not shipped with harmscope; give its file as {scheme}:PATH "
                             f"(e.g. {scheme}:{example})")
    if not path.exists():
        raise DataNotFoundError(path, f"check the file given as {scheme}:PATH")
    return path


def table_rows(path: Path, required: tuple[str, ...]) -> Iterator[TableRow]:
    """Rows of a .csv, .jsonl, .json (array) or .parquet file as dicts, checking ``required`` keys."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        for row in csv_rows(path, required=required):
            yield TableRow(row.line, dict(row.cells))
        return
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            from harmscope.errors import MissingPackageError

            raise MissingPackageError("pyarrow", "reading parquet files") from None
        table = pq.read_table(path)
        missing = [c for c in required if c not in table.column_names]
        if missing:
            raise DataFormatError(path, f"missing column(s) {missing}; found {table.column_names}")
        for index, cells in enumerate(table.to_pylist(), start=1):
            yield TableRow(index, cells)
        return
    if suffix in (".jsonl", ".ndjson"):
        items: Iterator[TableRow] = (TableRow(r.line, r.value) for r in jsonl_rows(path))
    elif suffix == ".json":
        items = (TableRow(i, v) for i, v in enumerate(json_list(path), start=1))
    else:
        raise DataFormatError(path, f"unsupported file type {suffix!r}; use .csv, .jsonl, .json or .parquet")
    for item in items:
        for key in required:
            need(path, item.cells, key, item.line)
        yield item


# ------------------------------------------------------------------------------ OpenAI moderation

MODERATION_CODES = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")
# 1 == 1.0 == True, so these keys also accept floats and booleans.
_BINARY: dict[Any, int] = {0: 0, 1: 1, "0": 0, "1": 1}


def openai_moderation(path: Path | None) -> Loaded:
    """OpenAI moderation eval (``samples-1680.jsonl``): one object per line with ``prompt`` and 0/1 codes
    S, H, V, HR, SH, S3, H2, V2. A missing code is unknown. unsafe = any code is 1; safe = every present
    code is 0; no code at all → skipped (counted). category = the codes that are 1, comma-joined in the
    order above (e.g. ``"H,V"``); ``metadata["codes"]`` = the per-code dict as given."""
    f = _need_path(path, "openai-moderation", "samples-1680.jsonl")
    sink = Sink("openai-moderation", f)
    for row in jsonl_rows(f):
        v = row.value
        codes: dict[str, int] = {}
        for code in MODERATION_CODES:
            if code in v and v[code] is not None:
                value = v[code]
                if isinstance(value, (list, dict)) or value not in _BINARY:
                    raise DataFormatError(f, f"code {code!r} is {value!r}; expected 0 or 1", row.line)
                codes[code] = _BINARY[value]
        if not codes:
            sink.skip("no moderation code annotated")
            continue
        hits = [c for c in MODERATION_CODES if codes.get(c) == 1]
        sink.add(need(f, v, "prompt", row.line), "unsafe" if hits else "safe", line=row.line, column="prompt",
                 category=",".join(hits) or None, metadata={"codes": codes})
    return sink.done()


# ------------------------------------------------------------------------------------ WildGuardTest

_WILDGUARD: dict[Any, Label | None] = {"harmful": "unsafe", "unharmful": "safe", None: None, "": None}


def wildguardtest(path: Path | None) -> Loaded:
    """WildGuardTest (allenai/wildguardmix, ``wildguardtest`` split): ``prompt_harm_label`` harmful →
    unsafe, unharmful → safe; a missing/null label → row skipped (counted). category = ``subcategory``;
    metadata ``adversarial`` and the response labels when present. Parquet, jsonl or a JSON array."""
    f = _need_path(path, "wildguardtest", "wildguardtest.parquet")
    sink = Sink("wildguardtest", f)
    for row in table_rows(f, ("prompt",)):
        c = row.cells
        label = label_of(f, c.get("prompt_harm_label"), _WILDGUARD, line=row.line, column="prompt_harm_label")
        if label is None:
            sink.skip("no prompt_harm_label")
            continue
        meta = {k: c[k] for k in ("adversarial", "response_harm_label", "response_refusal_label",
                                  "prompt_harm_agreement") if c.get(k) is not None}
        sink.add(c["prompt"], label, line=row.line, column="prompt", category=c.get("subcategory"),
                 metadata=meta)
    return sink.done()


# ---------------------------------------------------------------------------------------- ToxicChat


def _toxicchat_json(f: Path, source: str) -> Loaded:
    """The JUDGE-BENCH layout ``{"instances": [{"id", "instance", "annotations": {"toxicity":
    {"majority_human": 0/1}, "jailbreaking": {...}}}]}``."""
    data = load_json(f)
    instances = data.get("instances") if isinstance(data, dict) else None
    if not isinstance(instances, list):
        raise DataFormatError(f, "expected a JSON object with an 'instances' list (JUDGE-BENCH layout)")
    sink = Sink(source, f)
    for index, item in enumerate(instances):
        where = f" in instance {index}"
        if not isinstance(item, dict):
            raise DataFormatError(f, f"instance {index} is not an object")
        annotations = need(f, item, "annotations", None, where)
        toxicity = need(f, need(f, annotations, "toxicity", None, where), "majority_human", None, where)
        label = label_of(f, toxicity, _TOXIC, line=None, column=f"toxicity.majority_human (instance {index})")
        jailbreak = (annotations.get("jailbreaking") or {}).get("majority_human")
        sink.add(item.get("instance"), label, line=None, column=f"instance {index}", id=item.get("id"),
                 metadata={"jailbreaking": _BINARY.get(jailbreak)} if jailbreak is not None else {})
    return sink.done()


# 1 == 1.0 == True, so these keys also accept floats and booleans.
_TOXIC: dict[Any, Label] = {1: "unsafe", "1": "unsafe", 0: "safe", "0": "safe"}


def toxicchat(path: Path | None) -> Loaded:
    """ToxicChat from a path: the lmsys csv (``conv_id``, ``user_input``, ``toxicity`` 0/1,
    ``jailbreaking``), the same columns as jsonl/parquet, or the JUDGE-BENCH JSON layout.
    unsafe iff toxicity == 1; metadata ``jailbreaking`` (0/1)."""
    f = _need_path(path, "toxicchat", "toxic-chat_annotation_test.csv")
    if f.suffix.lower() == ".json":
        data_head = f.read_bytes()[:4096].lstrip()
        if data_head.startswith(b"{"):
            return _toxicchat_json(f, "toxicchat")
    sink = Sink("toxicchat", f)
    for row in table_rows(f, ("user_input", "toxicity")):
        c = row.cells
        label = label_of(f, c["toxicity"], _TOXIC, line=row.line, column="toxicity")
        meta: dict[str, Any] = {}
        if c.get("jailbreaking") not in (None, ""):
            meta["jailbreaking"] = _BINARY.get(c["jailbreaking"], c["jailbreaking"])
        sink.add(c["user_input"], label, line=row.line, column="user_input", id=c.get("conv_id"), metadata=meta)
    return sink.done()


def toxicchat_human(path: Path | None) -> Loaded:
    """ToxicChat train split, human-annotated subset (JUDGE-BENCH copy): unsafe iff toxicity
    majority_human == 1; metadata jailbreaking."""
    return _toxicchat_json(file_in(path, "toxicchat_human", "toxic_chat_train.json"), "toxicchat_human")
