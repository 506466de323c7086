"""Passthrough cannot write into someone's account without a tokenyard credential (issue 16): no key is a 401 with
nothing forwarded or metered; a key of the account works and is metered; another account's key is refused; an app
may opt in to unauthenticated passthrough, then rate limited."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.metering_helpers import create_key
from tests.e2e.passthrough_fixtures import BYOK, CapOpenAI, Env
from tests.harness.gateway import Gateway

DEFAULT_RPM = 3
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    fake = CapOpenAI(require_api_key=BYOK["openai"])
    fake.sent = []
    fake.start()
    gw = Gateway(workdir=tmp_path_factory.mktemp("passthrough-auth"),
                 config={"providers": {"p-openai": {"kind": "openai", "base_url": fake.base_url}}},
                 env={"TOKENYARD_PASSTHROUGH_UNAUTHENTICATED_RPM": str(DEFAULT_RPM)})
    try:
        gw.start()
        yield Env(gw, {"openai": fake})
    finally:
        gw.stop()
        fake.stop()


@pytest.fixture(autouse=True)
def _clean(env: Env) -> None:
    env.fakes["openai"].reset()


def account_app(env: Env, account: str, **config: Any) -> tuple[str, str]:
    """An app owned by `account` (made with its own key) and that key: (app id, key secret)."""
    _, key = create_key(env.gw, account, scopes=("ai:gateway", "apps:write"))
    with httpx.Client(base_url=env.gw.url, headers={"authorization": f"Bearer {key}"}, timeout=30) as http:
        r = http.post("/v1/apps", json={"name": f"{account}-gateway"})
        assert r.status_code == 201, r.text
        app = r.json()["id"]
        if config:
            put = http.put(f"/v1/{app}/ai/config", json=config)
            assert put.status_code == 200, put.text
    return app, key


def call(env: Env, account: str, app: str, gateway_key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {BYOK['openai']}"}
    if gateway_key:
        headers["tokenyard-authorization"] = f"Bearer {gateway_key}"
    return httpx.post(f"{env.gw.url}/v1/{account}/{app}/p-openai/chat/completions", json=BODY, headers=headers,
                      timeout=30)


def settle_usage(env: Env, app: str, expected: int) -> list[dict[str, Any]]:
    """The app's passthrough records once `expected` are there, plus a moment for any stray one to land."""
    env.usage(app, expected)
    time.sleep(0.5)
    return env.usage(app, expected)


def test_unauthenticated_passthrough_is_401_and_nothing_is_forwarded_or_metered(env: Env) -> None:
    app, key = account_app(env, "pt-victim")
    fake = env.fakes["openai"]
    for _ in range(3):
        r = call(env, "pt-victim", app)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["type"] == "authentication_error"
        assert "tokenyard-authorization" in r.json()["error"]["message"]
    assert not fake.requests, "nothing reached the provider"
    fake.script_reply("fine", usage={"prompt_tokens": 4, "completion_tokens": 1})
    assert call(env, "pt-victim", app, key).status_code == 200  # a marker call: its record lands after any other
    rows = settle_usage(env, app, 1)
    assert len(rows) == 1 and len(fake.requests) == 1, "only the authenticated call was forwarded and metered"


def test_a_key_of_the_account_works_and_is_metered_to_it(env: Env) -> None:
    app, key = account_app(env, "pt-owner")
    key_id, app_key = create_key(env.gw, "pt-owner", app_id=app)
    fake = env.fakes["openai"]
    fake.script_reply("owned", usage={"prompt_tokens": 7, "completion_tokens": 2})
    r = call(env, "pt-owner", app, key)
    assert r.status_code == 200 and r.content == fake.sent[-1]
    assert "tokenyard-authorization" not in fake.last_request.headers, "the gateway key is never forwarded"
    fake.script_reply("app key", usage={"prompt_tokens": 3, "completion_tokens": 1})
    assert call(env, "pt-owner", app, app_key).status_code == 200
    rows = settle_usage(env, app, 2)
    assert [(r["account_id"], r["prompt_tokens"]) for r in rows] == [("pt-owner", 7), ("pt-owner", 3)]
    assert rows[1]["key_id"] == key_id


