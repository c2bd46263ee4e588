"""Peak memory of ``harmscope serve``: start it on a free loopback port, wait until ready, send some
moderation requests, read the process's high-water RSS (``VmHWM``), stop it.

The service keeps the on-disk embedding cache on, so every text sent carries a tag unique to this run:
texts seen by an earlier run would be cache hits, the encoder would never run (and, if the warm-up text
is cached too, never even load), and the figure would be far too low.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from harmscope.errors import HarmscopeError
from harmscope.speed._run import child_env, harmscope_command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    raise HarmscopeError(f"no VmHWM for process {pid}")


def serve_peak_rss(detector: str, texts: Sequence[str], *, requests: int = 50, ready_timeout_s: float = 300.0,
                   threads: int | None = None) -> float:
    """Peak RSS (MB) of ``harmscope serve --detector DETECTOR`` after ``requests`` one-text moderation
    requests (no audit store). Linux only (reads /proc)."""
    import httpx

    port = _free_port()
    run_tag = uuid.uuid4().hex[:8]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([*harmscope_command(), "serve", "--detector", detector, "--port", str(port),
                                 "--db", "none", "--log-level", "warning"],
                                stdout=log, stderr=log, env=child_env(threads))
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + ready_timeout_s
            with httpx.Client(timeout=30.0) as client:
                while True:
                    if proc.poll() is not None:
                        log.seek(0)
                        tail = (log.read().decode(errors="replace").strip().splitlines() or ["no output"])[-1]
                        raise HarmscopeError(f"harmscope serve exited with {proc.returncode}: {tail[:300]}")
                    try:
                        if client.get(f"{base}/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise HarmscopeError(f"harmscope serve was not ready within {ready_timeout_s:g} s")
                    time.sleep(0.5)
                for i in range(requests):
                    text = f"{texts[i % len(texts)]} (ref {run_tag}-{i})"
                    answer = client.post(f"{base}/v1/moderations", json={"input": text})
                    answer.raise_for_status()
            return _vm_hwm_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
