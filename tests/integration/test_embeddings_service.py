"""The Embeddings service over real gRPC (port 0): local runner, fake OpenAI-compatible upstream, metering."""
from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tokenyard.catalog import Catalog, ConfigFile
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.clients.embeddings import EmbeddingsClient
from tokenyard.clients.usage_sink import UsageSink
from tokenyard.common.usage import UsageEvent
from tokenyard.embeddings.local_provider import LocalEmbeddingProvider
from tokenyard.embeddings.runner import LocalRunner
from tokenyard.embeddings.service import EmbeddingsService
from tokenyard.embeddings.servicer import EmbeddingsServicer, registrar
from tokenyard.embeddings.validate import EmbeddingLimits
from tokenyard.errors import ERROR_DOMAIN, ErrorKind, GatewayError
from tokenyard.grpcutil import channel, create_server
from tokenyard.inference.dispatch import Dispatcher
from tokenyard.inference.service import Router
from tokenyard.principal import Principal, PrincipalKind
from tokenyard.providers.registry import ProviderRegistry
from tokenyard.tokens import count_text

from tests.fakes.faults import Fault
from tests.fakes.openai_fake import FakeOpenAI
from tests.fakes.scripting import fake_embedding

KEY = "ty_sk_integration"


class HashModel:
    """A fast stand-in for the local model: unit vectors from a hash, 2 tokens + 1 per word."""

    dimensions = 8
    max_tokens = 12

    def __init__(self) -> None:
        self.encoded: list[list[str]] = []

    def load(self) -> None:
        pass

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [2 + len(t.split()) for t in texts]

    def encode(self, texts: list[str]) -> list[list[float]]:
        self.encoded.append(list(texts))
        out = []
        for t in texts:
            raw = [b - 127.5 for b in hashlib.sha256(t.encode()).digest()[:8]]
            norm = math.sqrt(sum(x * x for x in raw))
            out.append([x / norm for x in raw])
        return out


def catalog(upstream_url: str) -> Catalog:
    return Catalog(ConfigFile.model_validate({
        "providers": {"local": {"kind": "local"},
                      "up": {"kind": "openai", "base_url": f"{upstream_url}/v1", "api_key_env": "UP_KEY",
                             "max_retries": 2},
                      "nokey": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1",
                                "api_key_env": "NO_KEY"}},
        "models": [
            {"id": "local/hash", "type": "embedding", "provider": "local", "upstream_model": "hash",
             "dimensions": 8, "pricing": {"input_per_mtok_usd": "1000"}},
            {"id": "local/missing", "type": "embedding", "provider": "local", "upstream_model": "missing"},
            {"id": "up/small", "type": "embedding", "provider": "up",
             "upstream_model": "text-embedding-3-small",
             "dimensions": 1536, "max_inputs": 16, "pricing": {"input_per_mtok_usd": "0.02"}},
            {"id": "nokey/emb", "type": "embedding", "provider": "nokey", "upstream_model": "x"},
            {"id": "local/echo", "type": "chat", "provider": "local", "upstream_model": "echo"}]}))


