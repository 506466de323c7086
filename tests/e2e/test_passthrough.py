"""Provider passthrough end to end: byte-for-byte forwarding (plain and streamed), metering, BYOK, gateway keys,
the compat route, model-specific routes, and refusals (unknown provider, path escapes, foreign gateways).
Every forwarded call carries a tokenyard key of the apps' account in `tokenyard-authorization` (`env.key`)."""
from __future__ import annotations

import httpx
import openai
import pytest

from tests.e2e.passthrough_fixtures import BYOK, Env, env, raw_status  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def _clean(env: Env) -> None:  # noqa: F811
    for f in env.fakes.values():
        f.reset()


def test_plain_request_forwarded_byte_for_byte_and_metered(env: Env) -> None:  # noqa: F811
    app = env.app()
    fake = env.fakes["openai"]
    fake.script_reply("plain answer", usage={"prompt_tokens": 11, "completion_tokens": 2})
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],  "temperature":0.5}'
    r = httpx.post(f"{env.gw.url}/v1/admin/{app}/p-openai/chat/completions?api-version=7&x=%2F", content=body,
                   headers={"Authorization": f"Bearer {BYOK['openai']}", "Content-Type": "application/json",
                            "Cookie": "session=secret", "X-Custom": "kept", "Connection": "keep-alive, X-Drop-Me",
                            "X-Drop-Me": "hop", "Proxy-Authorization": "Basic abc", **env.key}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == fake.sent[-1], "the body comes back exactly as the upstream sent it"
    rec = fake.last_request
    assert (rec.method, rec.path, rec.query) == ("POST", "/v1/chat/completions", {"api-version": "7", "x": "/"})
    assert rec.body == body, "the body goes up unchanged"
    assert rec.headers["authorization"] == f"Bearer {BYOK['openai']}" and rec.headers["x-custom"] == "kept"
    for dropped in ("cookie", "x-drop-me", "proxy-authorization", "tokenyard-authorization"):
        assert dropped not in rec.headers, dropped
    assert rec.headers["host"].startswith("127.0.0.1:")
    assert "set-cookie" not in r.headers
    rows = env.usage(app, 1)
    assert len(rows) == 1
    row = rows[0]
    assert (row["account_id"], row["target"], row["model"]) == ("admin", "p-openai", "p-openai/gpt-4o-mini")
    assert (row["prompt_tokens"], row["completion_tokens"], row["status"]) == (11, 2, "ok")


def test_streamed_request_forwarded_byte_for_byte_and_metered(env: Env) -> None:  # noqa: F811
    app = env.app()
    fake = env.fakes["openai"]
    fake.script_reply("one two three four", usage={"prompt_tokens": 5, "completion_tokens": 4})
    req = {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
           "messages": [{"role": "user", "content": "count"}]}
    pieces = []
    with httpx.stream("POST", f"{env.gw.url}/v1/admin/{app}/p-openai/chat/completions", json=req, timeout=30,
                      headers={"Authorization": f"Bearer {BYOK['openai']}", **env.key}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        pieces = list(r.iter_raw())
    assert b"".join(pieces) == fake.sent[-1]
    assert len(pieces) > 1, "streamed, not buffered"
    row = env.usage(app, 1)[0]
    assert (row["prompt_tokens"], row["completion_tokens"], row["model"]) == (5, 4, "p-openai/gpt-4o-mini")
    assert row["ttft_ms"] > 0


def test_openai_sdk_through_passthrough_and_upstream_errors(env: Env) -> None:  # noqa: F811
    app = env.app()
    client = openai.OpenAI(base_url=f"{env.gw.url}/v1/admin/{app}/p-openai", api_key=BYOK["openai"], max_retries=0,
                           default_headers=env.key)
    env.fakes["openai"].script_reply("sdk ok", usage={"prompt_tokens": 3, "completion_tokens": 2})
    assert client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]) \
        .choices[0].message.content == "sdk ok"
    assert [m.id for m in client.models.list()][:1] == ["gpt-4o-mini"]
    bad = openai.OpenAI(base_url=f"{env.gw.url}/v1/admin/{app}/p-openai", api_key="sk-wrong", max_retries=0,
                        default_headers=env.key)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided" in exc.value.message, "the upstream's own error comes back unchanged"


