"""The console in a real headless Chromium (Playwright): sign-in, keys shown once, field errors, usage chart."""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.console_fixtures import console_gateway, new_user, send_traffic
from tests.harness.gateway import Gateway

CHROMIUM = os.environ.get("TOKENYARD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def console_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from console_gateway(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, gw: Gateway, key: str, path: str = "/console/keys") -> None:
    page.goto(f"{gw.url}{path}")  # type: ignore[attr-defined]
    page.get_by_label("API key or token").fill(key)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"**{path}")  # type: ignore[attr-defined]


def usage_row(page: object, model: str, requests: str) -> None:
    """Reload the usage page until `model`'s row shows `requests` (usage is recorded asynchronously, in
    batches)."""
    row = page.get_by_role("row", name=model)  # type: ignore[attr-defined]
    for _ in range(30):
        if row.count() and requests in row.inner_text():
            break
        page.wait_for_timeout(500)  # type: ignore[attr-defined]
        page.reload()  # type: ignore[attr-defined]
    sync_api.expect(row).to_contain_text(requests)


def test_sign_in_with_a_wrong_key_then_a_good_one(page: object, console_gw: Gateway) -> None:
    page.goto(f"{console_gw.url}/console/")
    page.get_by_label("API key or token").fill("ty_sk_definitely-wrong")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#credential-error")).to_contain_text("was not accepted")
    sign_in(page, console_gw, new_user(console_gw), "/console/models")
    sync_api.expect(page.get_by_role("heading", name="AI models")).to_be_visible()
    page.get_by_label("Type").select_option("video")
    page.get_by_role("button", name="Filter").click()
    sync_api.expect(page.get_by_role("row", name="local/test-pattern")).to_be_visible()
    sync_api.expect(page.get_by_role("row", name="local/echo")).to_have_count(0)
    shot(page, "models")


def test_key_secret_is_shown_once(page: object, console_gw: Gateway) -> None:
    sign_in(page, console_gw, new_user(console_gw))
    page.get_by_label("Name", exact=True).fill("browser key")
    page.get_by_label("usage:read").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-secret")
    sync_api.expect(secret).to_be_visible()
    value = secret.input_value()
    assert value.startswith("ty_sk_")
    page.get_by_role("button", name="Copy").click()
    sync_api.expect(page.locator(".copied")).to_have_text(re.compile(r"Copied\.|Selected"))
    sync_api.expect(page.get_by_role("row", name="browser key")).to_contain_text("usage:read")
    shot(page, "keys-secret-once")
    page.reload()
    sync_api.expect(page.get_by_test_id("new-secret")).to_have_count(0)
    assert value not in page.content()
    sync_api.expect(page.get_by_role("row", name="browser key")).to_be_visible()
    page.get_by_role("button", name="Revoke key browser key").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("revoked")
    sync_api.expect(page.get_by_role("row", name="browser key")).to_have_count(0)


def test_config_errors_show_next_to_the_field(page: object, console_gw: Gateway) -> None:
    sign_in(page, console_gw, new_user(console_gw), "/console/apps")
    page.get_by_label("Name").fill("Browser app")
    page.get_by_role("button", name="Create app").click()
    sync_api.expect(page.get_by_role("heading", name="App Browser app")).to_be_visible()
    page.get_by_label("Max tokens per request").fill("0")
    page.get_by_role("button", name="Save AI config").click()
    field = page.get_by_label("Max tokens per request")
    sync_api.expect(field).to_have_attribute("aria-invalid", "true")
    sync_api.expect(page.locator("#maxTokensPerRequest-error")).to_contain_text("maxTokensPerRequest")
    sync_api.expect(field).to_have_value("0")
    shot(page, "config-error")
    field.fill("512")
    page.get_by_label("Default model").fill("no-such/model")
    page.get_by_role("button", name="Save AI config").click()
    sync_api.expect(page.locator("#defaultModel-error")).to_be_visible()
    page.get_by_label("Default model").fill("local/echo")
    page.get_by_role("button", name="Save AI config").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("AI config saved")
    sync_api.expect(page.get_by_label("Max tokens per request")).to_have_value("512")


def test_usage_chart_renders_with_data(page: object, console_gw: Gateway) -> None:
    key = new_user(console_gw)
    send_traffic(console_gw, key, 3)
    sign_in(page, console_gw, key, "/console/usage")
    usage_row(page, "test/priced", "3")
    canvas = page.locator("#usage-chart")
    page.wait_for_function("() => window.tokenyardUsageChart && window.tokenyardUsageChart.data.datasets.length")
    tokens = page.evaluate("() => window.tokenyardUsageChart.data.datasets[0].data.reduce((a, b) => a + b, 0)")
    cost = page.evaluate("() => window.tokenyardUsageChart.data.datasets[1].data.reduce((a, b) => a + b, 0)")
    assert tokens > 0 and cost > 0
    assert int(canvas.get_attribute("data-rendered") or 0) == tokens
    box = canvas.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    shot(page, "usage")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console.png"))
