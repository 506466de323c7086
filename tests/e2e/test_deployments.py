"""Deployments end to end: pending -> ready (fake upstream healthy after a delay) -> key use -> extend -> stop."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway

MODEL = "gemma4:26b"
KEY_ENVS = '{"TOKENYARD_DEPLOY_GEMMA_KEY": ["admin"]}'  # the operator lets the admin account use that variable


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(require_api_key="sk-instance-key", models=[MODEL]) as server:
        yield server


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(workdir=tmp_path_factory.mktemp("deployments"),
                      env={"TOKENYARD_EGRESS_ALLOW": "127.0.0.1", "TOKENYARD_DEPLOY_GEMMA_KEY": "sk-instance-key",
                           "TOKENYARD_DEPLOY_KEY_ENVS": KEY_ENVS})
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def create(client: httpx.Client, base_url: str, hours: float = 24, **upstream: Any) -> dict[str, Any]:
    r = client.post("/v1/deployments", json={"model": MODEL, "hours": hours, "upstream": {
        "kind": "openai", "base_url": base_url, "api_key_env": "TOKENYARD_DEPLOY_GEMMA_KEY", **upstream}})
    assert r.status_code == 201, r.text
    return r.json()


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_ready(client: httpx.Client, dep_id: str, timeout: float = 20) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        body = client.get(f"/v1/deployments/{dep_id}").json()
        return body if body["state"] == "ready" else None
    return wait_for(ready, timeout, f"{dep_id} to be ready")


def chat(gw: Gateway, key: str, model: str = MODEL) -> Any:
    return gw.openai(key).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello deployment"}])


def dead(gw: Gateway, key: str) -> bool:
    try:
        chat(gw, key)
    except openai.AuthenticationError:
        return True
    return False


def usage_rows(gw: Gateway, key_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(gw.workdir / "data" / "tokenyard.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM usage_records WHERE key_id = ?", (key_id,))]


def test_lifecycle_pending_ready_use_extend_stop(gw: Gateway, fake: FakeOpenAI) -> None:
    fake.reset()
    fake.set_healthy(False)
    admin = gw.http()
    dep = create(admin, fake.base_url)
    assert dep["state"] == "pending" and dep["id"].startswith("dep_") and dep["key"] is None
    assert dep["upstream"] == {"kind": "openai", "base_url": fake.base_url, "api_key_env": "TOKENYARD_DEPLOY_GEMMA_KEY",
                               "has_api_key": False}
    time.sleep(0.8)
    early = admin.get(f"/v1/deployments/{dep['id']}").json()
    assert early["state"] == "pending" and early["key"] is None and "503" in (early["last_error"] or "")
    r = admin.post(f"/v1/deployments/{dep['id']}/keys", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "deployment_not_ready"

    fake.set_healthy_after(1.5)
    became_healthy = time.monotonic() + 1.5
    ready = wait_ready(admin, dep["id"])
    assert time.monotonic() >= became_healthy
    key = ready["key"]
    assert key and key.startswith("ty_sk_") and ready["default_key_id"]
    assert fake.requests_for(r"^/v1/models$", "GET"), "health checked with GET {base_url}/models"
    assert fake.requests_for(r"^/v1/models$")[-1].headers["authorization"] == "Bearer sk-instance-key"
    again = admin.get(f"/v1/deployments/{dep['id']}").json()
    assert again["state"] == "ready" and again["key"] is None, "the secret is shown once"
    assert dep["id"] in [d["id"] for d in admin.get("/v1/deployments").json()["data"]]

    fake.script_reply("hi from gemma", usage={"prompt_tokens": 7, "completion_tokens": 3})
    raw = chat(gw, key)
    resp = raw.parse()
    assert resp.choices[0].message.content == "hi from gemma" and resp.model == MODEL
    assert raw.headers["x-tokenyard-deployment"] == dep["id"]
    assert fake.last_body["model"] == MODEL
    assert fake.requests_for(r"chat/completions")[-1].headers["authorization"] == "Bearer sk-instance-key"
    rows = wait_for(lambda: usage_rows(gw, ready["default_key_id"]), 5, "usage row")
    assert rows[0]["target"] == f"deployment/{dep['id']}" and rows[0]["prompt_tokens"] == 7
    stream = gw.openai(key).chat.completions.create(model=MODEL, stream=True,
                                                    messages=[{"role": "user", "content": "one two three"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: one two three"

    with pytest.raises(openai.BadRequestError) as bad:
        chat(gw, key, model="openai/gpt-4o")
    assert bad.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError):
        chat(gw, key, model="local/echo")

    second = admin.post(f"/v1/deployments/{dep['id']}/keys", json={"name": "ci"})
    assert second.status_code == 201, second.text
    key2 = second.json()["key"]
    assert key2 != key and second.json()["deployment_id"] == dep["id"]
    assert chat(gw, key2).parse().choices and chat(gw, key).parse().choices, "several keys active at once"

    extended = admin.post(f"/v1/deployments/{dep['id']}/extend", json={"hours": 12})
    assert extended.status_code == 200, extended.text
    assert extended.json()["id"] == dep["id"] and extended.json()["ends_at"] > ready["ends_at"]
    assert chat(gw, key).parse().choices, "same keys after extend"

    stopped = admin.post(f"/v1/deployments/{dep['id']}/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    started = time.monotonic()
    wait_for(lambda: dead(gw, key) and dead(gw, key2), 3, "keys to die")
    assert time.monotonic() - started < 1.5, "revoked everywhere within about a second"
    time.sleep(1.2)
    assert dead(gw, key) and dead(gw, key2), "for good"
    assert admin.post(f"/v1/deployments/{dep['id']}/extend", json={"hours": 1}).status_code == 409
    assert admin.post(f"/v1/deployments/{dep['id']}/keys", json={}).status_code == 409
    assert admin.delete(f"/v1/deployments/{dep['id']}").json()["state"] == "stopped"


def test_hours_running_out_ends_the_deployment_and_its_keys(gw: Gateway, fake: FakeOpenAI) -> None:
    fake.reset()
    admin = gw.http()
    dep = create(admin, fake.base_url, hours=3 / 3600)
    key = wait_ready(admin, dep["id"])["key"]
    assert chat(gw, key).parse().choices
    wait_for(lambda: admin.get(f"/v1/deployments/{dep['id']}").json()["state"] == "ended", 10, "ended")
    wait_for(lambda: dead(gw, key), 2, "key to die")


def test_errors_unknown_bad_input_and_ssrf(gw: Gateway, fake: FakeOpenAI) -> None:
    admin = gw.http()
    for method, path, body in (("GET", "/v1/deployments/dep_nope", None), ("POST", "/v1/deployments/dep_nope/stop", None),
                               ("POST", "/v1/deployments/dep_nope/extend", {"hours": 1}),
                               ("POST", "/v1/deployments/dep_nope/keys", {})):
        r = admin.request(method, path, json=body)
        assert r.status_code == 404, (path, r.text)
    bad_bodies = [b"{", b"[]", b'{"model": "m", "hours": 1}',
                  (b'{"model": "m", "hours": -1, "upstream": '
                   b'{"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}}'),
                  b'{"model": "m", "hours": 1, "upstream": {"kind": "vllm", "base_url": "http://127.0.0.1:9"}}',
                  b'{"model": "m", "hours": "24", "upstream": {"kind": "openai", "base_url": "http://127.0.0.1:9"}}',
                  b'{"model": "m", "hours": 1, "extra": 1, "upstream": {"kind": "openai", "base_url": "http://x"}}']
    for raw in bad_bodies:
        r = admin.post("/v1/deployments", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400, (raw, r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"
    for url in ("http://10.1.2.3/v1", "http://169.254.169.254/latest", "http://[::1]:8000/v1", "file:///etc/passwd",
                "http://localhost.localdomain:1/v1"):
        r = admin.post("/v1/deployments", json={"model": MODEL, "hours": 1, "upstream": {"kind": "openai",
                                                                                        "base_url": url}})
        assert r.status_code == 400, (url, r.text)
    r = admin.post("/v1/deployments", json={"model": MODEL, "hours": 1, "upstream": {
        "kind": "openai", "base_url": fake.base_url, "api_key_env": "TOKENYARD_ADMIN_KEY"}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "upstream.api_key_env"
    assert httpx.get(f"{gw.url}/v1/deployments").status_code == 401
    assert gw.http("ty_sk_wrong").get("/v1/deployments").status_code == 401
    dep = create(admin, fake.base_url)
    r = admin.post(f"/v1/deployments/{dep['id']}/extend", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert admin.post(f"/v1/deployments/{dep['id']}/extend", json={}).status_code == 400
    assert admin.post(f"/v1/deployments/{dep['id']}/stop").status_code == 200


def test_split_mode_deployment_and_passthrough(make_gateway: Callable[..., Gateway]) -> None:
    """One process per service: the Router reads the deployment over gRPC, revocation crosses processes, and the
    facade's passthrough finds the app and meters through Config/Auth/Metering services."""
    with FakeOpenAI(require_api_key="sk-instance-key", models=[MODEL]) as fake:
        gw = make_gateway(config={"providers": {"byo": {"kind": "openai", "base_url": fake.base_url}}}, split=True,
                          env={"TOKENYARD_EGRESS_ALLOW": "127.0.0.1", "TOKENYARD_DEPLOY_GEMMA_KEY": "sk-instance-key",
                           "TOKENYARD_DEPLOY_KEY_ENVS": KEY_ENVS})
        admin = gw.http()
        dep = create(admin, fake.base_url)
        key = wait_ready(admin, dep["id"])["key"]
        assert chat(gw, key).parse().choices
        app = admin.post("/v1/apps", json={"name": "split"}).json()["id"]
        fake.script_reply("via passthrough", usage={"prompt_tokens": 2, "completion_tokens": 2})
        r = httpx.post(f"{gw.url}/v1/admin/{app}/byo/chat/completions", timeout=30,
                       headers={"Authorization": "Bearer sk-instance-key",
                                "tokenyard-authorization": f"Bearer {gw.admin_key}"},
                       json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "via passthrough"
        assert admin.post(f"/v1/deployments/{dep['id']}/stop").json()["state"] == "stopped"
        wait_for(lambda: dead(gw, key), 2, "key to die across processes")

        def passthrough_rows() -> list[dict[str, Any]]:
            with sqlite3.connect(gw.workdir / "data" / "tokenyard.db") as conn:
                return conn.execute("SELECT model, prompt_tokens FROM usage_records WHERE app_id = ? "
                                    "AND kind = 'passthrough'", (app,)).fetchall()
        assert wait_for(passthrough_rows, 6, "passthrough usage row") == [(f"byo/{MODEL}", 2)]