def test_a_key_of_another_account_is_refused_and_meters_nothing(env: Env) -> None:
    app, key = account_app(env, "pt-target")
    _, stranger = create_key(env.gw, "pt-stranger")
    _, stranger_admin = create_key(env.gw, "pt-stranger", scopes=("ai:gateway", "apps:write"))
    other_app, _ = account_app(env, "pt-other")
    _, other_app_key = create_key(env.gw, "pt-other", app_id=other_app)
    fake = env.fakes["openai"]
    for foreign in (stranger, stranger_admin, other_app_key, "ty_sk_not-a-real-key"):
        r = call(env, "pt-target", app, foreign)
        assert r.status_code in (401, 403), (foreign[:12], r.status_code, r.text)
        assert r.json()["error"]["type"] in ("permission_error", "authentication_error")
    assert not fake.requests, "nothing reached the provider"
    assert call(env, "pt-target", app, key).status_code == 200
    assert len(settle_usage(env, app, 1)) == 1


def test_app_opt_in_allows_unauthenticated_passthrough_under_its_rate_limit(env: Env) -> None:
    app, _ = account_app(env, "pt-open", allowUnauthenticatedPassthrough=True, rateLimits={"rpm": 2})
    fake = env.fakes["openai"]
    for _ in range(2):
        fake.script_reply("open", usage={"prompt_tokens": 5, "completion_tokens": 1})
        assert call(env, "pt-open", app).status_code == 200
    limited = call(env, "pt-open", app)
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-limit-requests"] == "2"
    assert len(fake.requests) == 2, "the refused call was not forwarded"
    rows = settle_usage(env, app, 2)
    assert len(rows) == 2 and {(r["account_id"], r["key_id"]) for r in rows} == {("pt-open", None)}


def test_opt_in_without_rate_limits_gets_the_default_rpm(env: Env) -> None:
    app, key = account_app(env, "pt-default", allowUnauthenticatedPassthrough=True)
    statuses = [call(env, "pt-default", app).status_code for _ in range(DEFAULT_RPM + 1)]
    assert statuses == [200] * DEFAULT_RPM + [429]
    assert call(env, "pt-default", app, key).status_code == 200, "a keyed call is not held by that limit"


def test_opt_in_is_off_by_default_and_cannot_be_combined_with_require_gateway_key(env: Env) -> None:
    app, key = account_app(env, "pt-flags")
    with httpx.Client(base_url=env.gw.url, headers={"authorization": f"Bearer {key}"}) as http:
        assert http.get(f"/v1/{app}/ai/config").json()["allowUnauthenticatedPassthrough"] is False
        both = {"requireGatewayKey": True, "allowUnauthenticatedPassthrough": True}
        r = http.put(f"/v1/{app}/ai/config", json=both)
        assert r.status_code == 400 and r.json()["error"]["param"] == "allowUnauthenticatedPassthrough"
        assert http.put(f"/v1/{app}/ai/config", json={"requireGatewayKey": True}).status_code == 200
    assert call(env, "pt-flags", app).status_code == 401


def test_keyed_passthrough_is_held_by_the_key_rate_limit(env: Env) -> None:
    app, _ = account_app(env, "pt-keyrpm")
    _, limited_key = create_key(env.gw, "pt-keyrpm", scopes=("ai:gateway",), rpm=2)
    fake = env.fakes["openai"]
    for _ in range(2):
        fake.script_reply("ok", usage={"prompt_tokens": 1, "completion_tokens": 1})
        assert call(env, "pt-keyrpm", app, limited_key).status_code == 200
    r = call(env, "pt-keyrpm", app, limited_key)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["type"] == "rate_limit_error" and int(r.headers["retry-after"]) >= 1
    assert r.headers["x-ratelimit-limit-requests"] == "2"
    assert len(fake.requests) == 2, "the refused call was not forwarded"


def test_keyed_passthrough_is_held_by_the_app_rate_limits_requests_and_tokens(env: Env) -> None:
    app, key = account_app(env, "pt-apprpm", rateLimits={"rpm": 3})
    fake = env.fakes["openai"]
    for _ in range(3):
        fake.script_reply("ok", usage={"prompt_tokens": 1, "completion_tokens": 1})
        assert call(env, "pt-apprpm", app, key).status_code == 200
    assert call(env, "pt-apprpm", app, key).status_code == 429
    app, key = account_app(env, "pt-apptpm", rateLimits={"tpm": 20})
    fake.script_reply("big", usage={"prompt_tokens": 15, "completion_tokens": 10})
    assert call(env, "pt-apptpm", app, key).status_code == 200
    settle_usage(env, app, 1)
    r = call(env, "pt-apptpm", app, key)
    assert r.status_code == 429, "the metered tokens of the first call count against the app's tpm"
    assert len(fake.requests) == 3 + 1, "the refused calls were not forwarded"
