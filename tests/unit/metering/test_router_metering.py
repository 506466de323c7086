"""Every Router call ends in one durable usage event: upstream usage when given, else a local estimate."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec

from tokenyard.catalog import load_catalog
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.clients.usage_sink import UsageSink
from tokenyard.common.usage import UsageEvent
from tokenyard.inference.service import Router
from tokenyard.principal import Principal, PrincipalKind
from tokenyard.protocol.models import Chunk, Completion, Usage

PRICE = {"input_per_mtok_usd": "0.15", "output_per_mtok_usd": "0.6"}


class NoUsageDispatcher:
    """An upstream that reports no usage (like some streams)."""

    async def chat(self, ctx: Any) -> Completion:
        ctx.target = "fake"
        return msgspec.convert({"choices": [{"message": {"role": "assistant", "content": "four words right here"}}]},
                               Completion)

    async def stream(self, ctx: Any) -> AsyncIterator[Chunk]:
        ctx.target = "fake"
        for word in ("four ", "words ", "right ", "here"):
            yield msgspec.convert({"choices": [{"index": 0, "delta": {"content": word}}]}, Chunk)


async def _router(dispatcher: Any = None, policies: Sequence[Any] = ()) -> tuple[Router, list[UsageEvent]]:
    seen: list[UsageEvent] = []

    async def record(events: Sequence[UsageEvent]) -> int:
        seen.extend(events)
        return len(events)

    async def auth(_: str) -> Principal:
        return Principal("acct", PrincipalKind.PERSONAL_KEY, frozenset({"ai:gateway"}), key_id="key_1")

    catalog = load_catalog()
    return Router(catalog, CachedAuthenticator(auth), dispatcher or NoUsageDispatcher(), UsageSink(record),
                  policies=policies), seen


async def test_missing_upstream_usage_is_counted_locally_and_flagged_estimated() -> None:
    router, seen = await _router()
    request = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "say four words"}]}
    ctx = await router.begin("secret", dict(request), client_request_id="req_a")
    result = await router.chat(ctx)
    ctx2 = await router.begin("secret", {**request, "stream": True}, client_request_id="req_b")
    chunks = [c async for c in router.stream(ctx2)]
    await router._sink.flush()
    assert len(chunks) == 4
    by_id = {e.client_request_id: e for e in seen}
    assert all(e.request_id.startswith("req_") and e.request_id not in by_id for e in seen), \
        "the records' ids are the gateway's"
    for rid in ("req_a", "req_b"):
        e = by_id[rid]
        assert e.estimated and e.prompt_tokens == 3 + 3 + 3 and e.completion_tokens == 4
        assert e.cost_nanos == 9 * 150 + 4 * 600  # exact: $0.15 and $0.60 per million tokens
        assert e.key_id == "key_1" and e.target == "fake"
    assert result.usage == Usage(prompt_tokens=9, completion_tokens=4, total_tokens=13)


class UsageDispatcher:
    """An upstream that reports usage."""

    async def chat(self, ctx: Any) -> Completion:
        ctx.target = "fake"
        return msgspec.convert({"choices": [{"message": {"role": "assistant", "content": "hi"}}],
                                "usage": {"prompt_tokens": 3, "completion_tokens": 1}}, Completion)


class EmptyUsageDispatcher(NoUsageDispatcher):
    """An upstream whose stream carries `"usage": null` on every chunk and `"usage": {}` last."""

    async def stream(self, ctx: Any) -> AsyncIterator[Chunk]:
        async for chunk in super().stream(ctx):
            chunk.usage = None
            yield chunk
        yield Chunk(usage=Usage())


async def test_empty_or_null_stream_usage_is_no_usage_the_tokens_are_counted_locally() -> None:
    router, seen = await _router(EmptyUsageDispatcher())
    ctx = await router.begin("secret", {"model": "openai/gpt-4o-mini", "stream": True,
                                        "messages": [{"role": "user", "content": "say four words"}]})
    chunks = [c async for c in router.stream(ctx)]
    await router._sink.flush()
    assert all(not c.usage for c in chunks)
    assert [(e.estimated, e.prompt_tokens, e.completion_tokens) for e in seen] == [(True, 9, 4)]


class SlowFinish:
    """Records its finish; `slow` finishes after a pause (the caller is cancelled meanwhile)."""

    def __init__(self, name: str, finished: list[str], slow: asyncio.Event | None = None) -> None:
        self.name, self.finished, self.slow = name, finished, slow

    async def prepare(self, ctx: Any) -> None:
        return None

    async def admit(self, ctx: Any) -> None:
        return None

    async def finish(self, ctx: Any) -> None:
        if self.slow is not None:
            self.slow.set()
            await asyncio.sleep(0.05)
        self.finished.append(self.name)


async def test_cancelling_the_caller_during_a_policy_finish_skips_nothing() -> None:
    finished: list[str] = []
    in_finish = asyncio.Event()
    policies = [SlowFinish("first", finished), SlowFinish("last", finished, slow=in_finish)]  # finish runs in reverse
    router, seen = await _router(UsageDispatcher(), policies)
    ctx = await router.begin("secret", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user",
                                                                                   "content": "hi"}]})
    call = asyncio.create_task(router.chat(ctx))
    await in_finish.wait()
    call.cancel()  # while the "last" policy's finish runs
    await asyncio.sleep(0.2)
    await router._sink.flush()
    assert finished == ["last", "first"]  # the earlier policy's finish still ran
    assert [e.request_id for e in seen] == [ctx.request_id]  # and the usage record was made, once
