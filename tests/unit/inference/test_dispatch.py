"""Dispatcher: weighted targets, retries (backoff, Retry-After), fallbacks, circuit breaking, timeouts."""
from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tokenyard.protocol.openai_chat import chat_request_from_dict
from tokenyard.catalog import Catalog, ConfigFile
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.circuit import Breakers, CircuitBreaker
from tokenyard.inference.context import CallContext
from tokenyard.inference.dispatch import Dispatcher
from tokenyard.inference.retry import RetryPolicy
from tokenyard.principal import Principal
from tokenyard.providers.base import UpstreamError, UpstreamTarget
from tokenyard.providers.registry import ProviderRegistry


def err500() -> UpstreamError:
    return UpstreamError(ErrorKind.PROVIDER_ERROR, "boom", status=500, retryable=True)


def err429(after: float | None = None) -> UpstreamError:
    return UpstreamError(ErrorKind.RATE_LIMITED, "slow down", status=429, retryable=True, retry_after=after)


class Scripted:
    """An adapter whose answers per provider id are scripted: an exception, 'hang', or a text."""

    kind = "openai"

    def __init__(self) -> None:
        self.script: dict[str, list[Any]] = {}
        self.calls: list[str] = []

    async def _next(self, target: UpstreamTarget) -> str:
        self.calls.append(target.provider_id)
        queue = self.script.get(target.provider_id) or ["ok"]
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, BaseException):
            raise step
        if step == "hang":
            await asyncio.sleep(60)
        return f"{step} from {target.provider_id}"

    async def chat(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        text = await self._next(target)
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}

    async def stream(self, target: UpstreamTarget, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        text = await self._next(target)
        for word in text.split():
            yield {"choices": [{"index": 0, "delta": {"content": word}}]}
            await asyncio.sleep(0)

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        text = await self._next(target)
        return {"object": "list", "data": [{"index": 0, "embedding": [0.5]}], "model": text}

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        raise NotImplementedError


def catalog(**over: Any) -> Catalog:
    provider = {"kind": "openai", "base_url": "http://unused", "max_retries": 2, "circuit_failures": 3,
                "circuit_reset_seconds": 10, "timeouts": {"total": 0.3}}
    doc = {"providers": {p: {**provider, **over} for p in ("a", "b", "c")},
           "models": [{"id": "m", "type": "chat", "targets": [{"provider": "a", "upstream_model": "ma"}],
                       "fallbacks": ["f1", "f2"]},
                      {"id": "f1", "type": "chat", "provider": "b", "upstream_model": "mb"},
                      {"id": "f2", "type": "chat", "provider": "c", "upstream_model": "mc"},
                      {"id": "w", "type": "chat", "targets": [{"provider": "a", "upstream_model": "x", "weight": 3},
                                                               {"provider": "b", "upstream_model": "x", "weight": 1}]}]}
    return Catalog(ConfigFile.model_validate(doc))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup() -> tuple[Dispatcher, Scripted, list[float], Clock]:
    adapter, sleeps, clock = Scripted(), [], Clock()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    registry = ProviderRegistry(catalog(), httpx.AsyncClient(), env={}, adapters={"openai": adapter})
    dispatcher = Dispatcher(registry, random.Random(7), retry=RetryPolicy(initial=0.5, max_backoff=4,
                                                                          max_retry_after=20),
                            breakers=Breakers(clock), sleep=sleep)
    return dispatcher, adapter, sleeps, clock


def ctx_for(dispatcher: Dispatcher, model: str = "m", account: str = "acc") -> CallContext:
    spec = dispatcher._providers.catalog.models[model]
    return CallContext(request_id="r1", principal=Principal(account_id=account, kind="user"),
                       request=chat_request_from_dict({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
                       model=spec, requested_model=model)


async def test_retries_with_exponential_backoff_then_answers(setup: Any) -> None:
    dispatcher, adapter, sleeps, _ = setup
    adapter.script["a"] = [err500(), err500(), "ok"]
    ctx = ctx_for(dispatcher)
    result = await dispatcher.chat(ctx)
    assert result["choices"][0]["message"]["content"] == "ok from a"
    assert adapter.calls == ["a", "a", "a"] and ctx.retries == 2 and ctx.fallbacks == 0
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5
    assert ctx.target == "a" and ctx.response_metadata["x-tokenyard-target"] == "a"


async def test_retry_after_is_honoured_exactly(setup: Any) -> None:
    dispatcher, adapter, sleeps, _ = setup
    adapter.script["a"] = [err429(after=3), "ok"]
    await dispatcher.chat(ctx_for(dispatcher))
    assert sleeps == [3]


async def test_too_long_retry_after_moves_to_the_fallback_at_once(setup: Any) -> None:
    dispatcher, adapter, sleeps, _ = setup
    adapter.script["a"] = [err429(after=120)]
    ctx = ctx_for(dispatcher)
    result = await dispatcher.chat(ctx)
    assert result["choices"][0]["message"]["content"] == "ok from b"
    assert sleeps == [] and adapter.calls == ["a", "b"]


async def test_fallbacks_in_order_and_target_names_who_answered(setup: Any) -> None:
    dispatcher, adapter, sleeps, _ = setup
    adapter.script["a"] = [err500()]
    adapter.script["b"] = [UpstreamError(ErrorKind.PROVIDER_ERROR, "unauthorized", status=401)]
    ctx = ctx_for(dispatcher)
    result = await dispatcher.chat(ctx)
    assert result["choices"][0]["message"]["content"] == "ok from c"
    assert adapter.calls == ["a", "a", "a", "b", "c"]
    assert ctx.target == "c" and ctx.fallbacks == 2
    assert ctx.model is not None and ctx.model.id == "f2"
    assert ctx.response_metadata["x-tokenyard-fallback-model"] == "f2"


async def test_after_everything_failed_429_keeps_retry_after_and_5xx_is_502(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    for p in "abc":
        adapter.script[p] = [err429(after=2)]
    with pytest.raises(GatewayError) as err:
        await dispatcher.chat(ctx_for(dispatcher))
    assert err.value.kind == ErrorKind.RATE_LIMITED and err.value.retry_after == 2
    for p in "abc":
        adapter.script[p] = [err500()]
    with pytest.raises(GatewayError) as err:
        await dispatcher.chat(ctx_for(dispatcher))
    assert err.value.kind == ErrorKind.PROVIDER_ERROR and err.value.kind.value.http_status == 502


async def test_request_errors_are_not_retried_nor_sent_to_fallbacks(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    adapter.script["a"] = [UpstreamError(ErrorKind.CONTEXT_TOO_LONG, "too long", status=400)]
    with pytest.raises(GatewayError) as err:
        await dispatcher.chat(ctx_for(dispatcher))
    assert err.value.kind == ErrorKind.CONTEXT_TOO_LONG and adapter.calls == ["a"]


async def test_total_timeout_is_a_retryable_timeout_then_504(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    for p in "abc":
        adapter.script[p] = ["hang"]
    with pytest.raises(GatewayError) as err:
        await dispatcher.chat(ctx_for(dispatcher))
    assert err.value.kind == ErrorKind.TIMEOUT and err.value.kind.value.http_status == 504
    assert len(adapter.calls) == 9


async def test_stream_retries_only_before_the_first_chunk(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    adapter.script["a"] = [err500(), "one two three"]
    ctx = ctx_for(dispatcher)
    words = [c["choices"][0]["delta"]["content"] async for c in dispatcher.stream(ctx)]
    assert words == ["one", "two", "three", "from", "a"] and ctx.retries == 1


async def test_stream_failing_after_the_first_chunk_is_not_retried() -> None:
    class Breaks(Scripted):
        async def stream(self, target: UpstreamTarget, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
            self.calls.append(target.provider_id)
            yield {"choices": [{"index": 0, "delta": {"content": "partial"}}]}
            raise err500()

    adapter = Breaks()
    registry = ProviderRegistry(catalog(), httpx.AsyncClient(), env={}, adapters={"openai": adapter})
    dispatcher = Dispatcher(registry, retry=RetryPolicy(initial=0.01))
    got = []
    with pytest.raises(UpstreamError):
        async for chunk in dispatcher.stream(ctx_for(dispatcher)):
            got.append(chunk)
    assert len(got) == 1 and adapter.calls == ["a"]


async def test_circuit_opens_skips_the_target_and_probes_after_reset(setup: Any) -> None:
    dispatcher, adapter, _, clock = setup
    adapter.script["a"] = [err500()]
    for account in ("acc1", "acc2", "acc3"):  # 3 failures on a each (a storm seen by 3 accounts) -> open
        await dispatcher.chat(ctx_for(dispatcher, account=account))  # b answers
    assert dispatcher.breakers.get("a", None).state == "open"  # type: ignore[arg-type]
    adapter.calls.clear()
    await dispatcher.chat(ctx_for(dispatcher, account="acc4"))
    assert adapter.calls == ["b"], "an open circuit sends nothing to its provider"
    clock.now += 10
    adapter.script["a"] = ["ok"]
    adapter.calls.clear()
    result = await dispatcher.chat(ctx_for(dispatcher, account="acc4"))
    assert adapter.calls == ["a"] and result["choices"][0]["message"]["content"] == "ok from a"
    assert dispatcher.breakers.get("a", None).state == "closed"  # type: ignore[arg-type]


def test_half_open_allows_one_probe_and_a_failed_probe_reopens() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", failures=2, reset_seconds=5, clock=clock)
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow() and breaker.retry_in() == 5
    clock.now += 5
    assert breaker.allow() and not breaker.allow(), "only one probe while half-open"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()


async def test_weighted_targets_share_traffic_by_weight(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    for _ in range(400):
        await dispatcher.chat(ctx_for(dispatcher, "w"))
    share = Counter(adapter.calls)
    assert 250 < share["a"] < 350 and share["a"] + share["b"] == 400


async def test_unconfigured_provider_falls_back(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    doc = catalog(api_key_env="MISSING_KEY")
    registry = ProviderRegistry(doc, httpx.AsyncClient(), env={}, adapters={"openai": adapter})
    with pytest.raises(GatewayError) as err:
        await Dispatcher(registry).chat(ctx_for(dispatcher))
    assert err.value.kind == ErrorKind.PROVIDER_NOT_CONFIGURED and adapter.calls == []


async def test_embeddings_get_the_same_retries_and_fallbacks(setup: Any) -> None:
    dispatcher, adapter, _, _ = setup
    adapter.script["a"] = [err500()]
    ctx = ctx_for(dispatcher)
    ctx.request = {"model": "m", "input": ["x"]}
    result = await dispatcher.embed(ctx)
    assert result["model"] == "ok from b" and adapter.calls == ["a", "a", "a", "b"]


async def test_explicit_target_is_the_only_one_tried(setup: Any) -> None:
    from tokenyard.inference.deployment_policy import target_of
    from tests.unit.inference.test_deployment_policy import dep

    dispatcher, adapter, _, _ = setup
    ctx = ctx_for(dispatcher)
    ctx.explicit_target = target_of(dep("ready"))
    adapter.script["deployment/dep_1"] = [err500(), err500(), err500()]
    with pytest.raises(GatewayError) as exc:
        await dispatcher.chat(ctx)
    assert exc.value.kind is ErrorKind.PROVIDER_ERROR
    assert set(adapter.calls) == {"deployment/dep_1"}, "no catalog target or fallback is tried"
    assert len(adapter.calls) == 2, "one retry (max_retries=1)"
    adapter.script["deployment/dep_1"] = ["ok"]
    result = await dispatcher.chat(ctx)
    assert result["choices"][0]["message"]["content"] == "ok from deployment/dep_1"
    assert ctx.response_metadata["x-tokenyard-target"] == "deployment/dep_1"
