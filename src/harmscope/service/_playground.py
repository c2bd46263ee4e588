"""The playground page: a static, framework-free web page served at ``/`` (assets under ``/static``) that
calls ``/v1/analyze`` from the browser, and ``policy_info`` behind ``GET /v1/policy`` (the weights its
sliders steer).

The assets ship as package data (``harmscope/service/static``); they load nothing from other origins, and
the page's Content-Security-Policy forbids it, so the page works on an offline machine and a prompt typed
into it goes only to this server. The page and its assets are open (no API key) because a browser cannot
send a bearer key when it navigates; every ``/v1/*`` call the page makes carries the key typed into it.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from harmscope.service.moderator import Moderator
from harmscope.service.schemas import PolicyGroup, PolicyInfo

STATIC_PACKAGE = "harmscope.service"
STATIC_FOLDER = "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
"""Only this origin: no CDN, no inline script, no framing."""

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}
"""Headers of the page and of its assets (``no-cache``: an upgraded package's assets are picked up)."""

# (policy key, label, description, slider max); tables first, then single numbers.
_GROUPS: tuple[tuple[str, str, str, float], ...] = (
    ("action_weights", "Harmful actions (AIR-2024)", "weight of each harmful action category", 2.0),
    ("effect_weights", "Harmful effects", "weight of each harmful-effect group", 2.0),
    ("benefit_action_weights", "Beneficial actions", "weight of each beneficial action category", 2.0),
    ("benefit_effect_weights", "Beneficial effects", "weight of each beneficial-effect group", 2.0),
    ("extent_weights", "Extent", "minor ≤ significant ≤ substantial ≤ major, in [0, 1]", 1.0),
    ("likelihood_weights", "Likelihood", "low ≤ medium ≤ high, in [0, 1]", 1.0),
    ("benefit_weight", "Benefit weight β", "how much benefits count against harms", 2.0),
    ("immediacy_discount", "Immediacy discount d", "factor applied to long-term effects, in [0, 1]", 1.0),
)


def read_asset(name: str) -> str:
    """The text of a shipped asset (``index.html``, ``app.js``, ``style.css``)."""
    return resources.files(STATIC_PACKAGE).joinpath(STATIC_FOLDER, name).read_text(encoding="utf-8")


class _StaticAssets(StaticFiles):
    """Starlette's static files with the page's security headers on every asset."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(SECURITY_HEADERS)
        return response


def install_playground(app: FastAPI) -> None:
    """Serve the page at ``/`` and its assets at ``/static/<name>``."""
    app.mount("/static", _StaticAssets(packages=[(STATIC_PACKAGE, STATIC_FOLDER)]), name="static")

    @app.get("/", include_in_schema=False)
    async def playground() -> HTMLResponse:
        return HTMLResponse(read_asset("index.html"), headers=SECURITY_HEADERS)


def policy_info(moderator: Moderator) -> PolicyInfo:
    """What ``policy`` in ``/v1/analyze`` can change for this moderator's detector, with the values in
    force (the fitted weights with the detector's own policy applied)."""
    info = moderator.info()
    groups: list[PolicyGroup] = []
    effective = getattr(moderator.detector, "effective_params", None)
    if info.steerable and callable(effective):
        params: dict[str, Any] = effective().to_dict()
        for key, label, description, top in _GROUPS:
            value = params.get(key)
            if isinstance(value, dict):
                values = {str(k): float(v) for k, v in value.items()}
                scalar = False
            elif isinstance(value, (int, float)):
                values = {key: float(value)}
                scalar = True
            else:
                continue
            groups.append(PolicyGroup(key=key, label=label, description=description, scalar=scalar, min=0.0,
                                      max=max(top, *values.values()), values=values))
    return PolicyInfo(detector=info.kind, detector_version=info.version, threshold=info.threshold,
                      steerable=info.steerable and bool(groups), groups=groups)
