"""The services' internal credential is a secret of its own: passthrough and compat work with a generated admin key
and after the admin key is revoked; split processes share TOKENYARD_INTERNAL_SECRET (required there); a client
presenting that secret over HTTP or in `authorization` gets no internal powers."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest
from tokenyard.auth.v1 import auth_service_pb2 as apb
from tokenyard.auth.v1 import auth_service_pb2_grpc as apb_grpc
from tokenyard.config.v1 import config_service_pb2 as cpb
from tokenyard.config.v1 import config_service_pb2_grpc as cpb_grpc
from tokenyard.metering.v1 import metering_service_pb2 as mpb
from tokenyard.metering.v1 import metering_service_pb2_grpc as mpb_grpc

from tests.e2e.metering_helpers import create_key
from tests.fakes import FakeOpenAI
from tests.harness.gateway import Gateway

BYOK = "sk-byok-internal-test"
SECRET = "split-internal-secret-0123456789abcdefghijkl"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(require_api_key=BYOK) as server:
        yield server


def config(fake: FakeOpenAI) -> dict[str, Any]:
    return {"providers": {"p-openai": {"kind": "openai", "base_url": fake.base_url}}}


def generated_admin_key(gw: Gateway) -> str:
    line = next(ln for ln in gw.logs().splitlines() if "Generated bootstrap admin API key" in ln)
    return line.rsplit(" ", 1)[-1]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> Iterator[Gateway]:
    """The README's default run: all-in-one, no TOKENYARD_ADMIN_KEY (one is generated and printed)."""
    gateway = Gateway(workdir=tmp_path_factory.mktemp("internal"), config=config(fake),
                      env={"TOKENYARD_ADMIN_KEY": ""})
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def passthrough(gw: Gateway, app: str, key: str, fake: FakeOpenAI, account: str = "admin") -> httpx.Response:
    fake.script_reply("via passthrough", usage={"prompt_tokens": 3, "completion_tokens": 2})
    return httpx.post(f"{gw.url}/v1/{account}/{app}/p-openai/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {BYOK}", "tokenyard-authorization": f"Bearer {key}"},
                      json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})


def compat(gw: Gateway, app: str, key: str, account: str = "admin") -> str:
    client = openai.OpenAI(base_url=f"{gw.url}/v1/{account}/{app}/compat", api_key=key, max_retries=0)
    resp = client.chat.completions.create(model="local/echo", messages=[{"role": "user", "content": "compat ok"}])
    return resp.choices[0].message.content or ""


def passthrough_rows(gw: Gateway, app: str, count: int) -> list[tuple[str, int]]:
    deadline = time.monotonic() + 8
    rows: list[tuple[str, int]] = []
    while time.monotonic() < deadline and len(rows) < count:
        with sqlite3.connect(gw.workdir / "data" / "tokenyard.db") as conn:
            rows = conn.execute("SELECT account_id, prompt_tokens FROM usage_records WHERE app_id = ? "
                                "AND kind = 'passthrough'", (app,)).fetchall()
        time.sleep(0.1)
    return rows


def test_generated_admin_key_leaves_passthrough_and_compat_working(gw: Gateway, fake: FakeOpenAI) -> None:
    admin = gw.http(generated_admin_key(gw))
    app = admin.post("/v1/apps", json={"name": "default-run"}).json()["id"]
    r = passthrough(gw, app, generated_admin_key(gw), fake)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "via passthrough"
    assert compat(gw, app, generated_admin_key(gw)) == "compat ok"
    assert passthrough_rows(gw, app, 1) == [("admin", 3)]


def test_revoking_the_admin_key_leaves_passthrough_working(make_gateway: Callable[..., Gateway],
                                                           fake: FakeOpenAI) -> None:
    gw = make_gateway(config=config(fake))  # TOKENYARD_ADMIN_KEY set: passthrough works before the revocation
    admin = gw.http()
    before = admin.post("/v1/apps", json={"name": "before"}).json()["id"]
    assert passthrough(gw, before, gw.admin_key, fake).status_code == 200
    # Another account's key, made by the admin (so not a child of the admin key, which its revocation would end).
    _, ops_key = create_key(gw, "ops", scopes=("ai:gateway", "apps:write", "keys:write"))
    assert admin.delete("/v1/keys/key_admin").status_code == 200
    deadline = time.monotonic() + 3
    while admin.get("/v1/keys").status_code != 401:
        assert time.monotonic() < deadline, "the admin key still works"
        time.sleep(0.1)
    app = gw.http(ops_key).post("/v1/apps", json={"name": "after-revocation"}).json()["id"]  # not cached anywhere
    r = passthrough(gw, app, ops_key, fake, account="ops")
    assert r.status_code == 200, r.text
    assert compat(gw, app, ops_key, account="ops") == "compat ok"
    assert passthrough_rows(gw, app, 1) == [("ops", 3)]


