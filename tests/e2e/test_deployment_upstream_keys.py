"""A user's deployment cannot send an operator secret to a URL the user chose: owners bring their own upstream key
(sealed at rest, never shown again), and `api_key_env` works only for accounts the operator maps to the variable."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway
from tests.jwt_helpers import JWT_SECRET, hs256

MODEL = "byo-model"
OPERATOR_SECRET = "sk-operator-SECRET-5e1d0c"
SHARED_SECRET = "sk-shared-SECRET-a9b8c7"
OWN_KEY = "sk-alice-own-SECRET-31f0e2"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=[MODEL]) as server:  # records every request; accepts any key
        yield server


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(workdir=tmp_path_factory.mktemp("upstream-keys"), env={
        "TOKENYARD_JWT_SECRET": JWT_SECRET, "TOKENYARD_EGRESS_ALLOW": "127.0.0.1",
        "TOKENYARD_DEPLOY_OPS": OPERATOR_SECRET, "TOKENYARD_DEPLOY_SHARED": SHARED_SECRET,
        "TOKENYARD_DEPLOY_KEY_ENVS": json.dumps({"TOKENYARD_DEPLOY_SHARED": ["carol"]})})
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def create(user: httpx.Client, fake: FakeOpenAI, **upstream: Any) -> httpx.Response:
    return user.post("/v1/deployments", json={"model": MODEL, "hours": 1, "upstream": {
        "kind": "openai", "base_url": fake.base_url, **upstream}})


def ready(user: httpx.Client, dep_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = user.get(f"/v1/deployments/{dep_id}").json()
        if body["state"] == "ready":
            return body
        time.sleep(0.1)
    raise AssertionError(f"{dep_id} never ready: {body}")


def refused(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["type"] == "permission_error" and err["param"] == "upstream.api_key_env"


def authorizations(fake: FakeOpenAI) -> list[str]:
    return [r.headers.get("authorization", "") for r in list(fake.requests)]


def test_unmapped_env_var_is_refused_and_never_reaches_an_upstream(gw: Gateway, fake: FakeOpenAI) -> None:
    fake.reset()
    for user in (gw.http(hs256("mallory")), gw.http()):  # the admin account is not mapped either
        refused(create(user, fake, api_key_env="TOKENYARD_DEPLOY_OPS"))
    assert not gw.http(hs256("mallory")).get("/v1/deployments").json()["data"], "nothing was registered"
    time.sleep(1.0)  # the health checker runs every 0.5 s
    sent = json.dumps([(r.path, r.headers, r.body.decode(errors="replace")) for r in list(fake.requests)])
    assert OPERATOR_SECRET not in sent and SHARED_SECRET not in sent and not fake.requests


def test_own_key_reaches_the_upstream_and_is_never_shown(gw: Gateway, fake: FakeOpenAI) -> None:
    fake.reset()
    alice = gw.http(hs256("alice"))
    r = create(alice, fake, api_key=OWN_KEY)
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["upstream"]["has_api_key"] is True and dep["upstream"]["api_key_env"] is None
    key = ready(alice, dep["id"])["key"]
    assert authorizations(fake) and set(authorizations(fake)) == {f"Bearer {OWN_KEY}"}, "health check"
    fake.script_reply("hello from my instance")
    answer = gw.openai(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "hello from my instance"
    assert fake.requests_for("chat/completions")[-1].headers["authorization"] == f"Bearer {OWN_KEY}"
    shown = [alice.get(f"/v1/deployments/{dep['id']}").text, alice.get("/v1/deployments").text,
             gw.http().get("/v1/deployments").text, r.text]
    assert all(OWN_KEY not in text for text in shown)
    assert OWN_KEY not in gw.logs()
    blob = b"".join(p.read_bytes() for p in (gw.workdir / "data").glob("tokenyard.db*"))
    assert OWN_KEY.encode() not in blob, "sealed at rest"
    gw.stop()
    gw.procs.clear()
    gw.start()  # the key opens again after a restart (data_dir/secret.key)
    gw.openai(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "again"}])
    assert fake.requests_for("chat/completions")[-1].headers["authorization"] == f"Bearer {OWN_KEY}"


def test_mapped_env_var_works_for_its_account_only(gw: Gateway, fake: FakeOpenAI) -> None:
    fake.reset()
    refused(create(gw.http(hs256("dave")), fake, api_key_env="TOKENYARD_DEPLOY_SHARED"))
    carol = gw.http(hs256("carol"))
    r = create(carol, fake, api_key_env="TOKENYARD_DEPLOY_SHARED")
    assert r.status_code == 201, r.text
    key = ready(carol, r.json()["id"])["key"]
    gw.openai(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert set(authorizations(fake)) == {f"Bearer {SHARED_SECRET}"}, "only carol's deployment got it"
    assert SHARED_SECRET not in gw.logs()


def test_bad_upstream_keys_are_400_naming_the_field(gw: Gateway, fake: FakeOpenAI) -> None:
    bob = gw.http(hs256("bob"))
    for upstream in ({"api_key": "sk with space"}, {"api_key": "sk-x\r\nX-Evil: 1"}, {"api_key": ""},
                     {"api_key": "x" * 1001}, {"api_key": 12},
                     {"api_key": "sk-x", "api_key_env": "TOKENYARD_DEPLOY_OPS"}):
        r = create(bob, fake, **upstream)
        assert r.status_code == 400, (upstream, r.text)
        assert r.json()["error"]["param"] == "upstream.api_key", r.text
        assert "sk-x" not in r.text and "sk with" not in r.text