class Stack:
    """The service behind a real gRPC server, a client, the fake upstream and the recorded usage."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self.events: list[UsageEvent] = []
        self.model = HashModel()

    async def _record(self, events: Sequence[UsageEvent]) -> int:
        self.events.extend(events)
        return len(events)

    async def start(self) -> None:
        async def backend(credential: str) -> Principal:
            if credential != KEY:
                raise GatewayError(ErrorKind.UNAUTHENTICATED, "Invalid API key")
            return Principal("acct1", PrincipalKind.PERSONAL_KEY, frozenset({"ai:gateway"}), key_id="k1")

        async def no_sleep(_: float) -> None:
            await asyncio.sleep(0)

        cat = catalog(self.fake.url)
        self.http = httpx.AsyncClient()
        self.sink = UsageSink(self._record)
        chat_dispatcher = Dispatcher(ProviderRegistry(cat, self.http))
        router = Router(cat, CachedAuthenticator(backend), chat_dispatcher, self.sink)
        limits = EmbeddingLimits(max_inputs=100, max_request_tokens=400)
        self.runner = LocalRunner("hash", self.model, max_batch=16, max_wait=0.02)
        local = LocalEmbeddingProvider({"hash": self.runner}, limits)
        providers = ProviderRegistry(cat, self.http, env={"UP_KEY": "sk-up"}, adapters={"local": local})
        self.service = EmbeddingsService(router, Dispatcher(providers, sleep=no_sleep), limits,
                                         closers=[local.close])
        self.server, port = await create_server([registrar(EmbeddingsServicer(self.service))], "127.0.0.1:0")
        self.channel = channel(f"127.0.0.1:{port}")
        self.client = EmbeddingsClient(self.channel)

    async def usage(self) -> list[UsageEvent]:
        await self.sink.flush()
        return self.events

    async def stop(self) -> None:
        await self.channel.close()
        await self.server.stop(0)
        await self.service.close()
        await self.http.aclose()


@pytest.fixture(scope="module")
def fake() -> Any:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def stack(fake: FakeOpenAI) -> AsyncIterator[Stack]:
    fake.reset()
    s = Stack(fake)
    await s.start()
    yield s
    await s.stop()


async def test_local_model_embeds_in_order_and_meters_tokens_times_price(stack: Stack) -> None:
    out = await stack.client.embed(KEY, {"model": "local/hash", "input": ["one two", "three"]},
                                   app_id="app7", request_id="req-local-1")
    assert [d["index"] for d in out["data"]] == [0, 1]
    assert out["data"][0]["embedding"] == pytest.approx(stack.model.encode(["one two"])[0], abs=1e-6)
    assert out["usage"] == {"prompt_tokens": 7, "total_tokens": 7} and out["model"] == "local/hash"
    [event] = await stack.usage()
    assert (event.client_request_id, event.kind, event.model, event.app_id, event.target) == \
        ("req-local-1", "embedding", "local/hash", "app7", "local")
    assert event.request_id.startswith("req_") and event.request_id != "req-local-1", "the gateway's own id"
    assert (event.prompt_tokens, event.completion_tokens, event.status) == (7, 0, "ok")
    assert event.cost_micros == 7000  # 7 tokens x $1000 per million tokens


async def test_concurrent_requests_are_micro_batched_into_fewer_model_calls(stack: Stack) -> None:
    texts = [f"text number {i}" for i in range(24)]
    results = await asyncio.gather(*(stack.client.embed(KEY, {"model": "local/hash", "input": t})
                                     for t in texts))
    expected = stack.model.encode(texts)
    stack.model.encoded.pop()
    for got, want in zip(results, expected):
        assert got["data"][0]["embedding"] == pytest.approx(want, abs=1e-6)
    assert stack.runner.calls < len(texts)
    assert sum(len(b) for b in stack.model.encoded) == len(texts)
    assert max(len(b) for b in stack.model.encoded) <= 16


async def test_token_arrays_are_decoded_as_cl100k_for_the_local_model(stack: Stack) -> None:
    ids = [15339, 1917]  # "hello world"
    out = await stack.client.embed(KEY, {"model": "local/hash", "input": [ids, "hello world"]})
    assert out["data"][0]["embedding"] == out["data"][1]["embedding"]
    with pytest.raises(GatewayError, match="outside the cl100k vocabulary"):
        await stack.client.embed(KEY, {"model": "local/hash", "input": [[10**7]]})


async def test_local_limits_are_400s_naming_the_limit(stack: Stack) -> None:
    with pytest.raises(GatewayError) as err:
        await stack.client.embed(KEY, {"model": "local/hash", "input": "w " * 11})
    assert err.value.kind is ErrorKind.CONTEXT_TOO_LONG and "at most 12 tokens" in err.value.message
    with pytest.raises(GatewayError) as err:
        await stack.client.embed(KEY, {"model": "local/hash", "input": ["a b c d e f g h"] * 50})
    assert err.value.kind is ErrorKind.INVALID_REQUEST and "max_request_tokens" in err.value.message
    with pytest.raises(GatewayError) as err:
        await stack.client.embed(KEY, {"model": "local/hash", "input": ["a"] * 101})
    assert "the limit is 100 inputs" in err.value.message
    with pytest.raises(GatewayError) as err:
        await stack.client.embed(KEY, {"model": "local/hash", "input": "a", "dimensions": 4})
    assert err.value.param == "dimensions" and "always returns 8 dimensions" in err.value.message
    assert stack.model.encoded == []
    assert {e.status for e in await stack.usage()} == {"error"}


async def test_model_resolution_and_auth_errors(stack: Stack) -> None:
    cases = [("", {"model": "local/hash", "input": "x"}, ErrorKind.UNAUTHENTICATED),
             (KEY, {"model": "nope", "input": "x"}, ErrorKind.MODEL_NOT_FOUND),
             (KEY, {"model": "local/echo", "input": "x"}, ErrorKind.INVALID_REQUEST),
             (KEY, {"model": "local/missing", "input": "x"}, ErrorKind.MODEL_NOT_FOUND),
             (KEY, {"model": "nokey/emb", "input": "x"}, ErrorKind.PROVIDER_NOT_CONFIGURED)]
    for key, body, kind in cases:
        with pytest.raises(GatewayError) as err:
            await stack.client.embed(key, body)
        assert err.value.kind is kind, body


async def test_upstream_embeddings_pass_through_with_dimensions_and_usage(stack: Stack) -> None:
    out = await stack.client.embed(KEY, {"model": "up/small", "input": ["alpha beta", [1, 2, 3]],
                                         "dimensions": 64, "user": "end-user"})
    assert [len(d["embedding"]) for d in out["data"]] == [64, 64]
    assert out["data"][0]["embedding"] == pytest.approx(fake_embedding("alpha beta", 64), abs=1e-6)
    assert out["usage"]["prompt_tokens"] == 2 + 3
    [request] = stack.fake.requests
    assert request.json == {"model": "text-embedding-3-small", "input": ["alpha beta", [1, 2, 3]],
                            "encoding_format": "float", "dimensions": 64, "user": "end-user"}
    assert request.headers["authorization"] == "Bearer sk-up"
    [event] = await stack.usage()
    assert (event.target, event.prompt_tokens, event.cost_micros) == ("up", 5, 0)


async def test_transient_upstream_failures_are_retried_and_permanent_ones_are_not(stack: Stack) -> None:
    stack.fake.push_fault(Fault.status(500), times=2)
    out = await stack.client.embed(KEY, {"model": "up/small", "input": "retry me"})
    assert len(out["data"]) == 1 and len(stack.fake.requests) == 3
    stack.fake.push_fault(Fault.status(400, "bad dimensions"), times=1)
    with pytest.raises(GatewayError) as err:
        await stack.client.embed(KEY, {"model": "up/small", "input": "no retry"})
    assert err.value.kind is ErrorKind.INVALID_REQUEST and len(stack.fake.requests) == 4
    stack.fake.push_fault(Fault.status(503), times=5)
    with pytest.raises(GatewayError) as err:
        await stack.client.embed(KEY, {"model": "up/small", "input": "gives up"})
    assert err.value.kind is ErrorKind.PROVIDER_ERROR


async def test_upstream_token_budget_is_checked_before_calling_it(stack: Stack) -> None:
    text = "word " * 100
    assert count_text(text) * 5 > 400
    with pytest.raises(GatewayError, match="max_request_tokens"):
        await stack.client.embed(KEY, {"model": "up/small", "input": [text] * 5})
    assert stack.fake.requests == []
    with pytest.raises(GatewayError, match="the limit is 16 inputs"):
        await stack.client.embed(KEY, {"model": "up/small", "input": ["x"] * 17})


async def test_grpc_status_carries_the_error_info(stack: Stack) -> None:
    from tokenyard.embeddings.v1 import embeddings_service_pb2 as pb

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.client.stub.Embed(pb.EmbedRequest(model="nope", inputs=[pb.EmbeddingInput(text="x")]),
                                      metadata=(("authorization", f"Bearer {KEY}"),))
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(err.value)  # the google.rpc.Status in the trailers, as any gRPC client reads it
    assert status is not None and status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert status.message == err.value.details() and "nope" in status.message
    infos = [error_details_pb2.ErrorInfo() for _ in status.details]
    assert [d.Unpack(i) for d, i in zip(status.details, infos, strict=True)] == [True]
    assert (infos[0].reason, infos[0].domain) == ("MODEL_NOT_FOUND", ERROR_DOMAIN)
