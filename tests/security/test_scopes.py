"""Scope checks for the admin-ish routes test_tenancy.py does not cover: deployments, billing, usage, tools, models."""
from __future__ import annotations

import pytest

from tests.security.conftest import ALL_SCOPES, SecEnv, Tenant

SCOPED = [  # (method, path template, body, scope it needs)
    ("POST", "/v1/deployments", {"model": "m", "hours": 1, "upstream": {"kind": "openai",
                                                                          "base_url": "http://127.0.0.1:9"}},
     "keys:write"),
    ("GET", "/v1/deployments", None, "keys:write"),
    ("GET", "/v1/deployments/{dep}", None, "keys:write"),
    ("POST", "/v1/deployments/{dep}/keys", {}, "keys:write"),
    ("POST", "/v1/deployments/{dep}/extend", {"hours": 1}, "keys:write"),
    ("GET", "/v1/{app}/ai/usage", None, "usage:read"),
    ("POST", "/api/tools", {"name": "t", "description": "d", "url": "https://tools.example.com/t",
                            "parameters": {"type": "object", "properties": {}}}, "apps:write"),
    ("POST", "/v1/chat/completions", {"model": "local/echo", "messages": [{"role": "user", "content": "x"}]},
     "ai:gateway"),
    ("POST", "/v1/videos", {"model": "local/test-pattern", "prompt": "p", "seconds": "1"}, "ai:gateway"),
    ("POST", "/v1/embeddings", {"model": "local/all-minilm-l6-v2", "input": "x"}, "ai:gateway"),
]
ADMIN_ONLY = [("POST", "/v1/billing/topups", {"account_id": "{account}", "amount_usd": "5"}),
              ("POST", "/v1/billing/plan", {"account_id": "{account}", "plan": "free"}),
              ("GET", "/v1/billing/balance?account_id=admin", None)]


def _fill(value: object, t: Tenant) -> object:
    if isinstance(value, str):
        return value.format(dep=t.deployment, app=t.app, account=t.account)
    if isinstance(value, dict):
        return {k: _fill(v, t) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "scope"), SCOPED, ids=[f"{m} {p}" for m, p, _, _ in SCOPED])
def test_a_key_without_the_scope_is_refused(sec: SecEnv, tenants: tuple[Tenant, Tenant], method: str, path: str,
                                            body: dict | None, scope: str) -> None:
    owner = tenants[1]
    url, payload = _fill(path, owner), _fill(body, owner)
    lacking = sec.gw.http(sec.key(owner.http, name="lacking", scopes=[s for s in ALL_SCOPES if s != scope])["key"])
    r = lacking.request(method, str(url), json=payload)
    assert r.status_code == 403, (url, r.status_code, r.text[:300])
    assert "permission" in r.text or "PERMISSION" in r.text or "FORBIDDEN" in r.text, r.text
    holding = sec.gw.http(sec.key(owner.http, name="holding", scopes=[scope])["key"])
    assert holding.request(method, str(url), json=payload).status_code != 403


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY, ids=[p for _, p, _ in ADMIN_ONLY])
def test_admin_only_routes_refuse_every_non_admin(sec: SecEnv, tenants: tuple[Tenant, Tenant], method: str,
                                                  path: str, body: dict | None) -> None:
    a = tenants[0]
    full = sec.gw.http(sec.key(a.http, name="full", scopes=ALL_SCOPES)["key"])
    for client in (a.http, full):
        r = client.request(method, path, json=_fill(body, a))
        assert r.status_code == 403, (path, r.status_code, r.text[:300])
    assert sec.gw.http().request(method, path, json=_fill(body, a)).status_code == 200
