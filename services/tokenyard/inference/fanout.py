"""`n` choices from upstreams that answer one at a time: n concurrent single calls merged into one completion.

An adapter whose upstream takes `n` itself says so with `native_n = True` (OpenAI-compatible servers); every
other adapter gets `n` separate requests without `n`, and the answers are merged: choices indexed 0..n-1 in
request order (streams interleave as the chunks arrive, each carrying its choice's `index`), one completion
id, and usage summed over the calls (each call was billed its prompt, so the one usage record covers them all).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from msgspec import UNSET

from tokenyard.protocol.models import NO_USAGE, ChatRequest, Chunk, Completion, Usage
from tokenyard.providers.base import Provider, UpstreamTarget

MAX_CONCURRENT = 16
"""Single calls in flight at once for one request (n may be up to 128)."""


def choices_wanted(adapter: Provider, request: ChatRequest) -> int:
    """How many single calls to fan out to (1: send the request as is)."""
    n = request.n
    if not isinstance(n, int) or n <= 1 or getattr(adapter, "native_n", False):
        return 1
    return n


def _single(request: ChatRequest) -> ChatRequest:
    return msgspec.structs.replace(request, n=UNSET)


def _sum_usage(usages: list[Any]) -> Usage | None:
    """Summed token counts, or None when any call did not report them (the Router then estimates)."""
    if not usages or any(not isinstance(u, Usage) or u.prompt_tokens is None for u in usages):
        return None
    prompt = sum(u.prompt_tokens or 0 for u in usages)
    completion = sum(u.completion_tokens or 0 for u in usages)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


async def _gather(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run the calls (at most MAX_CONCURRENT at once); the first failure cancels the rest and is raised."""
    gate = asyncio.Semaphore(MAX_CONCURRENT)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    tasks = [asyncio.ensure_future(one(c)) for c in calls]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def chat(adapter: Provider, target: UpstreamTarget, request: ChatRequest) -> Completion:
    """One chat.completion with `n` choices."""
    n = choices_wanted(adapter, request)
    if n == 1:
        return await adapter.chat(target, request)
    single = _single(request)
    results = await _gather([lambda: adapter.chat(target, single) for _ in range(n)])
    choices = [msgspec.structs.replace(choice, index=i) for i, r in enumerate(results) for choice in r.choices[:1]]
    usage = _sum_usage([r.usage for r in results])
    return msgspec.structs.replace(results[0], choices=choices, usage=UNSET if usage is None else usage)


def stream(adapter: Provider, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
    """Typed chunks for `n` choices (the adapter's own stream when it takes `n` itself)."""
    n = choices_wanted(adapter, request)
    if n == 1:
        return adapter.stream(target, request)
    return _merged_stream(adapter, target, _single(request), n)


async def _merged_stream(adapter: Provider, target: UpstreamTarget, single: ChatRequest, n: int
                         ) -> AsyncIterator[Chunk]:
    queue: asyncio.Queue[tuple[int, Chunk | None, BaseException | None]] = asyncio.Queue(maxsize=4 * n)
    gate = asyncio.Semaphore(MAX_CONCURRENT)

    async def pump(i: int) -> None:
        try:
            async with gate, contextlib.aclosing(adapter.stream(target, single)) as chunks:  # type: ignore[type-var]
                async for chunk in chunks:
                    await queue.put((i, chunk, None))
            await queue.put((i, None, None))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            await queue.put((i, None, exc))

    tasks = [asyncio.create_task(pump(i)) for i in range(n)]
    head: Chunk | None = None
    usages: list[Any] = []
    try:
        open_streams = n
        while open_streams:
            i, chunk, exc = await queue.get()
            if exc is not None:
                raise exc
            if chunk is None:
                open_streams -= 1
                continue
            if chunk.usage and chunk.usage != NO_USAGE:
                usages.append(chunk.usage)
            if not chunk.choices:
                continue
            head = head or chunk
            yield msgspec.structs.replace(chunk, id=head.id, created=head.created, model=head.model, usage=UNSET,
                                          choices=[msgspec.structs.replace(c, index=i) for c in chunk.choices])
        usage = _sum_usage(usages) if len(usages) == n else None
        if usage is not None:
            head = head or Chunk()
            yield Chunk(id=head.id, created=head.created, model=head.model, choices=[], usage=usage)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
