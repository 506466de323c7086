"""Times and traces every upstream provider call (per attempt), without touching the adapters.

`InstrumentedRegistry` hands out adapters wrapped so that each call records
`tokenyard_upstream_duration_seconds` / `tokenyard_upstream_requests_total`, opens a CLIENT span, and adds
its time to the current request's upstream clock (`start_clock`), from which the Router's metrics policy
derives the gateway overhead (total minus upstream).
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable
from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import SpanKind

from tokenyard.errors import GatewayError
from tokenyard.monitoring import tracing
from tokenyard.monitoring.bound import Children
from tokenyard.monitoring.metrics import TENANT, UPSTREAM_REQUESTS, UPSTREAM_SECONDS
from tokenyard.protocol.models import ChatRequest, Chunk, Completion
from tokenyard.providers.base import Provider, UpstreamTarget
from tokenyard.providers.registry import ProviderRegistry


class UpstreamClock:
    """Seconds spent upstream by one request (all attempts)."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0


_CLOCK: ContextVar[UpstreamClock | None] = ContextVar("tokenyard_upstream_clock", default=None)


def start_clock() -> UpstreamClock:
    """A fresh clock for the request running in this context (visible to tasks it starts later)."""
    clock = UpstreamClock()
    _CLOCK.set(clock)
    return clock


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, GatewayError):
        return exc.kind.reason.lower()
    if isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
        return "cancelled"
    return "error"


_SECONDS, _REQUESTS = Children(UPSTREAM_SECONDS), Children(UPSTREAM_REQUESTS)


def _record(provider: str, operation: str, seconds: float, exc: BaseException | None) -> None:
    provider = TENANT.provider(provider)
    _SECONDS(provider, operation).observe(seconds)
    _REQUESTS(provider, operation, _outcome(exc)).inc()
    clock = _CLOCK.get()
    if clock is not None:
        clock.seconds += seconds


def _span(target: UpstreamTarget, operation: str) -> Any:
    if not tracing.enabled():  # no attributes built per call when tracing is off
        return contextlib.nullcontext()
    return tracing.span(f"upstream {operation} {target.provider_id}", SpanKind.CLIENT, attributes={
        "tokenyard.provider": target.provider_id, "gen_ai.system": target.spec.kind,
        "gen_ai.operation.name": operation, "gen_ai.request.model": target.upstream_model})


class InstrumentedProvider:
    """Wraps one adapter; same Protocol."""

    def __init__(self, inner: Provider) -> None:
        self._inner = inner
        self.kind = inner.kind

    async def _timed(self, target: UpstreamTarget, operation: str, call: Awaitable[Any]) -> Any:
        start = time.perf_counter()
        exc: BaseException | None = None
        with _span(target, operation):
            try:
                return await call
            except BaseException as e:
                exc = e
                raise
            finally:
                _record(target.provider_id, operation, time.perf_counter() - start, exc)

    async def chat(self, target: UpstreamTarget, request: ChatRequest) -> Completion:
        """A typed chat.completion."""
        return await self._timed(target, "chat", self._inner.chat(target, request))

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """An embeddings list dict."""
        return await self._timed(target, "embed", self._inner.embed(target, request))

    async def stream(self, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Typed chunks; only the time spent waiting on the upstream counts (not the consumer's)."""
        waited = 0.0
        exc: BaseException | None = None
        chunks = self._inner.stream(target, request).__aiter__()
        with _span(target, "stream"):
            try:
                while True:
                    start = time.perf_counter()
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        waited += time.perf_counter() - start
                    yield chunk
            except BaseException as e:
                exc = e
                raise
            finally:
                _record(target.provider_id, "stream", waited, exc)
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()

    def map_error(self, *args: Any, **kwargs: Any) -> Any:
        """The adapter's own error mapping."""
        return self._inner.map_error(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class InstrumentedRegistry(ProviderRegistry):
    """A ProviderRegistry whose adapters are instrumented."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wrapped: dict[str, InstrumentedProvider] = {}

    def adapter(self, kind: str) -> Provider:
        """The instrumented adapter of a provider kind (built once)."""
        if kind not in self._wrapped:
            self._wrapped[kind] = InstrumentedProvider(super().adapter(kind))
        return self._wrapped[kind]