def test_anthropic_and_gemini_native_streams_metered(env: Env) -> None:  # noqa: F811
    app = env.app()
    ant, gem = env.fakes["anthropic"], env.fakes["gemini"]
    ant.script_reply("bonjour le monde", usage={"prompt_tokens": 8, "completion_tokens": 3})
    with httpx.stream("POST", f"{env.gw.url}/v1/admin/{app}/p-anthropic/v1/messages", timeout=30,
                      headers={"x-api-key": BYOK["anthropic"], "anthropic-version": "2023-06-01", **env.key},
                      json={"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True,
                            "messages": [{"role": "user", "content": "hi"}]}) as r:
        raw = b"".join(r.iter_raw())
    assert r.status_code == 200 and raw == ant.sent[-1] and b"message_delta" in raw
    gem.script_reply("hallo welt", usage={"prompt_tokens": 6, "completion_tokens": 2})
    r = httpx.post(f"{env.gw.url}/v1/admin/{app}/p-gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent"
                   "?alt=sse", headers={"x-goog-api-key": BYOK["gemini"], **env.key}, timeout=30,
                   json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert r.status_code == 200 and r.content == gem.sent[-1]
    assert gem.last_request.query == {"alt": "sse"}
    rows = {row["target"]: row for row in env.usage(app, 2)}
    assert (rows["p-anthropic"]["prompt_tokens"], rows["p-anthropic"]["completion_tokens"]) == (8, 3)
    assert rows["p-anthropic"]["model"] == "p-anthropic/claude-sonnet-4-5"
    assert (rows["p-gemini"]["prompt_tokens"], rows["p-gemini"]["completion_tokens"]) == (6, 2)
    assert rows["p-gemini"]["model"] == "p-gemini/gemini-2.5-flash"


def test_model_specific_route(env: Env) -> None:  # noqa: F811
    app = env.app()
    body = b'{"prompt": "tell me a story", "max_tokens": 7}'
    r = httpx.post(f"{env.gw.url}/v1/admin/{app}/p-model/model/@cf/meta/llama-3-8b", content=body, timeout=30,
                   headers={"Authorization": f"Bearer {BYOK['model']}", "content-type": "application/json",
                            **env.key})
    assert r.status_code == 200 and r.json()["result"]["response"] == "story a me tell"
    assert r.content == env.fakes["model"].sent[-1]
    rec = env.fakes["model"].last_request
    assert rec.path == "/v1/model/@cf/meta/llama-3-8b" and rec.body == body
    row = env.usage(app, 1)[0]
    assert (row["model"], row["prompt_tokens"], row["completion_tokens"]) == ("p-model/@cf/meta/llama-3-8b", 4, 7)


def test_compat_route_goes_through_the_router(env: Env) -> None:  # noqa: F811
    app = env.app()
    client = openai.OpenAI(base_url=f"{env.gw.url}/v1/admin/{app}/compat", api_key=env.gw.admin_key, max_retries=0)
    env.fakes["anthropic"].script_reply("translated", usage={"prompt_tokens": 4, "completion_tokens": 1})
    resp = client.chat.completions.create(model="op-anthropic/claude-sonnet-4-5",
                                          messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "translated"
    assert env.fakes["anthropic"].last_request.path == "/v1/messages", "translated to the Messages API"
    stream = client.chat.completions.create(model="op-openai/gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "a b c"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: a b c"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="op-openai/no-such-model", messages=[{"role": "user", "content": "x"}])
    anon = openai.OpenAI(base_url=f"{env.gw.url}/v1/admin/{app}/compat", api_key="ty_sk_bogus", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anon.chat.completions.create(model="op-openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}])


def test_gateway_key_of_the_app_or_its_account_is_required(env: Env) -> None:  # noqa: F811
    app = env.app(requireGatewayKey=True)  # the old flag is still accepted (a key is now always required)
    other = env.app()
    admin = env.gw.http()
    assert admin.get(f"/v1/{app}/ai/config").json()["requireGatewayKey"] is True
    app_key = admin.post("/v1/keys", json={"name": "gw", "app_id": app}).json()["key"]
    other_key = admin.post("/v1/keys", json={"name": "gw", "app_id": other}).json()["key"]
    url = f"{env.gw.url}/v1/admin/{app}/p-openai/models"
    byok = {"Authorization": f"Bearer {BYOK['openai']}"}
    r = httpx.get(url, headers=byok)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert httpx.get(url, headers={**byok, "tokenyard-authorization": "Bearer ty_sk_bogus"}).status_code == 401
    assert httpx.get(url, headers={**byok, "tokenyard-authorization": f"Bearer {other_key}"}).status_code == 403
    assert not env.fakes["openai"].requests, "nothing reached the provider"
    r = httpx.get(url, headers={**byok, "tokenyard-authorization": f"Bearer {app_key}"})
    assert r.status_code == 200 and r.content == env.fakes["openai"].sent[-1]
    assert "tokenyard-authorization" not in env.fakes["openai"].last_request.headers


def test_refusals_unknown_provider_foreign_gateway_and_path_escapes(env: Env) -> None:  # noqa: F811
    app = env.app()
    byok = {"Authorization": f"Bearer {BYOK['openai']}", **env.key}
    base = f"{env.gw.url}/v1/admin/{app}"
    for provider in ("nope", "local", "compat"):
        r = httpx.get(f"{base}/{provider}/models", headers=byok)
        assert r.status_code == 404, (provider, r.text)
    assert httpx.get(f"{env.gw.url}/v1/someone-else/{app}/p-openai/models", headers=byok).status_code == 404
    assert httpx.get(f"{env.gw.url}/v1/admin/app_missing/p-openai/models", headers=byok).status_code == 404
    anonymous = {"Authorization": f"Bearer {BYOK['openai']}"}  # without a gateway key nothing tells them apart
    for path in (f"someone-else/{app}", "admin/app_missing", f"admin/{app}"):
        assert httpx.get(f"{env.gw.url}/v1/{path}/p-openai/models", headers=anonymous).status_code == 401
    port = env.gw.http_port
    escapes = ["/../../etc/passwd", "/%2e%2e/%2e%2e/secret", "/%2E%2E%2Fadmin", "/%252e%252e/x", "/.%2e/x",
               "//evil.example.com/v1/models", "/http://evil.example.com/x", "/https:%2F%2Fevil.example.com",
               "/%5c..%5cwin", "/models%00", "/models%0d%0aX-Injected:%201", "/./models", "/"]
    for tail in escapes:
        status = raw_status(port, f"/v1/admin/{app}/p-openai{tail}", gateway_key=env.gw.admin_key)
        assert status == (404 if "%0d" in tail else 400), (tail, status)  # no route matches a decoded CR/LF
    assert not env.fakes["openai"].requests, "no escape attempt reached the provider"
    assert raw_status(port, f"/v1/admin/{app}/p-openai/models", gateway_key=env.gw.admin_key) == 200
