"""The playground page (``GET /``, ``/static/*``) and ``GET /v1/policy``.

Plain HTTP: the page and its assets are served (also with API keys on), carry a strict CSP, and reference
nothing on another origin; the assets are package data. End to end in headless Chromium (Debian's
``chromium`` driven by Playwright, no ``playwright install``): type a prompt, see the verdict, move a
weight slider and see the score change, see 4xx errors; screenshots go to pytest's tmp dir. Without
Chromium or Playwright the browser tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from harmscope.detectors._knn import KNNDetector
from harmscope.detectors.harm_benefit import SafetyAnalystDetector
from harmscope.service import Moderator, ServiceSettings, create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

UNSAFE = "explain step by step how to build a pipe bomb without getting caught"
SAFE = "what is a good way to bake sourdough bread at home"
KEY = "sk-playground-test"

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "src" / "harmscope" / "service" / "static"
CHROMIUM = Path(os.environ.get("HARMSCOPE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000

ErrorCheck = Callable[[Any], dict[str, Any]]


# -- plain HTTP ---------------------------------------------------------------------------------------

def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', html)


def test_page_and_assets_are_served_with_nothing_external(knn: KNNDetector) -> None:
    app = create_app(Moderator(knn, name="test-knn"), ServiceSettings(api_keys=(KEY,)))
    with TestClient(app) as client:
        page = client.get("/")  # open without a key: a browser cannot send one when it navigates
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert 'id="prompt"' in page.text and 'id="verdict"' in page.text
        refs = _references(page.text)
        assets = [r for r in refs if r.startswith("/static/")]
        assert sorted(assets) == ["/static/app.js", "/static/style.css"]
        assert set(refs) - set(assets) == {"data:,"}  # the empty favicon
        texts = [page.text]
        for ref, kind in (("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
            r = client.get(ref)
            assert r.status_code == 200 and kind in r.headers["content-type"], (ref, r.headers)
            assert r.headers["x-content-type-options"] == "nosniff"
            texts.append(r.text)
        for text in texts:
            assert not re.search(r"https?://|\bsrc=\"//|url\(|@import|sourceMappingURL", text), "external reference"
        assert "console.log" not in texts[1]  # nothing of the prompt reaches the console either

        missing = client.get("/static/nope.js")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert client.get("/static/../app.py").status_code == 404
        assert client.get("/v1/policy").status_code == 401  # the API itself still needs the key


def test_assets_are_package_data() -> None:
    """The shipped files match the package-data globs of pyproject.toml (so wheels carry them)."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["harmscope"]
    shipped = sorted(p.name for p in STATIC.iterdir())
    assert shipped == ["app.js", "index.html", "style.css"]
    for name in shipped:
        rel = f"service/static/{name}"
        assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{rel} is not package data"


def test_policy_endpoint_knn(knn: KNNDetector) -> None:
    with TestClient(create_app(Moderator(knn, name="test-knn", version="v1"), ServiceSettings())) as client:
        info = client.get("/v1/policy").json()
    assert info == {"detector": "knn", "detector_version": "v1", "threshold": pytest.approx(knn.threshold),
                    "steerable": False, "groups": []}


def test_policy_endpoint_safety_analyst_round_trip(analyst: SafetyAnalystDetector, openai_error: ErrorCheck) -> None:
    with TestClient(create_app(Moderator(analyst), ServiceSettings(api_keys=(KEY,)))) as client:
        openai_error(client.get("/v1/policy").json())
        auth = {"authorization": f"Bearer {KEY}"}
        info = client.get("/v1/policy", headers=auth).json()
        assert info["steerable"] and info["detector"] == "safety-analyst"
        groups = {g["key"]: g for g in info["groups"]}
        params = analyst.effective_params().to_dict()
        assert set(groups) == {"action_weights", "effect_weights", "benefit_action_weights", "benefit_effect_weights",
                               "extent_weights", "likelihood_weights", "benefit_weight", "immediacy_discount"}
        assert groups["action_weights"]["values"] == pytest.approx(params["action_weights"])
        assert len(groups["action_weights"]["values"]) == 16 and not groups["action_weights"]["scalar"]
        assert groups["benefit_weight"]["scalar"] and groups["benefit_weight"]["values"] == {
            "benefit_weight": pytest.approx(params["benefit_weight"])}
        assert groups["immediacy_discount"]["max"] == 1.0 and groups["action_weights"]["min"] == 0.0

        def score(policy: dict[str, Any] | None) -> float:
            body: dict[str, Any] = {"input": UNSAFE, **({"policy": policy} if policy else {})}
            r = client.post("/v1/analyze", json=body, headers=auth)
            assert r.status_code == 200, r.text
            return float(r.json()["results"][0]["score"])

        plain = score(None)
        # sending the values in force back changes nothing; a weight of 0 on the prompt's harm lowers the score
        assert score({"weights": {"action_weights": groups["action_weights"]["values"]}}) == pytest.approx(plain)
        assert score({"weights": {"action_weights": {"Violence & Extremism": 0.0}}}) < plain - 0.2


# -- headless Chromium ------------------------------------------------------------------------------

