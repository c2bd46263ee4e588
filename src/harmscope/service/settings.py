"""Service settings: one validated, frozen pydantic model, read from a YAML file and the environment.

Everything that makes the service safe to expose has a conservative default: no CORS, bounded request
bodies and input counts, a per-request time limit. API keys are optional; when any are set, every
``/v1/*`` call needs ``Authorization: Bearer <key>``. Keys come from the config file or from
``HARMSCOPE_API_KEYS`` (comma-separated), which is preferred because config files get committed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harmscope.errors import DataFormatError, HarmscopeError

API_KEYS_ENV = "HARMSCOPE_API_KEYS"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UpstreamSettings(_Frozen):
    """An OpenAI-compatible chat endpoint the gateway forwards to."""

    base_url: str = Field(pattern=r"^https?://")
    """Base URL including the API prefix, e.g. ``http://127.0.0.1:8080/v1`` (``/chat/completions`` is added)."""
    api_key: str | None = None
    """Bearer key sent upstream. ``api_key_env`` is preferred (keeps secrets out of files)."""
    api_key_env: str | None = None
    """Name of an environment variable holding the upstream key."""
    model: str | None = None
    """Replace the request's ``model`` with this one (e.g. the name of the safe model); None = unchanged."""
    system_prompt: str | None = None
    """Prepend this system message (e.g. a stricter safety prompt for the safe model); None = none."""

    def key(self) -> str | None:
        if self.api_key_env:
            return os.environ.get(self.api_key_env) or self.api_key
        return self.api_key


class GatewaySettings(_Frozen):
    """The two-step guard in front of ``POST /v1/chat/completions``."""

    upstream: UpstreamSettings
    """Where benign conversations go, unchanged."""
    on_unsafe: Literal["refuse", "reroute"] = "refuse"
    """``refuse``: answer with ``refusal_message``; ``reroute``: forward to ``safe_upstream``."""
    refusal_message: str = Field(default="I can't help with that request.", min_length=1)
    safe_upstream: UpstreamSettings | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    """Time limit for the upstream: to connect, and between streamed chunks (a non-streamed answer must
    arrive within it). Exceeded -> 504."""
    connect_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _reroute_needs_target(self) -> GatewaySettings:
        if self.on_unsafe == "reroute" and self.safe_upstream is None:
            raise ValueError("on_unsafe 'reroute' needs safe_upstream (the endpoint flagged chats go to)")
        return self


class ServiceSettings(_Frozen):
    """All settings of ``harmscope serve`` (YAML keys are these field names)."""

    detector: str = "default"
    """``default`` (built by ``harmscope fit``), a folder written by ``detector.save()``, or a registered
    detector name (fitted on the training pool at start-up: slow)."""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    model_name: str = "harmscope-moderation"
    """The ``model`` reported by /v1/moderations (a request's own ``model`` is echoed when given)."""
    api_keys: tuple[str, ...] = ()
    """Accepted bearer keys; empty = no authentication (fine on loopback, not on a network)."""
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_inputs: int = Field(default=32, ge=1)
    """Most texts in one moderation/analysis request (and user turns screened per chat request)."""
    max_input_chars: int = Field(default=32_000, ge=1)
    """Longest accepted text, in characters."""
    request_timeout_s: float = Field(default=30.0, gt=0)
    """Time limit for the detector's work on one request; exceeded -> 504."""
    max_neighbours: int = Field(default=10, ge=0)
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; empty (the default) = CORS off."""
    category_table: str | None = None
    """A custom category table (YAML, like the shipped ``openai_categories.yaml``); None = shipped one."""
    gateway: GatewaySettings | None = None
    """The chat-completions guard; None = ``/v1/chat/completions`` answers 404."""
    db: str | None = None
    """Audit store of every decision: ``postgresql://…``, ``sqlite:///path`` or a plain file path; None =
    the SQLite file ``<cache>/audit.sqlite3``; ``none`` = no audit store (see docs/service.md)."""
    log_prompts: bool = False
    """Also store each screened text in the audit store (off: only its SHA-256 and length)."""
    max_batch_wait_ms: float = Field(default=2.0, ge=0, le=1000)
    """Micro-batching of concurrent ``/v1/moderations`` requests: the first request of a batch waits up to
    this long for others, then all run in one detector call; 0 = off (one call per request)."""
    max_batch_texts: int = Field(default=64, ge=1)
    """A micro-batch stops gathering at this many texts (a request is never split)."""

    @model_validator(mode="after")
    def _keys_not_blank(self) -> ServiceSettings:
        if any(not k.strip() for k in self.api_keys):
            raise ValueError("api_keys must not contain empty keys")
        return self


def load_settings(path: str | Path | None = None, **overrides: Any) -> ServiceSettings:
    """Settings from the YAML file ``path`` (optional), then ``HARMSCOPE_API_KEYS``, then ``overrides``
    (``None`` values are ignored, so CLI options that were not given do not override the file).

    Raises :class:`~harmscope.errors.DataFormatError` naming the file and the bad key.
    """
    data: dict[str, Any] = {}
    where = "settings"
    if path is not None:
        import yaml

        file = Path(path)
        where = str(file)
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except OSError as error:
            raise HarmscopeError(f"cannot read config file {file}: {error.strerror}; "
                                 "give the path of a YAML file (see docs/service.md)") from None
        except yaml.YAMLError as error:
            raise DataFormatError(file, f"invalid YAML: {error}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise DataFormatError(file, "expected a mapping of setting names (see docs/service.md)")
        data.update(loaded or {})
    env_keys = [k.strip() for k in os.environ.get(API_KEYS_ENV, "").split(",") if k.strip()]
    if env_keys:
        data["api_keys"] = tuple(data.get("api_keys") or ()) + tuple(env_keys)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServiceSettings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                             for e in error.errors())
        if path is not None:
            raise DataFormatError(where, problems) from None
        raise HarmscopeError(f"invalid service settings: {problems}") from None
