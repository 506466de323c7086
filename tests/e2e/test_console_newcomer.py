"""The console in headless Chromium on a phone-sized screen (390x844) and the rest of issue 19's console list:
tables without horizontal overflow, video ids inside their cards, a favicon, every form error at once, and
videos created from the console."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.console_fixtures import new_user, send_traffic
from tests.e2e.test_console_browser import (  # noqa: F401 (browser and console_gw are fixtures)
    browser, console_gw, shot, sign_in, sync_api, usage_row)
from tests.harness.gateway import Gateway

PHONE = {"width": 390, "height": 844}
LONG_NAME = "integration-key-for-the-nightly-reporting-pipeline-" + "x" * 40
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > width + 0.5)
    .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
}"""


@pytest.fixture
def phone(browser: object) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def _api(gw: Gateway, key: str, method: str, path: str, **kw: object) -> dict:
    resp = httpx.request(method, f"{gw.url}{path}", headers={"authorization": f"Bearer {key}"}, timeout=30,
                         **kw)  # type: ignore[arg-type]
    assert resp.status_code < 300, resp.text
    return resp.json()


def assert_fits(page: object, what: str) -> None:
    """Nothing in the page reaches past the screen's right edge, and the page cannot scroll sideways."""
    measured = page.evaluate(OVERFLOW)  # type: ignore[attr-defined]
    assert measured["scroll"] <= PHONE["width"], (what, measured)
    assert not measured["wide"], (what, measured)


def test_keys_and_usage_fit_a_390px_screen(phone: object, console_gw: Gateway) -> None:  # noqa: F811
    key = new_user(console_gw)
    app = _api(console_gw, key, "POST", "/v1/apps", json={"name": "Reporting " + "pipeline " * 6})
    for i in range(3):
        _api(console_gw, key, "POST", "/v1/keys", json={"name": f"{LONG_NAME}-{i}", "app_id": app["id"],
                                                          "scopes": ["ai:gateway", "usage:read"]})
    send_traffic(console_gw, key, 2)
    sign_in(phone, console_gw, key, "/console/keys")
    sync_api.expect(phone.get_by_role("row", name=f"{LONG_NAME}-2")).to_be_visible()
    shot(phone, "phone-keys")
    assert_fits(phone, "keys")
    row = phone.get_by_role("row", name=f"{LONG_NAME}-1")
    sync_api.expect(row).to_contain_text(app["id"])  # the whole id is there, wrapped, not cut
    revoke = row.get_by_role("button", name=f"Revoke key {LONG_NAME}-1")
    revoke.scroll_into_view_if_needed()
    sync_api.expect(revoke).to_be_in_viewport(ratio=1)
    for other in ("apps", "models"):  # the other tables follow the same layout
        phone.goto(f"{console_gw.url}/console/{other}")
        assert_fits(phone, other)
    phone.goto(f"{console_gw.url}/console/usage")
    usage_row(phone, "test/priced", "2")
    shot(phone, "phone-usage")
    phone.get_by_text("Per-day table").click()
    assert_fits(phone, "usage")


