"""Multi-tenancy end to end: JWT users, scoped keys, apps and their AI config, isolation between users."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.e2e.tenancy_fixtures import JwtGateway, new_app, new_key
from tests.harness.gateway import Gateway
from tests.jwt_helpers import JWT_SECRET, RsaSigner, hs256, unsigned
from tests.unit.auth.test_platform_jwt import forge_hs256

MSG = [{"role": "user", "content": "one two three four five"}]


@pytest.fixture(scope="module")
def jwt_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JwtGateway]:
    workdir = tmp_path_factory.mktemp("jwtgw")
    signer = RsaSigner()
    jwks = signer.write_jwks(workdir / "jwks.json")
    gw = Gateway(workdir=workdir, env={"TOKENYARD_JWT_SECRET": JWT_SECRET, "TOKENYARD_JWKS_URL": str(jwks),
                                       "OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": ""})
    try:
        gw.start()
        yield JwtGateway(gw, signer)
    finally:
        gw.stop()


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_jwt_user_mints_a_personal_key_and_uses_it_with_the_openai_sdk(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("carol"))
    created = new_key(user, name="laptop", scopes=["ai:gateway"])
    assert created["key"].startswith("ty_sk_") and created["prefix"] == created["key"][:12]
    client = jwt_gateway.gw.openai(key=created["key"])
    resp = client.chat.completions.create(model="local/echo", messages=[{"role": "user", "content": "hello"}])
    assert resp.choices[0].message.content == "hello"
    listed = user.get("/v1/keys").json()["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and listed[0]["scopes"] == ["ai:gateway"]
    deadline = time.monotonic() + 5
    while user.get("/v1/keys").json()["data"][0]["last_used_at"] is None:
        assert time.monotonic() < deadline, "last_used_at never set"
        time.sleep(0.2)


def test_rs256_jwt_from_the_jwks_file_is_accepted(jwt_gateway: JwtGateway) -> None:
    token = jwt_gateway.signer.token(uid("dave"))
    resp = jwt_gateway.gw.openai(key=token).chat.completions.create(model="local/echo", messages=MSG)
    assert resp.choices[0].message.content == "one two three four five"


@pytest.mark.parametrize("case", ["alg_none", "wrong_secret", "expired", "other_rsa_key", "hs_rs_confusion",
                                  "expired_rs256"])
def test_bad_jwts_are_401(jwt_gateway: JwtGateway, case: str) -> None:
    sub = uid("eve")
    token = {
        "alg_none": lambda: unsigned(sub),
        "wrong_secret": lambda: hs256(sub, secret="not-the-platform-secret-0123456789abcd"),
        "expired": lambda: hs256(sub, ttl=-2),
        "other_rsa_key": lambda: RsaSigner(jwt_gateway.signer.kid).token(sub),
        "hs_rs_confusion": lambda: forge_hs256(jwt_gateway.signer.public_pem,
                                               {"sub": sub, "exp": int(time.time()) + 60}),
        "expired_rs256": lambda: jwt_gateway.signer.token(sub, ttl=-2),
    }[case]()
    with pytest.raises(openai.AuthenticationError):
        jwt_gateway.gw.openai(key=token).chat.completions.create(model="local/echo", messages=MSG)
    assert jwt_gateway.gw.http(token).get("/v1/apps").status_code == 401


def test_user_a_never_reaches_user_b_apps_keys_or_config(jwt_gateway: JwtGateway) -> None:
    a, b = jwt_gateway.user(uid("alice")), jwt_gateway.user(uid("bob"))
    b_app = new_app(b, "b-app", defaultModel="local/echo")
    b_key = new_key(b, scopes=["ai:gateway"])
    for method, path, body in [("GET", f"/v1/apps/{b_app}", None), ("DELETE", f"/v1/apps/{b_app}", None),
                               ("GET", f"/v1/{b_app}/ai/config", None),
                               ("PUT", f"/v1/{b_app}/ai/config", {"maxTokensPerRequest": 1}),
                               ("GET", f"/v1/{b_app}/models", None),
                               ("POST", f"/v1/{b_app}/chat/completions", {"messages": MSG}),
                               ("DELETE", f"/v1/keys/{b_key['id']}", None)]:
        r = a.request(method, path, json=body)
        assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
        assert r.json()["error"]["type"] in ("invalid_request_error", "permission_error")
    r = a.post("/v1/keys", json={"name": "steal", "scopes": ["ai:gateway"], "app_id": b_app})
    assert r.status_code in (403, 404)
    a_key = new_key(a, scopes=["ai:gateway"])["key"]
    r = jwt_gateway.key(a_key).post(f"/v1/{b_app}/chat/completions", json={"messages": MSG})
    assert r.status_code in (403, 404)
    assert a.get("/v1/apps").json()["data"] == [] and b_key["id"] not in str(a.get("/v1/keys").json())
    assert b.get(f"/v1/apps/{b_app}").status_code == 200
    assert b.get(f"/v1/{b_app}/ai/config").json()["maxTokensPerRequest"] is None
    assert jwt_gateway.key(b_key["key"]).post("/v1/chat/completions", json={
        "model": "local/echo", "messages": MSG}).status_code == 200


def test_app_config_drives_app_routes_but_not_app_less_routes(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("frank"))
    app = new_app(user, defaultModel="local/echo", maxTokensPerRequest=3, allowedModels=["local/echo"])
    client = openai.OpenAI(base_url=f"{jwt_gateway.gw.url}/v1/{app}", api_key=user.headers["authorization"][7:],
                           max_retries=0)
    r = user.post(f"/v1/{app}/chat/completions", json={"messages": MSG})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "local/echo" and body["usage"]["completion_tokens"] == 3
    assert body["choices"][0]["finish_reason"] == "length"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="local/echo", messages=MSG, max_tokens=4)
    assert info.value.body["param"] == "max_tokens"
    with pytest.raises(openai.PermissionDeniedError) as denied:
        client.chat.completions.create(model="openai/gpt-4o", messages=MSG)
    assert denied.value.code == "model_not_allowed"
    assert [m.id for m in client.models.list()] == ["local/echo"]
    plain = user.post("/v1/chat/completions", json={"model": "local/echo", "messages": MSG, "max_tokens": 50})
    assert plain.status_code == 200 and plain.json()["choices"][0]["message"]["content"] == MSG[0]["content"]
    assert user.post("/v1/chat/completions", json={"messages": MSG}).status_code == 400
    keys = set(plain.json()) - {"id", "created"}
    assert keys == set(body) - {"id", "created"}


def test_config_changes_apply_to_the_next_request(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("gina"))
    app = new_app(user, maxTokensPerRequest=2)
    assert user.post(f"/v1/{app}/chat/completions", json={"model": "local/echo", "messages": MSG}
                     ).json()["usage"]["completion_tokens"] == 2
    assert user.put(f"/v1/{app}/ai/config", json={"maxTokensPerRequest": 4}).status_code == 200
    deadline = time.monotonic() + 1.0
    while user.post(f"/v1/{app}/chat/completions", json={"model": "local/echo", "messages": MSG}
                    ).json()["usage"]["completion_tokens"] != 4:
        assert time.monotonic() < deadline, "new config not applied within 1 s"
        time.sleep(0.05)


def test_app_keys_only_call_their_own_app(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("hank"))
    app, other = new_app(user, defaultModel="local/echo"), new_app(user, "other")
    app_key = new_key(user, scopes=["ai:gateway"], app_id=app)
    assert app_key["app_id"] == app
    k = jwt_gateway.key(app_key["key"])
    assert k.post(f"/v1/{app}/chat/completions", json={"messages": MSG}).status_code == 200
    assert k.post("/v1/chat/completions", json={"model": "local/echo", "messages": MSG}).status_code == 403
    assert k.post(f"/v1/{other}/chat/completions", json={"messages": MSG}).status_code == 404
    assert k.post("/v1/keys", json={"name": "x"}).status_code == 403
    assert k.post("/v1/apps", json={"name": "x"}).status_code == 403
    assert user.delete(f"/v1/apps/{app}").status_code == 200  # revokes the app's keys
    deadline = time.monotonic() + 1.0
    while k.post(f"/v1/{app}/chat/completions", json={"messages": MSG}).status_code != 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize(("body", "param"), [
    ({"maxTokensPerRequest": 0}, "maxTokensPerRequest"),
    ({"maxTokensPerRequest": 100_001}, "maxTokensPerRequest"),
    ({"maxTokensPerRequest": "100"}, "maxTokensPerRequest"),
    ({"maxTokensPerRequest": 1.5}, "maxTokensPerRequest"),
    ({"defaultModel": "nope/none"}, "defaultModel"),
    ({"defaultModel": 5}, "defaultModel"),
    ({"allowedModels": "local/echo"}, "allowedModels"),
    ({"allowedModels": ["local/echo", "nope/x"]}, "allowedModels[1]"),
    ({"allowedModels": ["local/echo"], "defaultModel": "openai/gpt-4o"}, "defaultModel"),
    ({"rateLimits": {"rpm": -1}}, "rateLimits.rpm"),
    ({"rateLimits": {"tpm": "x"}}, "rateLimits.tpm"),
    ({"enabledTools": [3]}, "enabledTools[0]"),
    ({"maxTokens": 5}, "maxTokens"),
])
def test_every_invalid_config_value_is_400_naming_the_field(jwt_gateway: JwtGateway, body: dict,
                                                             param: str) -> None:
    user = jwt_gateway.user("ivy")
    app = user.get("/v1/apps").json()["data"]
    app_id = app[0]["id"] if app else new_app(user)
    r = user.put(f"/v1/{app_id}/ai/config", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_config_round_trips_with_rate_limits_and_tools(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("jack"))
    app = new_app(user)
    cfg = {"defaultModel": "gpt-4o-mini", "maxTokensPerRequest": 1000, "allowedModels": ["gpt-4o-mini", "local/echo"],
           "rateLimits": {"rpm": 60, "tpm": 10000}, "enabledTools": ["calculator"], "customTools": []}
    assert user.put(f"/v1/{app}/ai/config", json=cfg).status_code == 200
    got = user.get(f"/v1/{app}/ai/config").json()
    assert got == {**cfg, "allowedModels": ["openai/gpt-4o-mini", "local/echo"], "requireGatewayKey": False,
                   "allowUnauthenticatedPassthrough": False}


ADMIN_ROUTES = [("POST", "/v1/apps", {"name": "x"}, "apps:write"), ("GET", "/v1/apps", None, "apps:write"),
                ("GET", "/v1/apps/{app}", None, "apps:write"), ("DELETE", "/v1/apps/{app}", None, "apps:write"),
                ("GET", "/v1/{app}/ai/config", None, "apps:write"),
                ("PUT", "/v1/{app}/ai/config", {}, "apps:write"),
                ("POST", "/v1/keys", {"name": "x", "scopes": ["usage:read"]}, "keys:write"),
                ("GET", "/v1/keys", None, "keys:write"), ("DELETE", "/v1/keys/{key}", None, "keys:write")]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ADMIN_ROUTES)
def test_admin_routes_check_scopes(jwt_gateway: JwtGateway, method: str, path: str, body: dict | None,
                                   scope: str) -> None:
    user = jwt_gateway.user(uid("kim"))
    app = new_app(user)
    victim = new_key(user, scopes=["ai:gateway"])["id"]
    url = path.format(app=app, key=victim)
    others = [s for s in ("ai:gateway", "apps:write", "keys:write", "usage:read") if s != scope]
    lacking = jwt_gateway.key(new_key(user, scopes=others)["key"])
    r = lacking.request(method, url, json=body)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["type"] == "permission_error"
    holding = jwt_gateway.key(new_key(user, scopes=[scope, "usage:read"])["key"])
    assert holding.request(method, url, json=body).status_code in (200, 201)
    assert httpx.request(method, jwt_gateway.gw.url + url, json=body).status_code == 401


def test_personal_key_cannot_exceed_its_owner(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("lee"))
    r = user.post("/v1/keys", json={"name": "x", "scopes": ["admin"]})
    assert r.status_code == 403
    limited = jwt_gateway.key(new_key(user, scopes=["keys:write"])["key"])
    assert limited.post("/v1/keys", json={"name": "y", "scopes": ["ai:gateway"]}).status_code == 403
    assert limited.post("/v1/keys", json={"name": "y", "scopes": ["keys:write"]}).status_code == 201
    r = user.post("/v1/keys", json={"name": "x", "scopes": ["everything"]})
    assert r.status_code == 400 and r.json()["error"]["param"].startswith("scopes")


def test_expiring_keys(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("mia"))
    past = user.post("/v1/keys", json={"name": "x", "expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["error"]["param"] == "expires_at"
    soon = new_key(user, scopes=["ai:gateway"], expires_at=int(time.time()) + 2)
    assert soon["expires_at"] is not None
    k = jwt_gateway.key(soon["key"])
    assert k.post("/v1/chat/completions", json={"model": "local/echo", "messages": MSG}).status_code == 200
    time.sleep(2.5)
    assert k.post("/v1/chat/completions", json={"model": "local/echo", "messages": MSG}).status_code == 401


def test_models_public_caller_and_unconfigured_provider(jwt_gateway: JwtGateway) -> None:
    public = httpx.get(f"{jwt_gateway.gw.url}/v1/public/models").json()["data"]
    by_id = {m["id"]: m for m in public}
    assert by_id["anthropic/claude-sonnet-4.6"]["pricing"] == {"input_per_mtok_usd": "3",
                                                               "output_per_mtok_usd": "15"}
    assert by_id["openai/text-embedding-3-large"]["dimensions"] == 3072
    assert by_id["google/gemini-2.5-flash"]["context_window"] == 1048576
    assert httpx.get(f"{jwt_gateway.gw.url}/v1/models").status_code == 401
    assert httpx.get(f"{jwt_gateway.gw.url}/v1/models", headers={"authorization": "Bearer bad"}).status_code == 401
    user = jwt_gateway.user(uid("ned"))
    assert {m["id"] for m in user.get("/v1/models").json()["data"]} == set(by_id)
    with pytest.raises(openai.APIStatusError) as info:
        jwt_gateway.gw.openai(key=hs256("ned")).chat.completions.create(model="openai/gpt-4o", messages=MSG)
    assert info.value.status_code == 503 and info.value.code == "provider_not_configured"


def test_route_names_do_not_collide(jwt_gateway: JwtGateway) -> None:
    user = jwt_gateway.user(uid("olga"))
    for path in ("/v1/apps/models", "/v1/keys/models", "/v1/public/ai/config", "/v1/apps/ai/config"):
        r = user.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (path, r.text)
    assert user.get("/v1/public/models").status_code == 200


def test_openapi_documents_the_whole_facade(jwt_gateway: JwtGateway) -> None:
    spec = httpx.get(f"{jwt_gateway.gw.url}/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/apps", "/v1/apps/{app_id}", "/v1/{app_id}/ai/config", "/v1/keys", "/v1/keys/{key_id}",
                 "/v1/models", "/v1/public/models", "/v1/{app_id}/models", "/v1/chat/completions",
                 "/v1/{app_id}/chat/completions"):
        assert path in paths, path
    assert {"400", "401", "403", "404"} <= set(paths["/v1/keys"]["post"]["responses"])
    assert "201" in paths["/v1/apps"]["post"]["responses"]
