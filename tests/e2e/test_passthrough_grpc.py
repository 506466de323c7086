"""InferenceService/Forward, the RPC behind the passthrough routes, called over gRPC the way an internal service or
a split facade does: the upstream's status and headers first, then its body bytes unchanged, metered by the
Router; refusals are gRPC statuses and reach nothing upstream."""
from __future__ import annotations

import grpc
import orjson
import pytest
from tokenyard.inference.v1 import inference_service_pb2_grpc as pb_grpc
from tokenyard.inference.v1 import passthrough_pb2 as pb

from tests.e2e.passthrough_fixtures import BYOK, Env, env  # noqa: F401 - fixture


def _forward(env: Env, app: str, *, key: str | None, body: bytes,  # noqa: F811
             path: str = "chat/completions") -> list[pb.ForwardResponse]:
    req = pb.ForwardRequest(method="POST", account_id="admin", gateway_id=app, provider="p-openai", path=path,
                            query=b"trace=1", body=body, request_id="grpc-pt-1",
                            headers=[pb.Header(name="authorization", value=f"Bearer {BYOK['openai']}"),
                                     pb.Header(name="content-type", value="application/json")])
    md = (("authorization", f"Bearer {key}"),) if key else ()
    with grpc.insecure_channel(env.gw.grpc_addr) as ch:
        return list(pb_grpc.InferenceServiceStub(ch).Forward(req, metadata=md, timeout=30))


def test_forward_streams_head_then_the_upstream_bytes_and_meters(env: Env) -> None:  # noqa: F811
    app = env.app()
    fake = env.fakes["openai"]
    fake.reset()
    fake.script_reply("over grpc", usage={"prompt_tokens": 7, "completion_tokens": 3})
    body = orjson.dumps({"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
                         "messages": [{"role": "user", "content": "hi"}]})
    head, *chunks = _forward(env, app, key=env.gw.admin_key, body=body)
    assert head.WhichOneof("part") == "head" and head.head.status_code == 200
    headers = {h.name.lower(): h.value for h in head.head.headers}
    assert headers["content-type"].startswith("text/event-stream")
    assert chunks and all(c.WhichOneof("part") == "chunk" for c in chunks)
    assert b"".join(c.chunk for c in chunks) == fake.sent[-1]
    assert fake.last_request.body == body and fake.last_request.query == {"trace": "1"}
    row = env.usage(app, 1)[0]
    assert (row["model"], row["prompt_tokens"], row["completion_tokens"]) == ("p-openai/gpt-4o-mini", 7, 3)
    assert row["client_request_id"] == "grpc-pt-1"


@pytest.mark.parametrize(("key", "provider", "code"), [
    (None, "p-openai", grpc.StatusCode.UNAUTHENTICATED),
    ("ty_sk_bogus", "p-openai", grpc.StatusCode.UNAUTHENTICATED),
    ("admin", "local", grpc.StatusCode.NOT_FOUND),  # a kind without passthrough is no open proxy
])
def test_refusals_are_statuses_and_reach_nothing(env: Env, key: str | None, provider: str,  # noqa: F811
                                                 code: grpc.StatusCode) -> None:
    app = env.app()
    fake = env.fakes["openai"]
    fake.reset()
    req = pb.ForwardRequest(method="GET", account_id="admin", gateway_id=app, provider=provider, path="models")
    md = (("authorization", f"Bearer {env.gw.admin_key if key == 'admin' else key}"),) if key else ()
    with grpc.insecure_channel(env.gw.grpc_addr) as ch, pytest.raises(grpc.RpcError) as err:
        list(pb_grpc.InferenceServiceStub(ch).Forward(req, metadata=md, timeout=30))
    assert err.value.code() == code
    assert not fake.requests


def test_resolve_gateway_model_checks_the_gateway_and_maps_provider_model(env: Env) -> None:  # noqa: F811
    app = env.app()
    with grpc.insecure_channel(env.gw.grpc_addr) as ch:
        stub = pb_grpc.InferenceServiceStub(ch)
        ok = stub.ResolveGatewayModel(pb.ResolveGatewayModelRequest(account_id="admin", gateway_id=app,
                                                                    model="op-anthropic/claude-sonnet-4-5"))
        assert ok.model == "t/claude"
        for account, model in (("someone-else", ""), ("admin", "op-openai/no-such-model")):
            with pytest.raises(grpc.RpcError) as err:
                stub.ResolveGatewayModel(pb.ResolveGatewayModelRequest(account_id=account, gateway_id=app,
                                                                       model=model))
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
