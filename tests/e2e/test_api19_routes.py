"""Issue 19, HTTP API behaviour: model retrieval by id, unknown app ids, tool names, JSON bodies, top-ups."""
from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.e2e.api19_fixtures import FAKE_KEY, Api19, api19  # noqa: F401  (fixture)
from tests.e2e.console_fixtures import signed_in
from tests.e2e.tenancy_fixtures import new_app, new_key


def test_models_retrieve_accepts_ids_with_slashes(api19: Api19) -> None:
    client = api19.gw.openai()
    model = client.models.retrieve("local/echo")
    assert (model.id, model.object) == ("local/echo", "model")
    with pytest.raises(openai.NotFoundError) as exc:
        client.models.retrieve("local/no-such-model")
    assert exc.value.status_code == 404
    assert exc.value.body["code"] == "model_not_found" and exc.value.body["type"] == "invalid_request_error"
    assert client.models.retrieve("openai/gpt-4o-mini").id == "openai/gpt-4o-mini"
    assert client.models.retrieve("gpt-4o-mini").id == "openai/gpt-4o-mini"  # an alias names its model


def test_app_scoped_models_retrieve(api19: Api19) -> None:
    _, user = api19.user("models")
    app = new_app(user, allowedModels=["local/echo"])
    key = new_key(user, app_id=app)["key"]
    client = openai.OpenAI(base_url=f"{api19.gw.url}/v1/{app}", api_key=key, max_retries=0)
    assert client.models.retrieve("local/echo").id == "local/echo"
    with pytest.raises(openai.NotFoundError) as exc:
        client.models.retrieve("openai/gpt-4o-mini")  # in the catalog, not allowed for this app
    assert exc.value.body["code"] == "model_not_found"


APP_ROUTES = [("GET", "/ai/usage", None), ("GET", "/videos", None), ("GET", "/ai/config", None),
              ("GET", "/models", None), ("GET", "/videos/video_x", None),
              ("POST", "/videos", {"model": "local/test-pattern", "prompt": "p", "seconds": "1"}),
              ("POST", "/chat/completions", {"model": "local/echo", "messages": [{"role": "user", "content": "x"}]})]


def test_unknown_or_foreign_app_ids_are_404_on_every_app_route(api19: Api19) -> None:
    owner, bob = api19.user("bob")
    _, alice = api19.user("alice")
    bobs_app = new_app(bob, "bob's")
    alices_app = new_app(alice, "alice's")
    alice_app_key = api19.gw.http(new_key(alice, app_id=alices_app,
                                          scopes=["ai:gateway", "usage:read", "apps:write"])["key"])
    callers = {"admin": (api19.gw.http(), ["app_nope"]), "alice": (alice, ["app_nope", bobs_app]),
               "alice's app key": (alice_app_key, ["app_nope", bobs_app])}
    for who, (client, apps) in callers.items():
        for app in apps:
            for method, path, body in APP_ROUTES:
                r = client.request(method, f"/v1/{app}{path}", json=body)
                assert r.status_code == 404, (who, app, method, path, r.status_code, r.text[:200])
                assert r.json()["error"]["code"] == "not_found", (who, path, r.text[:200])
    assert api19.gw.http().get(f"/v1/{bobs_app}/ai/usage").status_code == 200  # the admin sees a real app
    assert bob.get(f"/v1/{bobs_app}/videos").status_code == 200


def test_enabled_tools_must_name_known_tools(api19: Api19) -> None:
    _, user = api19.user("tools")
    app = new_app(user, "tools")
    r = user.put(f"/v1/{app}/ai/config", json={"enabledTools": ["calculator", "flux-capacitor"]})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "enabledTools" and "flux-capacitor" in err["message"]
    assert all(name in err["message"] for name in ("calculator", "search", "weather"))
    assert user.put(f"/v1/{app}/ai/config", json={"enabledTools": ["calculator", "weather"]}).status_code == 200
    app_key = api19.gw.http(new_key(user, app_id=app, scopes=["ai:gateway", "apps:write"])["key"])
    hook = {"name": "flux-capacitor", "description": "time travel", "url": f"{api19.fake.url}/flux",
            "parameters": {"type": "object", "properties": {}}}
    r = app_key.post("/api/tools", json=hook)
    assert r.status_code == 201, r.text  # now the app has a webhook tool by that name
    r = user.put(f"/v1/{app}/ai/config", json={"enabledTools": ["calculator", "flux-capacitor"]})
    assert r.status_code == 200, r.text
    assert r.json()["enabledTools"] == ["calculator", "flux-capacitor"]
    r = user.put(f"/v1/{app}/ai/config", json={"enabledTools": ["mr-fusion"]})
    assert r.status_code == 400 and "flux-capacitor" in r.json()["error"]["message"]  # listed as known


