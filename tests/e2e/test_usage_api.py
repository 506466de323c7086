"""Usage APIs: GET /v1/{app_id}/ai/usage (owner / app key with usage:read / admin), /api/usage and
/api/usage/remaining (chat-app format), with exact token and cost totals."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.metering_helpers import PRICED_MODEL, create_key, database_url, query, wait_until
from tests.harness.gateway import Gateway

TODAY = dt.datetime.now(dt.timezone.utc).date().isoformat()


@pytest.fixture(scope="module")
def usage_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(workdir=tmp_path_factory.mktemp("usage"), config={"models": [PRICED_MODEL]})
    try:
        yield gw.start()
    finally:
        gw.stop()


def _client(gw: Gateway, key: str) -> httpx.Client:
    return httpx.Client(base_url=gw.url, headers={"authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def traffic(usage_gateway: Gateway) -> dict[str, str]:
    """Three calls of one app on two models and one personal call, all by account `ua`."""
    gw = usage_gateway
    _, personal = create_key(gw, "ua", scopes=("ai:gateway", "usage:read", "apps:write", "keys:write"))
    with _client(gw, personal) as http:
        app1, app2 = (http.post("/v1/apps", json={"name": n}).json()["id"] for n in ("one", "two"))
    _, app_key = create_key(gw, "ua", scopes=("ai:gateway", "usage:read"), app_id=app1)
    _, other_app = create_key(gw, "ua", scopes=("ai:gateway", "usage:read"), app_id=app2)
    _, no_scope = create_key(gw, "ua", scopes=("ai:gateway",), app_id=app1)
    with _client(gw, app_key) as http:
        for model, text in (("test/priced", "alpha beta"), ("test/priced", "gamma"), ("local/echo", "delta")):
            r = http.post(f"/v1/{app1}/chat/completions",
                          json={"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
            assert r.status_code == 200, r.text
    with _client(gw, personal) as http:
        assert http.post("/v1/chat/completions", json={
            "model": "local/echo", "messages": [{"role": "user", "content": "mine"}]}).status_code == 200
    url = database_url(gw)
    assert wait_until(lambda: query(url, "SELECT count(*) FROM usage_records WHERE account_id='ua'")[0][0] == 4)
    return {"app": app_key, "personal": personal, "other_app": other_app, "no_scope": no_scope, "app_id": app1}


def test_app_usage_totals_by_model_match_the_records(usage_gateway: Gateway, traffic: dict[str, str]) -> None:
    with _client(usage_gateway, traffic["app"]) as http:
        r = http.get(f"/v1/{traffic['app_id']}/ai/usage", params={"startDate": TODAY, "endDate": TODAY})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = query(database_url(usage_gateway), "SELECT model, count(*), SUM(prompt_tokens), "
                 f"SUM(completion_tokens), SUM(cost_nanos) FROM usage_records WHERE app_id = '{traffic['app_id']}' "
                 "GROUP BY model ORDER BY model")
    assert body["startDate"] == TODAY and body["endDate"] == TODAY
    assert body["requests"] == 3
    assert body["byModel"] == [
        {"model": m, "requests": n, "promptTokens": p, "completionTokens": c, "totalTokens": p + c,
         "costUsd": pytest.approx(cost / 1e9)} for m, n, p, c, cost in rows]
    assert body["promptTokens"] == sum(r[2] for r in rows) and body["totalTokens"] == sum(r[2] + r[3] for r in rows)
    priced = next(m for m in body["byModel"] if m["model"] == "test/priced")
    assert priced["costUsd"] == pytest.approx((priced["promptTokens"] * 100 + priced["completionTokens"] * 200) / 1e6)
    with usage_gateway.http() as admin:
        assert admin.get(f"/v1/{traffic['app_id']}/ai/usage", params={"startDate": TODAY, "endDate": TODAY}).json() == body
        empty = admin.get(f"/v1/{traffic['app_id']}/ai/usage", params={"startDate": "2001-01-01", "endDate": "2001-01-31"}).json()
    assert empty["requests"] == 0 and empty["byModel"] == [] and empty["costUsd"] == 0


@pytest.mark.parametrize("params,param", [
    ({"startDate": "2025-13-01", "endDate": "2025-12-31"}, "startDate"),
    ({"startDate": "2025-01-01", "endDate": "yesterday"}, "endDate"),
    ({"startDate": "2025-02-01", "endDate": "2025-01-01"}, "startDate"),
])
def test_bad_dates_are_400(usage_gateway: Gateway, traffic: dict[str, str], params: dict[str, str],
                           param: str) -> None:
    with _client(usage_gateway, traffic["app"]) as http:
        r = http.get(f"/v1/{traffic['app_id']}/ai/usage", params=params)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error" and r.json()["error"]["param"] == param


def test_app_usage_needs_owner_or_usage_read_on_that_app(usage_gateway: Gateway, traffic: dict[str, str]) -> None:
    with _client(usage_gateway, traffic["other_app"]) as http:  # another app is not found, as on every app route
        assert http.get(f"/v1/{traffic['app_id']}/ai/usage").status_code == 404
    with _client(usage_gateway, traffic["no_scope"]) as http:
        assert http.get(f"/v1/{traffic['app_id']}/ai/usage").status_code == 403
    with _client(usage_gateway, traffic["personal"]) as http:
        # Not the owner of an app the Config service does not know: it is not found for this caller.
        assert http.get("/v1/app_unknown/ai/usage").status_code == 404
    assert httpx.get(f"{usage_gateway.url}/v1/{traffic['app_id']}/ai/usage").status_code == 401


def test_api_usage_lists_own_records_in_chat_app_format(usage_gateway: Gateway, traffic: dict[str, str]) -> None:
    with _client(usage_gateway, traffic["personal"]) as http:
        body = http.get("/api/usage").json()
        page = http.get("/api/usage", params={"limit": 2}).json()
        rest = http.get("/api/usage", params={"limit": 2, "cursor": page["nextCursor"]}).json()
    assert body["userId"] == "ua" and len(body["usage"]) == 4 and body["totals"]["requests"] == 4
    first = body["usage"][0]
    assert {"userId", "model", "promptTokens", "completionTokens", "totalTokens", "timestamp"} <= set(first)
    assert first["totalTokens"] == first["promptTokens"] + first["completionTokens"]
    assert dt.datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert [u["id"] for u in page["usage"] + rest["usage"]] == [u["id"] for u in body["usage"]]
    assert rest["nextCursor"] is None
    with _client(usage_gateway, traffic["app"]) as http:
        app_view = http.get("/api/usage").json()
    assert {u["appId"] for u in app_view["usage"]} == {traffic['app_id']} and app_view["totals"]["requests"] == 3


def test_api_usage_errors_use_the_chat_app_format(usage_gateway: Gateway, traffic: dict[str, str]) -> None:
    r = httpx.get(f"{usage_gateway.url}/api/usage", headers={"authorization": "Bearer ty_sk_wrong"})
    assert r.status_code == 401 and set(r.json()) == {"error", "code", "details"}
    with _client(usage_gateway, traffic["personal"]) as http:
        bad = http.get("/api/usage", params={"startDate": "nope"})
        remaining = http.get("/api/usage/remaining")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_REQUEST"
    assert bad.json()["details"]["param"] == "startDate"
    body = remaining.json()
    assert body["userId"] == "ua" and body["plan"] == "free" and body["monthlyAllowanceUsd"] == 5
    assert body["remainingUsd"] < 5 and body["resetsAt"].endswith("T00:00:00Z")