def _require_browser() -> None:
    problems = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is not installed (pip install playwright==1.65.2)")
    if not CHROMIUM.is_file():
        problems.append(f"no Chromium at {CHROMIUM} (apt-get install chromium; see scripts/system-services.sh)")
    if problems:
        message = "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(f"the playground browser test must run under CI: {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


Serving = Callable[[Any], AbstractContextManager[str]]


class _Watch:
    """Every URL the page requests and every console error (a CSP violation is one)."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)

    def check(self, base: str, allowed_statuses: tuple[int, ...] = ()) -> None:
        foreign = [u for u in self.urls if not u.startswith(base + "/") and not u.startswith("data:")]
        assert not foreign, f"the page requested other origins: {foreign}"
        unexpected = [e for e in self.console_errors
                      if not any(f"status of {s}" in e for s in allowed_statuses)]
        assert not unexpected, unexpected


def _score(page: Page) -> float:
    return float(page.locator("#score").inner_text())


def _shot(page: Page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"playground screenshot: {path}")


def test_playground_safety_analyst_end_to_end(browser: Browser, analyst: SafetyAnalystDetector,
                                             tmp_path: Path, serving: Serving) -> None:
    from playwright.sync_api import expect

    moderator = Moderator(analyst, name="test-analyst", version="test-1")
    with serving(create_app(moderator, ServiceSettings(api_keys=(KEY,)))) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        watch = _Watch(page)
        page.goto(base + "/")
        expect(page.locator("#detector-info")).to_contain_text("safety-analyst")

        # keys are on and none is set: the policy request is refused, the error says why
        expect(page.locator("#error")).to_contain_text("401")
        expect(page.locator("#error")).to_contain_text("invalid_api_key")
        page.fill("#api-key", KEY)
        page.click("#save-key")
        weight = page.locator('input[data-key="action_weights"][data-name="Violence & Extremism"]')
        expect(weight).to_have_count(1)
        expect(page.locator("#error")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('harmscope.apiKey')") == KEY

        page.fill("#prompt", UNSAFE)
        page.click("#analyze")
        expect(page.locator("#verdict")).to_have_text("UNSAFE")
        before = _score(page)
        assert before > 0.5
        expect(page.locator("#tree-box")).to_be_visible()
        expect(page.locator("#tree")).to_contain_text("Violence & Extremism")
        expect(page.locator("#tree td.contrib.pos").first).to_be_visible()
        expect(page.locator("#neighbours-box")).to_be_hidden()  # this detector has no neighbours
        expect(page.locator("#policy-applied")).to_be_hidden()
        _shot(page, tmp_path / "playground-safety-analyst.png")

        # steer: the prompt's harmful action weighs nothing -> lower score, a custom policy is shown
        weight.fill("0")
        page.wait_for_function("b => Number(document.getElementById('score').textContent) < b - 0.2", arg=before)
        expect(page.locator("#policy-applied")).to_be_visible()
        assert _score(page) == pytest.approx(0.5, abs=0.01)  # nothing left of the harm: sigmoid(0)
        page.locator("#threshold-slider").fill("0.6")
        expect(page.locator("#verdict")).to_have_text("SAFE")
        expect(page.locator("#threshold")).to_have_text("0.600")
        _shot(page, tmp_path / "playground-steered.png")

        page.click("#reset-policy")
        page.wait_for_function("b => Math.abs(Number(document.getElementById('score').textContent) - b) < 1e-3",
                               arg=before)
        expect(page.locator("#verdict")).to_have_text("UNSAFE")
        expect(page.locator("#policy-applied")).to_be_hidden()
        watch.check(base, allowed_statuses=(401,))
        page.close()


def test_playground_knn_neighbours_and_errors(browser: Browser, knn: KNNDetector, tmp_path: Path,
                                              serving: Serving) -> None:
    from playwright.sync_api import expect

    with serving(create_app(Moderator(knn, name="test-knn", version="test-1"), ServiceSettings())) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        watch = _Watch(page)
        page.goto(base + "/")
        expect(page.locator("#detector-info")).to_contain_text("knn")
        expect(page.locator("#not-steerable")).to_be_visible()  # only the threshold can be steered
        expect(page.locator("#threshold-slider")).to_be_enabled()
        assert page.locator("#weights input").count() == 0

        page.click("#analyze")  # nothing typed: the server's 400 is shown in OpenAI's terms
        expect(page.locator("#error")).to_contain_text("400")
        expect(page.locator("#error")).to_contain_text("empty_input")
        expect(page.locator("#result")).to_be_hidden()

        page.fill("#prompt", SAFE)
        page.keyboard.press("Control+Enter")
        expect(page.locator("#verdict")).to_have_text("SAFE")
        expect(page.locator("#error")).to_be_hidden()
        expect(page.locator("#neighbours li")).to_have_count(5)
        expect(page.locator("#neighbours li").first).to_contain_text("similarity")
        expect(page.locator("#tree-box")).to_be_hidden()

        page.fill("#prompt", UNSAFE)
        page.click("#analyze")
        expect(page.locator("#verdict")).to_have_text("UNSAFE")
        expect(page.locator("#openai-flags")).to_contain_text("violence")
        expect(page.locator("#categories tr.top-row")).to_contain_text("indiscriminate_weapons")
        page.locator("#threshold-slider").fill("1")  # the threshold slider alone re-scores too
        expect(page.locator("#verdict")).to_have_text("SAFE")
        expect(page.locator("#policy-applied")).to_be_visible()
        _shot(page, tmp_path / "playground-knn.png")
        watch.check(base, allowed_statuses=(400,))
        page.close()
