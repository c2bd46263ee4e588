"""Resumability: a run stopped anywhere (exception, SIGKILL, a half-written tail) and rerun gives exactly
the output of one uninterrupted run: no row lost, none duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import harmscope.batch._local as local_engine
from harmscope.batch import moderate_batch
from harmscope.errors import HarmscopeError


class Boom(Exception):
    pass


def _stop_after(monkeypatch: pytest.MonkeyPatch, calls: int) -> None:
    """Make the local engine fail while scoring chunk number ``calls + 1``."""
    real = local_engine.score_chunk
    seen = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        seen["n"] += 1
        if seen["n"] > calls:
            raise Boom("stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(local_engine, "score_chunk", flaky)


def _checkpoint(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out.with_name(out.name + ".checkpoint.json").read_text())
    return data


@pytest.mark.parametrize("out_fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("in_fmt", ["jsonl", "csv", "parquet"])
def test_interrupted_then_rerun_equals_one_clean_run(in_fmt: str, out_fmt: str, tmp_path: Path,
                                                     detector_dir: Path, bx: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {4: b"{bad json\n", 33: b'{"text": 1}\n'} if in_fmt == "jsonl" else None
    rows = bx.records(60)
    src = (bx.write_jsonl(tmp_path / "in.jsonl", rows, extra) if in_fmt == "jsonl"
           else bx.WRITERS[in_fmt](tmp_path / f"in.{in_fmt}", rows))
    options: dict[str, Any] = {"detector": str(detector_dir), "chunk_size": 8, "part_rows": 16}
    clean = tmp_path / f"clean.{out_fmt}"
    moderate_batch(src, clean, **options)

    out = tmp_path / f"out.{out_fmt}"
    with monkeypatch.context() as m:
        _stop_after(m, 3)  # jsonl commits every chunk (24 rows); parquet every 16 scored rows (a part)
        with pytest.raises(Boom):
            moderate_batch(src, out, **options)
    done = _checkpoint(out)["position"]["row"]
    # with a bad row in chunk 1, chunks 1-2 hold only 15 scored rows: the part closes after chunk 3
    assert done == (24 if out_fmt == "jsonl" or extra else 16)
    assert len(bx.read_output(out)) < 60
    if out_fmt == "parquet" and not extra:  # the part being written is left as a hidden temporary file
        assert any(p.name.endswith(".tmp") for p in out.iterdir())

    summary = moderate_batch(src, out, **options)
    assert summary.resumed_from == done and summary.new_rows == summary.rows - done and summary.complete
    assert bx.read_output(out) == bx.read_output(clean)
    assert bx.read_errors(out) == bx.read_errors(clean)
    assert summary.rows == (62 if extra else 60) and summary.bad == (2 if extra else 0)
    if out_fmt == "parquet":
        assert not any(p.name.endswith(".tmp") for p in out.iterdir())

    again = moderate_batch(src, out, **options)  # finished: nothing is redone
    assert again.new_rows == 0 and again.complete and again.rows == summary.rows
    assert bx.read_output(out) == bx.read_output(clean)


def test_half_written_tail_is_cut_on_resume(tmp_path: Path, detector_dir: Path, bx: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(30), {3: b"oops\n"})
    clean = tmp_path / "clean.jsonl"
    moderate_batch(src, clean, detector=str(detector_dir), chunk_size=5)
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as m:
        _stop_after(m, 2)
        with pytest.raises(Boom):
            moderate_batch(src, out, detector=str(detector_dir), chunk_size=5)
    # a crash while appending: half a line in the output and in the error report
    with out.open("ab") as f:
        f.write(b'{"id": "p9", "row": 1')
    with out.with_name("out.jsonl.errors.jsonl").open("ab") as f:
        f.write(b'{"row": 99, "line')
    moderate_batch(src, out, detector=str(detector_dir), chunk_size=5)
    assert out.read_bytes() == clean.read_bytes()
    assert bx.read_errors(out) == bx.read_errors(clean) == [
        {"row": 4, "line": 4, "id": None, "reason": "invalid JSON (Expecting value at column 1)"}]


def test_changed_input_detector_or_options_refuse_to_resume(tmp_path: Path, detector_dir: Path, bx: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(20))
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as m:
        _stop_after(m, 1)
        with pytest.raises(Boom):
            moderate_batch(src, out, detector=str(detector_dir), chunk_size=5)
    with pytest.raises(HarmscopeError, match="--chunk-size changed since the output was started"):
        moderate_batch(src, out, detector=str(detector_dir), chunk_size=6)
    with pytest.raises(HarmscopeError, match="--top-categories changed"):
        moderate_batch(src, out, detector=str(detector_dir), chunk_size=5, top_categories=1)
    from harmscope.detectors import load_detector

    other = load_detector(detector_dir).set_params(threshold=0.9).save(tmp_path / "other")
    with pytest.raises(HarmscopeError, match="the detector changed"):
        moderate_batch(src, out, detector=str(other), chunk_size=5)
    bx.write_jsonl(src, bx.records(21))
    with pytest.raises(HarmscopeError, match="the input file's content changed.*--overwrite"):
        moderate_batch(src, out, detector=str(detector_dir), chunk_size=5)
    summary = moderate_batch(src, out, detector=str(detector_dir), chunk_size=5, overwrite=True)
    assert summary.resumed_from == 0 and summary.rows == 21 and len(bx.read_output(out)) == 21


_SLOW_RUN = """
import sys, time
import harmscope.batch._local as local
real = local.score_chunk
def slow(*a, **k):
    time.sleep(0.4)
    return real(*a, **k)
local.score_chunk = slow
from harmscope.batch import moderate_batch
moderate_batch(sys.argv[1], sys.argv[2], detector=sys.argv[3], chunk_size=10, part_rows=20, progress=False)
"""


@pytest.mark.parametrize("out_fmt", ["jsonl", "parquet"])
def test_sigkill_mid_run_then_rerun(out_fmt: str, tmp_path: Path, detector_dir: Path, bx: Any) -> None:
    src = bx.write_jsonl(tmp_path / "in.jsonl", bx.records(200))
    clean = tmp_path / f"clean.{out_fmt}"
    moderate_batch(src, clean, detector=str(detector_dir), chunk_size=10, part_rows=20)
    out = tmp_path / f"out.{out_fmt}"
    script = tmp_path / "slow.py"
    script.write_text(_SLOW_RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(src), str(out), str(detector_dir)],
                            env={**os.environ, "HARMSCOPE_PROGRESS": "0"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cp = out.with_name(out.name + ".checkpoint.json")
            if cp.exists() and _checkpoint(out)["position"]["row"] >= 40:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the slow run made no progress in 60 s")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    done = _checkpoint(out)["position"]["row"]
    assert 40 <= done < 200 and not _checkpoint(out)["complete"]
    summary = moderate_batch(src, out, detector=str(detector_dir), chunk_size=10, part_rows=20)
    assert summary.resumed_from == done and summary.complete
    got = bx.read_output(out)
    assert got == bx.read_output(clean) and len({r["id"] for r in got}) == 200