def test_a_split_process_without_the_internal_secret_stops_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENYARD_")}
    env["TOKENYARD_DATA_DIR"] = str(tmp_path)
    for service in ("metering", "http"):
        out = subprocess.run([sys.executable, "-m", "tokenyard", "serve", service, "--listen", "127.0.0.1:0"],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out
        assert out.stderr.count("\n") == 1 and "TOKENYARD_INTERNAL_SECRET must be set" in out.stderr, out.stderr
        assert "ready" not in out.stdout
    short = subprocess.run([sys.executable, "-m", "tokenyard", "serve", "auth", "--listen", "127.0.0.1:0"],
                           env={**env, "TOKENYARD_INTERNAL_SECRET": "too-short"}, capture_output=True, text=True,
                           timeout=60)
    assert short.returncode == 2 and "TOKENYARD_INTERNAL_SECRET" in short.stderr, short


def _grpc_code(call: Callable[[], Any]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def test_split_services_share_the_internal_secret_and_clients_cannot_use_it(
        make_gateway: Callable[..., Gateway], fake: FakeOpenAI) -> None:
    gw = make_gateway(config=config(fake), split=True,
                      env={"TOKENYARD_ADMIN_KEY": "", "TOKENYARD_INTERNAL_SECRET": SECRET})
    admin_key = generated_admin_key(gw)
    admin = gw.http(admin_key)
    app = admin.post("/v1/apps", json={"name": "split"}).json()["id"]
    assert passthrough(gw, app, admin_key, fake).status_code == 200
    assert compat(gw, app, admin_key) == "compat ok"
    assert passthrough_rows(gw, app, 1) == [("admin", 3)], "metered through Metering with the internal secret"

    for headers in ({"Authorization": f"Bearer {SECRET}"}, {"x-tokenyard-internal": SECRET},
                    {"Authorization": f"Bearer {admin_key}x", "x-tokenyard-internal": SECRET}):
        assert httpx.get(f"{gw.url}/v1/keys", headers=headers).status_code == 401, headers
    with pytest.raises(openai.AuthenticationError):
        compat(gw, app, SECRET)
    assert passthrough(gw, app, SECRET, fake).status_code == 401

    with grpc.insecure_channel(f"127.0.0.1:{gw.service_ports['metering']}") as ch:
        metering = mpb_grpc.MeteringServiceStub(ch)
        top_up = mpb.TopUpRequest(account_id="mallory", amount_usd="100")
        internal = (("x-tokenyard-internal", SECRET),)
        assert _grpc_code(lambda: metering.TopUp(top_up, metadata=internal)) == grpc.StatusCode.PERMISSION_DENIED
        assert _grpc_code(lambda: metering.TopUp(top_up, metadata=(("authorization", f"Bearer {SECRET}"),))
                          ) == grpc.StatusCode.UNAUTHENTICATED
        record = mpb.RecordUsageRequest()
        assert _grpc_code(lambda: metering.RecordUsage(record, metadata=(("x-tokenyard-internal", "x" * 40),))
                          ) == grpc.StatusCode.UNAUTHENTICATED
        assert metering.RecordUsage(record, metadata=internal).stored == 0
    with grpc.insecure_channel(f"127.0.0.1:{gw.service_ports['config']}") as ch:
        resolve = cpb.ResolveDeploymentRequest(id="dep_nope")
        assert _grpc_code(lambda: cpb_grpc.ConfigServiceStub(ch).ResolveDeployment(
            resolve, metadata=(("authorization", f"Bearer {admin_key}"),))) == grpc.StatusCode.PERMISSION_DENIED
    assert SECRET not in gw.logs()

    # Deleting an app: the Config process asks the Auth process (RevokeAppKeys, internal secret) to revoke the
    # app's keys; only the internal credential (or an admin) may call that RPC.
    key = admin.post("/v1/keys", json={"name": "app-key", "scopes": ["ai:gateway"], "app_id": app}).json()
    assert compat(gw, app, key["key"]) == "compat ok"
    with grpc.insecure_channel(f"127.0.0.1:{gw.service_ports['auth']}") as ch:
        revoke = apb.RevokeAppKeysRequest(app_id=app)
        assert _grpc_code(lambda: apb_grpc.AuthServiceStub(ch).RevokeAppKeys(
            revoke, metadata=(("authorization", f"Bearer {key['key']}"),))) == grpc.StatusCode.PERMISSION_DENIED
    assert compat(gw, app, key["key"]) == "compat ok"
    assert admin.delete(f"/v1/apps/{app}").status_code == 200
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            compat(gw, app, key["key"])
        except (openai.AuthenticationError, openai.NotFoundError):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("a deleted app's key still works in split mode")
    listed = admin.get("/v1/keys", params={"include_revoked": "true", "app_id": app}).json()["data"]
    assert any(k["id"] == key["id"] and k.get("revoked_at") for k in listed)
