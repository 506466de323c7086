"""The console in headless Chromium on a phone-sized screen (390x844) and the rest of issue 19's console list:
tables without horizontal overflow, video ids inside their cards, a favicon, every form error at once, and
videos created from the console."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.console_fixtures import new_user, send_traffic
from tests.e2e.test_console_browser import browser, console_gw, shot, sign_in, sync_api  # noqa: F401 (fixtures)
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
    phone.goto(f"{console_gw.url}/console/usage")
    for _ in range(30):  # usage is recorded asynchronously, in batches
        if phone.get_by_role("row", name="test/priced").count():
            break
        phone.wait_for_timeout(500)
        phone.reload()
    sync_api.expect(phone.get_by_role("row", name="test/priced")).to_contain_text("2")
    shot(phone, "phone-usage")
    phone.get_by_text("Per-day table").click()
    assert_fits(phone, "usage")
