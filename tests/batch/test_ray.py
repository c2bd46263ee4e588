"""The Ray engine on a local Ray (2 CPUs, started once for this module): the same output, error report
and counts as the local engine, byte for byte, and it resumes a job the local engine started.

Byte-identical scores need the same BLAS thread count in both engines (Ray actors run one thread; the
test settings in tests/conftest.py give the local engine one too); see docs/batch.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harmscope.batch import moderate_batch
from harmscope.errors import HarmscopeError


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    from harmscope.batch._ray import start_ray

    pytest.importorskip("ray")
    import ray

    started = start_ray(None)
    yield
    if started:
        ray.shutdown()


def _files(out: Path) -> dict[str, bytes]:
    """Every output file's bytes (parquet parts are compared as rows: metadata holds writer details)."""
    if out.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in (out, out.with_name(out.name + ".errors.jsonl")) if p.exists()}


@pytest.mark.parametrize(("in_fmt", "out_fmt"), [("jsonl", "jsonl"), ("csv", "parquet"), ("parquet", "jsonl")])
def test_ray_equals_local(in_fmt: str, out_fmt: str, tmp_path: Path, detector_dir: Path, bx: Any,
                          local_ray: None) -> None:
    rows = bx.records(230)
    if in_fmt == "jsonl":
        src = bx.write_jsonl(tmp_path / "in.jsonl", rows, {7: b"{nope\n", 150: b'{"text": ""}\n'})
    else:
        src = bx.WRITERS[in_fmt](tmp_path / f"in.{in_fmt}", rows)
    options: dict[str, Any] = {"detector": str(detector_dir), "chunk_size": 20}
    local = moderate_batch(src, tmp_path / f"local.{out_fmt}", **options)
    on_ray = moderate_batch(src, tmp_path / f"ray.{out_fmt}", engine="ray", ray_workers=2, **options)
    assert on_ray.engine == "ray" and on_ray.complete
    for field in ("rows", "scored", "flagged", "bad", "threshold", "detector_fingerprint"):
        assert getattr(on_ray, field) == getattr(local, field), field
    got, want = bx.read_output(tmp_path / f"ray.{out_fmt}"), bx.read_output(tmp_path / f"local.{out_fmt}")
    assert len(got) == len(want) == local.scored and got == want  # exact floats, same order
    assert bx.read_errors(tmp_path / f"ray.{out_fmt}") == bx.read_errors(tmp_path / f"local.{out_fmt}")
    if out_fmt == "jsonl":
        assert list(_files(tmp_path / "ray.jsonl").values()) == list(_files(tmp_path / "local.jsonl").values())


def test_ray_resumes_a_local_run(tmp_path: Path, detector_dir: Path, bx: Any, local_ray: None,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import harmscope.batch._local as local_engine

    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(120))
    clean = tmp_path / "clean.jsonl"
    moderate_batch(src, clean, detector=str(detector_dir), chunk_size=16)
    out = tmp_path / "out.jsonl"
    real, calls = local_engine.score_chunk, {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(local_engine, "score_chunk", flaky)
        with pytest.raises(KeyboardInterrupt):
            moderate_batch(src, out, detector=str(detector_dir), chunk_size=16)
    summary = moderate_batch(src, out, detector=str(detector_dir), chunk_size=16, engine="ray")
    assert summary.resumed_from == 48 and summary.new_rows == 72 and summary.complete
    assert out.read_bytes() == clean.read_bytes()


def test_ray_reports_input_errors_in_one_line(tmp_path: Path, detector_dir: Path, bx: Any,
                                              local_ray: None) -> None:
    src = bx.write_jsonl(tmp_path / "in.jsonl", [{"prompt": "x"}] * 4)
    with pytest.raises(HarmscopeError, match="has the text field 'text'"):
        moderate_batch(src, tmp_path / "out.jsonl", detector=str(detector_dir), engine="ray")
