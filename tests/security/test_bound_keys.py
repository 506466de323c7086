"""A key bound to a deployment reaches only inference on that deployment: every other route is 403, over HTTP and
gRPC, while chat completions on its deployment keep working."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from tokenyard.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from tokenyard.chats.v1 import chats_service_pb2, chats_service_pb2_grpc
from tokenyard.inference import convert
from tokenyard.inference.v1 import inference_service_pb2, inference_service_pb2_grpc
from tokenyard.metering.v1 import metering_service_pb2, metering_service_pb2_grpc

from tests.security.conftest import SecEnv, Tenant

MODEL = "sec-model"
SAY = {"messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Bound:
    """A tenant and a key bound to its (ready) deployment."""

    tenant: Tenant
    key: str


@pytest.fixture(scope="module")
def bound(sec: SecEnv) -> Iterator[Bound]:
    t = sec.tenant("bound")
    deadline = time.monotonic() + 30
    while (dep := t.http.get(f"/v1/deployments/{t.deployment}").json())["state"] != "ready":
        assert time.monotonic() < deadline, dep
        time.sleep(0.1)
    r = t.http.post(f"/v1/deployments/{t.deployment}/keys", json={"name": "bound"})
    assert r.status_code == 201, r.text
    sec.secrets.append(r.json()["key"])
    yield Bound(t, r.json()["key"])


def routes(t: Tenant) -> list[tuple[str, str, dict | None]]:
    """Every route a bound key must not reach (its owner's objects, where the route names one)."""
    video = {"model": "local/test-pattern", "prompt": "p", "seconds": "1", "size": "320x240"}
    dep = f"/v1/deployments/{t.deployment}"
    return [
        ("GET", "/api/chats", None), ("GET", f"/api/chats/{t.chat}/messages", None),
        ("DELETE", f"/api/chats/{t.chat}", None), ("POST", "/api/chat", {"model": MODEL, **SAY}),
        ("POST", "/api/chat", {"chatId": t.chat, **SAY}), ("GET", "/api/tools", None),
        ("POST", "/v1/videos", video), ("GET", "/v1/videos", None), ("GET", f"/v1/videos/{t.video}", None),
        ("DELETE", f"/v1/videos/{t.video}", None),
        ("GET", "/api/usage", None), ("GET", "/api/usage/remaining", None), ("GET", "/v1/billing/balance", None),
        ("GET", "/v1/keys", None), ("POST", "/v1/keys", {"name": "escape"}),
        ("DELETE", f"/v1/keys/{t.key['id']}", None),
        ("GET", "/v1/apps", None), ("POST", "/v1/apps", {"name": "x"}), ("GET", f"/v1/apps/{t.app}", None),
        ("GET", f"/v1/{t.app}/ai/config", None), ("GET", f"/v1/{t.app}/ai/usage", None),
        ("POST", f"/v1/{t.app}/chat/completions", {"model": MODEL, **SAY}), ("GET", f"/v1/{t.app}/models", None),
        ("GET", "/v1/deployments", None), ("GET", dep, None), ("POST", f"{dep}/keys", {}),
        ("POST", f"{dep}/extend", {"hours": 1}),
        ("POST", "/v1/embeddings", {"model": "local/all-minilm-l6-v2", "input": "x"}),
    ]


def test_a_bound_key_gets_403_everywhere_but_inference(sec: SecEnv, bound: Bound) -> None:
    t = bound.tenant
    with sec.gw.http(bound.key) as client:
        for method, path, body in routes(t):
            r = client.request(method, path, json=body)
            assert r.status_code == 403, (method, path, r.status_code, r.text[:300])
            err = r.json()["error"]
            if path.startswith("/api/"):
                assert r.json()["code"] == "FORBIDDEN", (path, r.text)
            else:
                assert err["type"] == "permission_error", (path, r.text)
            assert t.deployment in r.text, (path, r.text)
    assert t.http.get(f"/api/chats/{t.chat}/messages").status_code == 200, "the owner's chat is intact"
    assert t.http.get(f"/v1/videos/{t.video}").json()["status"] != "cancelled"
    assert t.http.get(f"/v1/deployments/{t.deployment}").json()["state"] == "ready"


def test_a_bound_key_still_calls_its_deployment_and_lists_only_its_model(sec: SecEnv, bound: Bound) -> None:
    sec.fake.script_reply("from the deployment", usage={"prompt_tokens": 2, "completion_tokens": 3})
    raw = sec.gw.openai(bound.key).chat.completions.with_raw_response.create(model=MODEL, **SAY)
    assert raw.parse().choices[0].message.content == "from the deployment"
    assert raw.headers["x-tokenyard-deployment"] == bound.tenant.deployment
    models = sec.gw.http(bound.key).get("/v1/models")
    assert models.status_code == 200 and [m["id"] for m in models.json()["data"]] == [MODEL]


def _rpc_code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_over_grpc_the_services_refuse_a_bound_key_too(sec: SecEnv, bound: Bound) -> None:
    md = (("authorization", f"Bearer {bound.key}"),)
    with grpc.insecure_channel(f"127.0.0.1:{sec.gw.grpc_port}") as ch:
        metering = metering_service_pb2_grpc.MeteringServiceStub(ch)
        chats = chats_service_pb2_grpc.ChatsServiceStub(ch)
        auth = auth_service_pb2_grpc.AuthServiceStub(ch)
        refused = {
            "GetBalance": (metering.GetBalance, metering_service_pb2.GetBalanceRequest()),
            "ListUsageRecords": (metering.ListUsageRecords, metering_service_pb2.ListUsageRecordsRequest()),
            "ListChats": (chats.ListChats, chats_service_pb2.ListChatsRequest()),
            "DeleteChat": (chats.DeleteChat, chats_service_pb2.DeleteChatRequest(chat_id=bound.tenant.chat)),
            "ListKeys": (auth.ListKeys, auth_service_pb2.ListKeysRequest()),
        }
        for name, (rpc, req) in refused.items():
            code = _rpc_code(lambda: rpc(req, metadata=md, timeout=10))  # noqa: B023
            assert code == grpc.StatusCode.PERMISSION_DENIED, name
        inference = inference_service_pb2_grpc.InferenceServiceStub(ch)
        req = inference_service_pb2.ChatRequest(request=convert.request_to_pb({"model": MODEL, **SAY}))
        resp = inference.Chat(req, metadata=md, timeout=30)
        assert resp.completion.choices[0].message.content


def test_only_the_config_service_binds_keys_to_deployments(sec: SecEnv, tenants: tuple[Tenant, Tenant]) -> None:
    attacker, victim = tenants
    with grpc.insecure_channel(f"127.0.0.1:{sec.gw.grpc_port}") as ch:
        auth = auth_service_pb2_grpc.AuthServiceStub(ch)
        for dep in (victim.deployment, attacker.deployment):
            req = auth_service_pb2.CreateKeyRequest(name="x", deployment_id=dep)
            for credential in (attacker.key["key"], attacker.http.headers["authorization"][7:]):
                md = (("authorization", f"Bearer {credential}"),)
                code = _rpc_code(lambda: auth.CreateKey(req, metadata=md, timeout=10))  # noqa: B023
                assert code == grpc.StatusCode.PERMISSION_DENIED, (dep, credential[:8])
