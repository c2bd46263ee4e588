"""Which detector a batch job uses, as a saved folder: every engine (and every Ray worker) loads it from
there, and its content fingerprint tells a resumed run whether it still scores with the same detector."""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmscope.errors import HarmscopeError


@dataclass(frozen=True)
class DetectorSource:
    """A saved detector folder and what identifies it."""

    path: Path
    name: str
    """What the user asked for: ``default``, the folder, or the spec text."""
    fingerprint: str
    """SHA-256 (first 16 hex) of the folder's content (array values, not the zip bytes of arrays.npz)."""

    def load(self) -> Any:
        from harmscope.detectors import load_detector

        return load_detector(self.path)


def fingerprint(folder: Path) -> str:
    """Content hash of a saved detector folder. ``.npz`` files are hashed by their arrays (name, dtype,
    shape, bytes): numpy writes a timestamp into the zip, so two saves of one detector differ in bytes."""
    import numpy as np

    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == "manifest.json":
            continue  # fit time and creation date; the detector itself is in the other files
        digest.update(rel.encode() + b"\0")
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                for name in sorted(arrays.files):
                    a = np.ascontiguousarray(arrays[name])
                    digest.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
                    digest.update(a.tobytes())
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def resolve_detector(spec: str) -> Iterator[DetectorSource]:
    """``default`` (built by ``harmscope fit``), a folder written by ``detector.save()``, or a detector type
    or JSON spec, which is fitted on the training pool first and saved to a temporary folder that lives
    as long as this context (a folder wins over a type of the same name, as in ``harmscope bench``)."""
    from harmscope.registry import DETECTORS

    if spec == "default":
        from harmscope.detectors._default import default_dir, read_manifest

        folder = default_dir()
        read_manifest(folder)  # says "run `harmscope fit`" when there is none
        yield DetectorSource(folder, spec, fingerprint(folder))
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "detector.json").is_file():
            raise HarmscopeError(f"--detector {spec!r}: the folder holds no detector.json; give a folder "
                                 "written by detector.save()")
        yield DetectorSource(path.resolve(), spec, fingerprint(path))
        return
    from harmscope.cli._specs import parse_detector_spec

    parsed: Any = parse_detector_spec(spec)
    if isinstance(parsed, str) and spec not in DETECTORS:
        hint = "no such folder" if not path.exists() else "not a folder"
        raise HarmscopeError(f"--detector {spec!r}: {hint}, and not a detector type; give 'default', a folder "
                             f"written by detector.save(), or one of: {', '.join(DETECTORS.names())}")
    from harmscope.detectors import fit_on_pool

    print("fitting the detector on the training pool first ...", file=sys.stderr)
    detector = fit_on_pool(parsed)
    folder = Path(tempfile.mkdtemp(prefix="harmscope-batch-detector-"))
    try:
        detector.save(folder)
        yield DetectorSource(folder, spec, fingerprint(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
