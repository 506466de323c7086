"""Tenant isolation matrix: every route with an object id in its path, called with another tenant's credential."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.security.conftest import SecEnv, Tenant


def routes(v: Tenant) -> list[tuple[str, str, dict | None]]:
    """Every id-bearing route, aimed at the victim's objects."""
    app, vid, dep, chat, key = v.app, v.video, v.deployment, v.chat, v.key["id"]
    return [
        ("GET", f"/v1/apps/{app}", None), ("DELETE", f"/v1/apps/{app}", None),
        ("GET", f"/v1/{app}/ai/config", None), ("PUT", f"/v1/{app}/ai/config", {"maxTokensPerRequest": 5}),
        ("GET", f"/v1/{app}/models", None), ("GET", f"/v1/{app}/ai/usage", None),
        ("POST", f"/v1/{app}/chat/completions", {"messages": [{"role": "user", "content": "x"}]}),
        ("POST", f"/v1/{app}/embeddings", {"model": "local/all-minilm-l6-v2", "input": "x"}),
        ("POST", f"/v1/{app}/videos", {"model": "local/test-pattern", "prompt": "p", "seconds": "1"}),
        ("GET", f"/v1/{app}/videos", None), ("GET", f"/v1/{app}/videos/{vid}", None),
        ("GET", f"/v1/{app}/videos/{vid}/content", None), ("DELETE", f"/v1/{app}/videos/{vid}", None),
        ("DELETE", f"/v1/keys/{key}", None),
        ("GET", f"/v1/videos/{vid}", None), ("GET", f"/v1/videos/{vid}/content", None),
        ("DELETE", f"/v1/videos/{vid}", None),
        ("GET", f"/api/chats/{chat}/messages", None), ("DELETE", f"/api/chats/{chat}", None),
        ("POST", "/api/chat", {"chatId": chat, "messages": [{"role": "user", "content": "let me in"}]}),
        ("GET", f"/v1/deployments/{dep}", None), ("POST", f"/v1/deployments/{dep}/keys", {}),
        ("POST", f"/v1/deployments/{dep}/extend", {"hours": 1}), ("POST", f"/v1/deployments/{dep}/stop", None),
        ("DELETE", f"/v1/deployments/{dep}", None),
        ("GET", f"/v1/{v.account}/{app}/openai/models", None),
        ("POST", f"/v1/{v.account}/{app}/compat/chat/completions",
         {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
        ("GET", f"/v1/billing/balance?account_id={v.account}", None),
        ("GET", f"/api/usage?account_id={v.account}", None),
    ]


def attackers(sec: SecEnv, a: Tenant) -> dict[str, httpx.Client]:
    """The attacker as a platform user (JWT), with a full-scope personal key, and with an app key of their own."""
    app_key = sec.key(a.http, name="a-app", scopes=["ai:gateway", "usage:read"], app_id=a.app)
    return {"jwt": a.http, "key": sec.gw.http(a.key["key"]), "app_key": sec.gw.http(app_key["key"])}


def assert_no_leak(r: httpx.Response, v: Tenant, where: str) -> None:
    """Nothing of the victim's in the body beyond what the caller itself sent (`where`)."""
    for secret in v.ids():
        if secret and secret not in where:
            assert secret not in r.text, (where, secret, r.text[:300])


@pytest.mark.parametrize("who", ["jwt", "key", "app_key"])
def test_another_tenant_gets_403_or_404_and_never_the_data(sec: SecEnv, tenants: tuple[Tenant, Tenant],
                                                            who: str) -> None:
    a, v = tenants
    client = attackers(sec, a)[who]
    for method, path, body in routes(v):
        # Raw passthrough forwards `Authorization` to the provider as the caller's own provider key; the
        # tokenyard credential for the gateway rides in `tokenyard-authorization`.
        extra = {"tokenyard-authorization": client.headers["authorization"]} if "/openai/" in path else {}
        r = client.request(method, path, json=body, headers=extra)
        if path.startswith(("/v1/billing/balance", "/api/usage")):
            assert r.status_code in (200, 403, 404), (who, path, r.status_code)  # own data or refused
        else:
            assert r.status_code in (403, 404), (who, method, path, r.status_code, r.text[:300])
        assert_no_leak(r, v, f"{path} {json.dumps(body)}")


def test_victim_objects_are_untouched_after_the_attacks(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> None:
    a, v = tenants
    for client in attackers(sec, a).values():
        for method, path, body in routes(v):
            client.request(method, path, json=body)
    http = v.http
    assert http.get(f"/v1/apps/{v.app}").status_code == 200
    assert http.get(f"/v1/{v.app}/ai/config").json()["maxTokensPerRequest"] is None
    assert v.key["id"] in http.get("/v1/keys", params={"limit": 100}).text  # not only the newest 20
    assert http.get(f"/v1/videos/{v.video}").json()["status"] != "cancelled"
    assert http.get(f"/api/chats/{v.chat}/messages").status_code == 200
    assert http.get(f"/v1/deployments/{v.deployment}").json()["state"] not in ("stopped", "deleted")
    assert sec.gw.http(v.key["key"]).post(f"/v1/{v.app}/chat/completions", json={
        "model": "local/echo", "messages": [{"role": "user", "content": "still mine"}]}).status_code == 200


def test_listings_show_only_the_callers_objects(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> None:
    a, v = tenants
    for client in attackers(sec, a).values():
        for path in ("/v1/apps", "/v1/keys", "/v1/videos", "/api/chats", "/v1/deployments", "/api/usage",
                     f"/v1/{a.app}/ai/usage", "/v1/billing/balance", "/api/tools", "/v1/models"):
            r = client.get(path)
            assert r.status_code in (200, 403), (path, r.status_code, r.text[:200])
            assert_no_leak(r, v, path)
