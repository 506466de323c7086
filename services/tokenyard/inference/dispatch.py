"""Dispatch: weighted targets, retries, fallbacks, circuit breaking and timeouts in front of the adapters."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from tokenyard.catalog import ModelSpec, Target
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference import fanout
from tokenyard.inference.circuit import Breakers, Guard
from tokenyard.inference.context import CallContext
from tokenyard.inference.retry import RetryPolicy
from tokenyard.monitoring.metrics import record_fallback, record_retry
from tokenyard.providers.base import Provider, UpstreamError, UpstreamTarget, log_detail, redact
from tokenyard.protocol.models import ChatRequest, Chunk, Completion
from tokenyard.providers.registry import ProviderRegistry

log = logging.getLogger(__name__)

# Failures of a provider (not of the request): the next target or fallback model may do better.
FALLBACK_KINDS = frozenset({ErrorKind.PROVIDER_ERROR, ErrorKind.RATE_LIMITED, ErrorKind.TIMEOUT,
                            ErrorKind.PROVIDER_NOT_CONFIGURED, ErrorKind.UNAVAILABLE, ErrorKind.MODEL_NOT_FOUND})
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


@dataclass
class _Call:
    """One target being tried."""

    model: ModelSpec
    upstream: UpstreamTarget
    adapter: Provider
    breaker: Guard
    request: ChatRequest | dict[str, Any]


def _with_model(request: ChatRequest | dict[str, Any], model: str) -> ChatRequest | dict[str, Any]:
    """A copy of the request naming the upstream's model (the caller's stays as it was, for the next target)."""
    if isinstance(request, dict):
        return {**request, "model": model}
    return msgspec.structs.replace(request, model=model)


@dataclass
class _Opened:
    """A stream whose first chunk has arrived."""

    chunks: AsyncIterator[Chunk]
    first: Chunk
    deadline: float
    secret: str = ""  # the target's API key, scrubbed from mid-stream errors


class Dispatcher:
    """Tries the model's targets (weighted order), then its fallbacks in order, each with retries.

    Retries and fallbacks happen only before the first byte: once a stream has produced a chunk, a
    failure is the client's to see. Per-provider timeouts: connect and first byte by the HTTP client,
    total here.
    """

    def __init__(self, providers: ProviderRegistry, rng: random.Random | None = None, *,
                 retry: RetryPolicy | None = None, breakers: Breakers | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._providers = providers
        self._rng = rng or random.Random()
        self._retry = retry or RetryPolicy()
        self.breakers = breakers or Breakers()
        self._sleep = sleep

    # ----- candidates -------------------------------------------------------------------------
    def _weighted_order(self, targets: tuple[Target, ...]) -> list[Target]:
        pool, out = list(targets), []
        while pool:
            pick = pool[0] if len(pool) == 1 else self._rng.choices(pool, weights=[t.weight for t in pool])[0]
            out.append(pick)
            pool.remove(pick)
        return out

    def candidates(self, model: ModelSpec) -> Iterator[tuple[ModelSpec, Target]]:
        """The model's targets in weighted-random order, then each fallback model's, without repeats."""
        seen: set[tuple[str, str]] = set()
        models = [model, *(self._providers.catalog.models[f] for f in model.fallbacks)]
        for spec in models:
            for target in self._weighted_order(spec.targets):
                key = (target.provider, target.upstream_model)
                if key not in seen:
                    seen.add(key)
                    yield spec, target

    def _plan(self, ctx: CallContext) -> Iterator[tuple[ModelSpec, Target | UpstreamTarget]]:
        """The explicit target a policy pinned the call to, if any; else the catalog candidates."""
        assert ctx.model is not None
        if ctx.explicit_target is not None:
            yield ctx.model, ctx.explicit_target
            return
        yield from self.candidates(ctx.model)

    def _prepare(self, ctx: CallContext, model: ModelSpec, target: Target | UpstreamTarget) -> _Call:
        upstream = target if isinstance(target, UpstreamTarget) else self._providers.target(target)
        ctx.target = upstream.provider_id
        return _Call(model=model, upstream=upstream, adapter=self._providers.adapter(upstream.spec.kind),
                     breaker=self.breakers.guard(upstream.provider_id, upstream.spec, ctx.account_id),
                     request=_with_model(ctx.request, upstream.upstream_model))

    # ----- the loop ---------------------------------------------------------------------------
    async def _run(self, ctx: CallContext, call: Callable[[_Call], Awaitable[Any]]) -> Any:
        assert ctx.model is not None
        last: GatewayError | None = None
        for n, (model, target) in enumerate(self._plan(ctx)):
            if n:
                ctx.fallbacks += 1
                record_fallback(ctx.requested_model or ctx.model.id, model.id)
                log.info("request %s: moving on to %s/%s after: %s", ctx.request_id, model.id, target.provider, last)
            try:
                c = self._prepare(ctx, model, target)
                result = await self._with_retries(ctx, c, call)
            except GatewayError as exc:
                if exc.kind not in FALLBACK_KINDS:
                    raise
                last = exc
                continue
            self._answered(ctx, c)
            return result
        raise _final(last)

    async def _with_retries(self, ctx: CallContext, c: _Call, call: Callable[[_Call], Awaitable[Any]]) -> Any:
        def on_retry(state: Any) -> None:
            ctx.retries += 1
            record_retry(c.upstream.provider_id)
            log.info("request %s: retrying %s after: %s", ctx.request_id, c.upstream.provider_id,
                     state.outcome.exception() if state.outcome else None)

        async for attempt in self._retry.retrying(c.upstream.spec, on_retry=on_retry, sleep=self._sleep):
            with attempt:
                return await self._attempt(c, call)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _attempt(self, c: _Call, call: Callable[[_Call], Awaitable[Any]]) -> Any:
        """One try through the circuit breaker; malformed answers and total timeouts become UpstreamErrors."""
        provider = c.upstream.provider_id
        if not c.breaker.allow():
            raise UpstreamError(ErrorKind.PROVIDER_ERROR, c.breaker.refusal(provider),
                                retry_after=c.breaker.retry_in() or None)
        try:
            result = await call(c)
        except UpstreamError as exc:
            _judge(c.breaker, exc)
            log_detail(log, provider, exc, c.upstream.api_key)
            raise redact(exc, c.upstream.api_key) from exc.__cause__
        except TimeoutError:
            c.breaker.failure()
            raise UpstreamError(ErrorKind.TIMEOUT, f"upstream {provider} did not answer within "
                                f"{c.upstream.spec.timeouts.total:g}s", retryable=True) from None
        except _MALFORMED as exc:
            c.breaker.failure()
            log.warning("malformed answer from %s: %r", provider, exc)
            raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {provider} sent a malformed answer") from None
        except BaseException:
            c.breaker.release()
            raise
        c.breaker.success()
        return result

    def _answered(self, ctx: CallContext, c: _Call) -> None:
        ctx.target = c.upstream.provider_id
        ctx.response_metadata["x-tokenyard-target"] = c.upstream.provider_id
        ctx.upstream_model = c.upstream.upstream_model
        if ctx.model is not None and c.model.id != ctx.model.id:
            ctx.response_metadata["x-tokenyard-fallback-model"] = c.model.id
            ctx.model = c.model  # priced as the model that answered

    # ----- public API -------------------------------------------------------------------------
    async def chat(self, ctx: CallContext) -> Completion:
        """One typed completion."""
        async def call(c: _Call) -> Completion:
            async with asyncio.timeout(c.upstream.spec.timeouts.total):
                return await fanout.chat(c.adapter, c.upstream, c.request)  # `n` choices, natively or fanned out
        return await self._run(ctx, call)

    async def embed(self, ctx: CallContext) -> dict[str, Any]:
        """An OpenAI embeddings list dict, with the same targets, retries and fallbacks as chat."""
        async def call(c: _Call) -> dict[str, Any]:
            async with asyncio.timeout(c.upstream.spec.timeouts.total):
                return await c.adapter.embed(c.upstream, c.request)
        return await self._run(ctx, call)

    async def stream(self, ctx: CallContext) -> AsyncIterator[Chunk]:
        """Typed chunks; the target is chosen (with retries and fallbacks) by the time the first one arrives."""
        opened: _Opened = await self._run(ctx, _open_stream)
        provider = ctx.target
        try:
            yield opened.first
            while True:
                try:
                    async with asyncio.timeout_at(opened.deadline):
                        chunk = await anext(opened.chunks)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise GatewayError(ErrorKind.TIMEOUT, f"upstream {provider} exceeded its total timeout") from None
                except GatewayError as exc:
                    log_detail(log, provider, exc, opened.secret)
                    raise redact(exc, opened.secret) from exc.__cause__
                yield chunk
        finally:
            await opened.chunks.aclose()  # type: ignore[attr-defined]


async def _open_stream(c: _Call) -> _Opened:
    """Start the upstream stream and wait (at most the total timeout) for its first chunk."""
    deadline = asyncio.get_running_loop().time() + c.upstream.spec.timeouts.total
    chunks = fanout.stream(c.adapter, c.upstream, c.request)
    try:
        async with asyncio.timeout_at(deadline):
            first = await anext(chunks)
    except StopAsyncIteration:
        raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {c.upstream.provider_id} sent an empty stream",
                            retryable=True) from None
    except BaseException:
        await chunks.aclose()  # type: ignore[attr-defined]
        raise
    return _Opened(chunks=chunks, first=first, deadline=deadline, secret=c.upstream.api_key)


def _judge(breaker: Guard, exc: UpstreamError) -> None:
    """5xx, connection errors and timeouts count against the provider; 429 says nothing; 4xx means it is up."""
    if exc.kind == ErrorKind.RATE_LIMITED:
        breaker.release()
    elif exc.kind in (ErrorKind.PROVIDER_ERROR, ErrorKind.TIMEOUT) and exc.retryable:
        breaker.failure(unreachable=exc.unreachable)
    else:
        breaker.success()


def _final(last: GatewayError | None) -> GatewayError:
    """The error the client sees once every target and fallback failed."""
    if last is None:
        return GatewayError(ErrorKind.PROVIDER_ERROR, "the model has no usable target")
    if last.kind == ErrorKind.RATE_LIMITED and last.retry_after is None:
        last.retry_after = 1.0
    return last
