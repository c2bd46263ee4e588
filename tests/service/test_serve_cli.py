"""`harmscope serve`: options and config file become settings; bad ones fail with one clear line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from harmscope.cli import _serve
from harmscope.errors import DataFormatError, HarmscopeError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    _serve.register(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_options_override_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text("detector: /models/knn\nport: 9000\nmax_inputs: 8\napi_keys: [from-file]\n"
                      "gateway:\n  upstream: {base_url: 'http://127.0.0.1:1/v1', api_key_env: UP_KEY}\n"
                      "  on_unsafe: refuse\n", encoding="utf-8")
    monkeypatch.setenv("HARMSCOPE_API_KEYS", "env-a, env-b")
    monkeypatch.setenv("UP_KEY", "secret")
    settings = _serve.build_settings(parse("--config", str(config), "--port", "9100",
                                           "--upstream", "http://10.0.0.2:8080/v1"))
    assert settings.detector == "/models/knn" and settings.port == 9100 and settings.max_inputs == 8
    assert settings.api_keys == ("from-file", "env-a", "env-b")
    assert settings.gateway.upstream.base_url == "http://10.0.0.2:8080/v1"
    assert settings.gateway.upstream.key() == "secret"
    defaults = _serve.build_settings(parse())
    assert (defaults.detector, defaults.host, defaults.port, defaults.cors_origins) == ("default", "127.0.0.1", 8000, ())
    assert defaults.gateway is None


def test_bad_settings_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text("max_inputs: 0\nbogus: 1\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as info:
        _serve.build_settings(parse("--config", str(config)))
    assert "max_inputs" in str(info.value) and "bogus" in str(info.value) and str(config) in str(info.value)
    config.write_text("gateway:\n  upstream: {base_url: 'http://x/v1'}\n  on_unsafe: reroute\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="safe_upstream"):
        _serve.build_settings(parse("--config", str(config)))
    with pytest.raises(HarmscopeError, match="--upstream"):
        _serve.build_settings(parse("--upstream", "ftp://x"))
    with pytest.raises(HarmscopeError, match="cannot read config file"):
        _serve.build_settings(parse("--config", str(tmp_path / "missing.yaml")))


def test_bad_detector_fails_before_serving(tmp_path: Path) -> None:
    with pytest.raises(HarmscopeError, match="not 'default', a folder, or a registered detector"):
        _serve.run_serve(parse("--detector", str(tmp_path / "nope")))
