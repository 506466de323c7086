"""The console over plain HTTP: sign-in, cookies, CSRF protection, and the CSV export."""
from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.console_fixtures import console_gateway, csrf_of, new_user, send_traffic, signed_in
from tests.harness.gateway import Gateway


@pytest.fixture(scope="module")
def console_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from console_gateway(tmp_path_factory)


def test_pages_redirect_to_sign_in_without_a_cookie(console_gw: Gateway) -> None:
    for path in ("/console/keys", "/console/usage", "/console/apps", "/console/models"):
        resp = httpx.get(console_gw.url + path)
        assert resp.status_code == 303
        assert resp.headers["location"] == f"/console/login?next={path}"
    assert httpx.get(console_gw.url + "/console").headers["location"] == "/console/login"


def test_sign_in_sets_an_httponly_strict_cookie(console_gw: Gateway) -> None:
    client = httpx.Client(base_url=console_gw.url)
    token = csrf_of(client.get("/console/login").text)
    resp = client.post("/console/login", data={"csrf": token, "credential": new_user(console_gw),
                                               "next": "/console/keys"})
    assert resp.status_code == 303 and resp.headers["location"] == "/console/keys"
    cookie = next(c for c in resp.headers.get_list("set-cookie") if c.startswith("ty_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert client.get("/console/keys").status_code == 200


def test_sign_in_with_a_platform_jwt(console_gw: Gateway) -> None:
    from tests.jwt_helpers import hs256

    sub = f"jwt-user-{time.time_ns()}"
    client = signed_in(console_gw, hs256(sub))
    token = csrf_of(client.get("/console/apps").text)
    created = client.post("/console/apps", data={"csrf": token, "name": "jwt app"})
    assert created.status_code == 303 and created.headers["location"].startswith("/console/apps/app_")
    page = client.get(created.headers["location"])
    assert page.status_code == 200 and f"owned by {sub}" in page.text
    expired = httpx.Client(base_url=console_gw.url)
    token = csrf_of(expired.get("/console/login").text)
    assert expired.post("/console/login", data={"csrf": token, "credential": hs256(sub, ttl=-60)}).status_code == 401


def test_wrong_key_is_refused_with_a_message(console_gw: Gateway) -> None:
    client = httpx.Client(base_url=console_gw.url)
    token = csrf_of(client.get("/console/login").text)
    resp = client.post("/console/login", data={"csrf": token, "credential": "ty_sk_nope"})
    assert resp.status_code == 401
    assert "was not accepted" in resp.text
    assert "ty_console=" not in resp.headers.get("set-cookie", "")


def test_forged_posts_are_rejected(console_gw: Gateway) -> None:
    client = signed_in(console_gw, new_user(console_gw))
    before = client.get("/console/keys").text
    no_token = client.post("/console/keys", data={"name": "forged"})
    assert no_token.status_code == 403
    wrong = client.post("/console/keys", data={"name": "forged", "csrf": "x" * 43})
    assert wrong.status_code == 403
    other_site = client.post("/console/keys", data={"name": "forged", "csrf": csrf_of(before)},
                             headers={"origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert "forged" not in client.get("/console/keys").text


def test_sign_in_form_itself_needs_the_token(console_gw: Gateway) -> None:
    resp = httpx.post(console_gw.url + "/console/login", data={"credential": new_user(console_gw)})
    assert resp.status_code == 403


def test_sign_out_forgets_the_credential(console_gw: Gateway) -> None:
    client = signed_in(console_gw, new_user(console_gw))
    token = csrf_of(client.get("/console/keys").text)
    resp = client.post("/console/logout", data={"csrf": token})
    assert resp.status_code == 303
    assert client.get("/console/keys").status_code == 303


def test_revoked_session_key_sends_back_to_sign_in(console_gw: Gateway) -> None:
    key = new_user(console_gw)
    client = signed_in(console_gw, key)
    key_id = httpx.get(console_gw.url + "/v1/keys", headers={"authorization": f"Bearer {key}"}).json()["data"][0]["id"]
    token = csrf_of(client.get("/console/keys").text)
    assert client.post(f"/console/keys/{key_id}/revoke", data={"csrf": token}).status_code == 303
    time.sleep(1.5)
    resp = client.get("/console/keys")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login")


def test_usage_csv_export_has_per_day_rows(console_gw: Gateway) -> None:
    key = new_user(console_gw)
    send_traffic(console_gw, key, 2)
    client = signed_in(console_gw, key)
    deadline = time.monotonic() + 15
    rows: list[dict[str, str]] = []
    while time.monotonic() < deadline and not (rows and rows[0].get("requests") == "2"):  # both records landed
        resp = client.get("/console/usage.csv")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        time.sleep(0.3)
    assert len(rows) == 1
    assert rows[0]["model"] == "test/priced" and rows[0]["requests"] == "2"
    assert int(rows[0]["total_tokens"]) > 0 and float(rows[0]["cost_usd"]) > 0


def test_bad_date_range_is_a_clear_400(console_gw: Gateway) -> None:
    client = signed_in(console_gw, new_user(console_gw))
    resp = client.get("/console/usage", params={"start": "2026-13-01"})
    assert resp.status_code == 400 and "YYYY-MM-DD" in resp.text


def test_static_files_are_served_without_a_cdn(console_gw: Gateway) -> None:
    resp = httpx.get(console_gw.url + "/console/static/chart.umd.min.js")
    assert resp.status_code == 200 and "Chart.js" in resp.text[:200]
    assert httpx.get(console_gw.url + "/console/static/../../app.py").status_code == 404


def test_videos_page_plays_finished_mp4s_through_the_cookie(console_gw: Gateway) -> None:
    from tests.e2e.videos_util import wait_for

    key = new_user(console_gw)
    api = httpx.Client(base_url=console_gw.url, headers={"authorization": f"Bearer {key}"}, timeout=30)
    video = api.post("/v1/videos", json={"model": "local/test-pattern", "prompt": "console fox", "seconds": "1",
                                         "size": "320x240"}).json()
    wait_for(api, video["id"], ("completed",), timeout=150)
    client = signed_in(console_gw, key)
    page = client.get("/console/videos").text
    assert f'<video controls preload="metadata" src="/console/videos/{video["id"]}/content"' in page
    full = client.get(f"/console/videos/{video['id']}/content")
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.content[4:8] == b"ftyp"
    part = client.get(f"/console/videos/{video['id']}/content", headers={"range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert httpx.get(f"{console_gw.url}/console/videos/{video['id']}/content").status_code == 303


def test_instances_page_lists_deployments(console_gw: Gateway) -> None:
    client = signed_in(console_gw, new_user(console_gw))
    resp = client.get("/console/instances")
    assert resp.status_code == 200 and "No instances" in resp.text
    token = csrf_of(resp.text)
    bad = client.post("/console/instances/dep_missing/extend", data={"csrf": token, "hours": "2"})
    assert bad.status_code == 303
    assert 'role="alert"' in client.get("/console/instances").text