def test_top_ups_and_plans_for_unknown_accounts_are_404(api19: Api19) -> None:
    admin = api19.gw.http()
    for path, body in (("/v1/billing/topups", {"account_id": "nobody-typo", "amount_usd": "5"}),
                       ("/v1/billing/plan", {"account_id": "nobody-typo", "plan": "free"})):
        r = admin.post(path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["param"] == "account_id" and "nobody-typo" in r.json()["error"]["message"]
    assert admin.get("/v1/billing/balance", params={"account_id": "nobody-typo"}).status_code == 404
    assert admin.post("/v1/billing/topups", json={"account_id": "nobody-typo", "amount_usd": "5"}).status_code == 404
    sub, user = api19.user("payer")
    assert admin.post("/v1/billing/topups", json={"account_id": sub, "amount_usd": "5"}).status_code == 404
    assert user.get("/v1/billing/balance").status_code == 200  # the user signs in once: the account exists
    r = admin.post("/v1/billing/topups", json={"account_id": sub, "amount_usd": "5"})
    assert r.status_code == 200 and r.json()["balance"]["topup_usd"] == 5, r.text
    assert admin.post("/v1/billing/plan", json={"account_id": sub, "plan": "free"}).status_code == 200


def test_every_json_route_accepts_a_body_without_a_json_content_type(api19: Api19) -> None:
    sub, user = api19.user("ctype")
    app = new_app(user, "ctype")
    admin = api19.gw.http()
    routes = [(admin, "/v1/billing/topups", {"account_id": sub, "amount_usd": "1"}),
              (admin, "/v1/billing/plan", {"account_id": sub, "plan": "free"}),
              (user, "/v1/apps", {"name": "raw"}),
              (user, "/v1/keys", {"name": "raw", "scopes": ["ai:gateway"]}),
              (user, f"/v1/{app}/chat/completions", {"model": "local/echo",
                                                     "messages": [{"role": "user", "content": "x"}]}),
              (user, "/v1/chat/completions", {"model": "local/echo", "messages": [{"role": "user", "content": "x"}]})]
    for client, path, body in routes:
        expected = client.post(path, json=body).status_code
        assert expected in (200, 201), (path, expected)
        for headers in ({}, {"content-type": "text/plain"}):
            r = client.post(path, content=json.dumps(body).encode(), headers=headers)
            assert r.status_code == expected, (path, headers, r.status_code, r.text[:200])
    r = admin.post("/v1/billing/topups", content=b"{oops")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_models_say_which_are_unavailable_and_why(api19: Api19) -> None:
    listed = {m["id"]: m for m in api19.gw.http().get("/v1/models").json()["data"]}
    assert listed["local/echo"]["available"] is True and "unavailable_reason" not in listed["local/echo"]
    assert listed["openai/gpt-4o-mini"]["available"] is True  # its key (API19_OPENAI_KEY) is set
    claude = listed["anthropic/claude-sonnet-4.6"]
    assert claude["available"] is False
    assert claude["unavailable_reason"] == "provider 'anthropic' has no API key: ANTHROPIC_API_KEY is not set"
    assert FAKE_KEY not in str(listed)  # names the variable, never a value
    assert api19.gw.openai().models.retrieve("anthropic/claude-sonnet-4.6").model_extra["available"] is False
    public = {m["id"]: m for m in httpx.get(f"{api19.gw.url}/v1/public/models").json()["data"]}
    assert public["anthropic/claude-sonnet-4.6"]["unavailable_reason"] == claude["unavailable_reason"]
    assert public["local/echo"]["unavailable_reason"] is None
    console = signed_in(api19.gw, api19.gw.admin_key)
    page = console.get("/console/models", params={"provider": "anthropic"})
    assert page.status_code == 200 and "ANTHROPIC_API_KEY is not set" in page.text