@pytest.fixture
def page(browser: object) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def test_favicon_is_linked_and_served(page: object, console_gw: Gateway) -> None:  # noqa: F811
    page.goto(f"{console_gw.url}/console/login")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href
    resp = httpx.get(f"{console_gw.url}{href}", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("image/svg+xml")
    assert resp.text.lstrip().startswith("<svg")


def test_a_config_form_with_several_bad_fields_shows_every_error(page: object, console_gw: Gateway  # noqa: F811
                                                                 ) -> None:
    sign_in(page, console_gw, new_user(console_gw), "/console/apps")
    page.get_by_label("Name").fill("Many errors")
    page.get_by_role("button", name="Create app").click()
    sync_api.expect(page.get_by_role("heading", name="App Many errors")).to_be_visible()
    page.get_by_label("Max tokens per request").fill("0")
    page.get_by_label("Requests per minute").fill("many")
    page.get_by_label("Custom tools (JSON list)").fill("[{not json")
    page.get_by_role("button", name="Save AI config").click()
    for field, error in (("Max tokens per request", "#maxTokensPerRequest-error"),
                         ("Requests per minute", "#rpm-error"), ("Custom tools (JSON list)", "#customTools-error")):
        sync_api.expect(page.get_by_label(field)).to_have_attribute("aria-invalid", "true")
        sync_api.expect(page.locator(error)).to_be_visible()
    sync_api.expect(page.locator("#maxTokensPerRequest-error")).to_contain_text("maxTokensPerRequest")
    sync_api.expect(page.locator("#rpm-error")).to_contain_text("rateLimits.rpm")
    sync_api.expect(page.get_by_role("alert")).to_contain_text("3 marked fields")
    sync_api.expect(page.get_by_label("Requests per minute")).to_have_value("many")
    shot(page, "config-errors")


def test_a_video_is_created_from_the_console_and_progresses(page: object, console_gw: Gateway  # noqa: F811
                                                            ) -> None:
    key = new_user(console_gw)
    sign_in(page, console_gw, key, "/console/videos")
    page.get_by_label("Prompt").fill("a lighthouse at dusk")
    page.get_by_label("Seconds").fill("999")
    page.get_by_role("button", name="Create video").click()
    sync_api.expect(page.get_by_label("Seconds")).to_have_attribute("aria-invalid", "true")
    sync_api.expect(page.locator("#seconds-error")).to_contain_text("seconds")
    sync_api.expect(page.get_by_label("Prompt")).to_have_value("a lighthouse at dusk")
    page.get_by_label("Seconds").fill("2")
    page.get_by_label("Size").select_option("320x240")
    page.get_by_role("button", name="Create video").click()
    notice = page.get_by_role("status")
    sync_api.expect(notice).to_contain_text("queued")
    video_id = notice.inner_text().split()[1]
    card = page.locator("li.card", has_text=video_id)
    sync_api.expect(card).to_contain_text("local/test-pattern")
    # no reload: the page follows the job until it is done, and then plays it
    sync_api.expect(card.get_by_text("completed", exact=True)).to_be_visible(timeout=60_000)
    sync_api.expect(card.get_by_label(f"Video {video_id}")).to_be_visible()
    jobs = _api(console_gw, key, "GET", "/v1/videos")["data"]  # the same job the SDK sees
    assert [(j["id"], j["status"], j["size"]) for j in jobs] == [(video_id, "completed", "320x240")]
    shot(page, "video-created")
    page.get_by_label("Prompt").fill("a second one")
    page.get_by_role("button", name="Create video").click()
    second = page.get_by_role("status").inner_text().split()[1]
    card.evaluate("li => { li.kept = true; }")  # while the second job runs, the finished card is not rebuilt
    sync_api.expect(page.locator("li.card", has_text=second).get_by_text("completed", exact=True)).to_be_visible(
        timeout=60_000)
    assert page.locator("li.card", has_text=video_id).evaluate("li => li.kept === true")


@pytest.mark.parametrize("width", [390, 1280])
def test_video_ids_stay_inside_their_cards(width: int, browser: object, console_gw: Gateway) -> None:  # noqa: F811
    key = new_user(console_gw)
    video = _api(console_gw, key, "POST", "/v1/videos", json={"model": "local/test-pattern", "prompt": "id",
                                                              "seconds": 1, "size": "320x240"})
    context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        sign_in(page, console_gw, key, "/console/videos")
        ident = page.get_by_text(video["id"], exact=True)
        card = page.locator("li", has=ident)
        box, outer = ident.bounding_box(), card.bounding_box()
        assert box and outer
        assert outer["x"] <= box["x"] and box["x"] + box["width"] <= outer["x"] + outer["width"], (box, outer)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
