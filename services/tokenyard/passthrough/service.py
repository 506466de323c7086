"""Forwarding one passthrough request: check the gateway, the caller and the path, send the request upstream on the
providers' pooled HTTP client, hand back the answer's status, headers and body bytes as they arrive (never
buffered), and meter the usage read from them once the body ends."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

from tokenyard.catalog import Catalog, ProviderSpec
from tokenyard.clients.config_cache import AppCache
from tokenyard.clients.config_cache import AppSnapshot
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.common.ids import new_request_id
from tokenyard.common.usage import UsageEvent
from tokenyard.clients.metering import Limit, RateLimiter
from tokenyard.clients.usage_sink import UsageSink
from tokenyard.passthrough.access import ADMISSION_TOKENS, Access
from tokenyard.passthrough.meter import UsageMeter
from tokenyard.passthrough.paths import check_rest, request_headers, response_headers, upstream_url
from tokenyard.principal import Principal
from tokenyard.providers import registry
from tokenyard.providers.transport import timeout_of, transport_error
from tokenyard.storage.types import utcnow


@dataclass
class Call:
    """One forwarded request as the caller described it (its headers are filtered again before they go up)."""

    method: str
    account_id: str
    gateway_id: str
    provider: str
    path: str
    query: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    token: str = ""
    client_request_id: str = ""


@dataclass
class Answer:
    """The upstream's status and headers, and its body as an iterator of raw byte chunks (metered at its end).
    `aclose()` must follow, also when the body was never read (it releases the upstream connection)."""

    status_code: int
    headers: list[tuple[str, str]]
    body: AsyncGenerator[bytes, None]
    response: httpx.Response

    async def aclose(self) -> None:
        """Stop relaying (metering what went by) and release the connection."""
        await self.body.aclose()
        await self.response.aclose()


class Passthrough:
    """Passthrough in the Router process, on the Router's catalog, caches, limiter, sink and HTTP pool."""

    def __init__(self, catalog: Catalog, apps: AppCache, http: httpx.AsyncClient, sink: UsageSink, *,
                 authenticate: Callable[[str], Awaitable[Principal]], limiter: RateLimiter | None,
                 unauthenticated_rpm: int = 60) -> None:
        self._catalog = catalog
        self._apps = apps
        self._access = Access(self.gateway, authenticate, limiter, unauthenticated_rpm)
        self._http = http
        self._sink = sink
        self._counting: set[asyncio.Task[None]] = set()

    def provider(self, provider_id: str) -> ProviderSpec:
        """A configured provider reachable by passthrough; 404 for anything else (no open proxy)."""
        spec = self._catalog.providers.get(provider_id)
        if spec is None or not registry.can(spec.kind, "passthrough") or not spec.base_url:
            raise GatewayError(ErrorKind.NOT_FOUND, f"Unknown provider {provider_id!r} for passthrough",
                               param="provider")
        return spec

    async def gateway(self, account_id: str, gateway_id: str) -> AppSnapshot:
        """The app `gateway_id` of `account_id`; 404 unless the account owns it."""
        snap = await self._apps.get(gateway_id) if gateway_id.startswith("app_") else None
        if snap is None or snap.app.owner != account_id:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No gateway {gateway_id!r} for account {account_id!r}")
        return snap

    def compat_model(self, name: str) -> str:
        """`{provider}/{model}` (or a catalog id/alias) -> the catalog model id the Router knows."""
        spec = self._catalog.resolve(name)
        if spec is not None:
            return spec.id
        provider, _, upstream = name.partition("/")
        for m in self._catalog.models.values():
            if m.type == "chat" and any(t.provider == provider and t.upstream_model == upstream for t in m.targets):
                return m.id
        raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"The model `{name}` does not exist (use `provider/model`)",
                           param="model")

    async def forward(self, call: Call) -> Answer:
        """Send `call` upstream; errors before the upstream answered are GatewayErrors (nothing was metered)."""
        spec = self.provider(call.provider)
        rest = check_rest(call.path.encode("latin-1"))
        snap, principal, limits = await self._access.authorize(call.token, call.account_id, call.gateway_id)
        url = upstream_url(spec.base_url, rest, call.query)
        started = time.perf_counter()
        req = self._http.build_request(call.method, url, headers=request_headers(call.headers),
                                       content=call.body or None, timeout=timeout_of(spec))
        try:
            resp = await self._http.send(req, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            raise transport_error(exc, call.provider) from None
        event = _event(snap, principal, call, spec, rest, resp.status_code)
        meter = UsageMeter(registry.usage_parser(spec.kind), resp.headers.get("content-type", ""),
                           resp.headers.get("content-encoding", ""))
        return Answer(resp.status_code, response_headers(resp.headers.multi_items()),
                      self._relay(resp, meter, event, started, limits), resp)

    async def _relay(self, resp: httpx.Response, meter: UsageMeter, event: dict[str, Any], started: float,
                     limits: list[Limit]) -> AsyncIterator[bytes]:
        first: float | None = None
        try:
            async for chunk in resp.aiter_raw():
                first = first or time.perf_counter()
                meter.feed(chunk)
                yield chunk
        except httpx.TransportError:
            event["status"] = "error"
        except BaseException:
            event["status"] = "cancelled"
            raise
        finally:
            await resp.aclose()
            self._record(meter, event, started, first, limits)

    def _record(self, meter: UsageMeter, event: dict[str, Any], started: float, first: float | None,
                limits: list[Limit]) -> None:
        """One usage event, kind `passthrough`, when the response was in a known format; its tokens count
        against the rate limits the call was admitted under."""
        usage = meter.result()
        if usage is None:
            return
        tokens = int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0) - ADMISSION_TOKENS
        if limits and tokens > 0 and self._access.limiter is not None:
            task = asyncio.get_running_loop().create_task(self._access.limiter.add_tokens(limits, tokens))
            self._counting.add(task)
            task.add_done_callback(self._counting.discard)
        model = event.pop("model") or str(usage.get("model") or "unknown")
        self._sink.submit(UsageEvent(
            **event, time=utcnow(), kind="passthrough", model=f"{event['target']}/{model}",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_ms=(time.perf_counter() - started) * 1000.0, ttft_ms=((first - started) * 1000.0) if first else 0.0))


def _event(snap: AppSnapshot, principal: Principal | None, call: Call, spec: ProviderSpec, rest: str,
           status: int) -> dict[str, Any]:
    return {"request_id": new_request_id(), "account_id": snap.app.owner, "app_id": snap.app.id,
            "key_id": principal.key_id if principal else "", "target": call.provider,
            "model": request_model(spec.kind, rest, call.body), "status": "ok" if status < 400 else "error",
            "client_request_id": call.client_request_id}


def request_model(kind: str, rest: str, body: bytes) -> str:
    """The model a request names: `model/{id}` paths, the provider's own path rule, else the body's `model`."""
    path = rest.split("?")[0]
    if path.startswith("model/"):
        return unquote(path[6:])
    named = registry.model_from_path(kind, path)
    if named:
        return named
    try:
        doc = orjson.loads(body) if body[:1] == b"{" else None
    except orjson.JSONDecodeError:
        doc = None
    return str(doc.get("model") or "") if isinstance(doc, dict) else ""


def header_pairs(headers: Iterable[Any]) -> list[tuple[str, str]]:
    """(name, value) pairs of proto Header messages."""
    return [(h.name, h.value) for h in headers]
