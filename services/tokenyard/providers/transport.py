"""HTTP plumbing shared by the adapters: per-provider timeouts, transport errors, JSON and SSE calls."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent

from tokenyard.catalog import ProviderSpec
from tokenyard.errors import ErrorKind
from tokenyard.providers import upstream_pool as pool
from tokenyard.providers.base import UpstreamError, with_request_id

ErrorMapper = Callable[[int, bytes, httpx.Headers], UpstreamError]


def timeout_of(spec: ProviderSpec) -> httpx.Timeout:
    """httpx timeouts of a provider: connect, and first byte as the read (idle) timeout.

    The total deadline of a call is enforced by the dispatcher, which knows when the first byte left.
    """
    t = spec.timeouts
    return httpx.Timeout(connect=t.connect, read=t.first_byte, write=t.first_byte, pool=t.connect)


def transport_error(exc: httpx.TransportError, provider: str) -> UpstreamError:
    """A network-level failure as a retryable UpstreamError (timeouts become TIMEOUT)."""
    if isinstance(exc, httpx.TimeoutException):
        phase = "connecting" if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)) else "waiting"
        return UpstreamError(ErrorKind.TIMEOUT, f"upstream {provider} timed out while {phase}", retryable=True,
                             unreachable=isinstance(exc, httpx.ConnectTimeout))
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(ErrorKind.PROVIDER_ERROR, f"could not connect to upstream {provider}", retryable=True,
                             unreachable=True)
    return UpstreamError(ErrorKind.PROVIDER_ERROR,
                         f"upstream {provider} connection failed: {type(exc).__name__}", retryable=True)


def loads(raw: bytes | str, provider: str) -> Any:
    """Parse upstream JSON; a malformed body is a provider error."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {provider} sent malformed JSON",
                            retryable=True) from None


def error_message(body: bytes, fallback: str) -> tuple[str, dict[str, Any]]:
    """(message, error object) from a provider error body shaped `{"error": {"message": ...}}`."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()[:500]
        return text or fallback, {}
    err = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or fallback), err
    if isinstance(err, str):
        return err, {}
    return fallback, {}


def _json(body: dict[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else orjson.dumps(body)


async def post_json(http: httpx.AsyncClient, url: str, body: dict[str, Any] | bytes, *, headers: dict[str, str],
                    spec: ProviderSpec, provider: str, on_error: ErrorMapper,
                    decode: Callable[[bytes, str], Any] = loads) -> Any:
    """POST JSON (a dict, or bytes already encoded) and return the answer parsed by `decode` (plain JSON by
    default; an adapter may decode straight into the typed core); HTTP errors go through the adapter's
    `map_error`."""
    if isinstance(http, pool.UpstreamClient):
        async with pool.respond(http, url, _json(body), {**headers, "content-type": "application/json"},
                                spec, provider) as resp:
            raw = await pool.read(resp, provider)
            if resp.status >= 400:
                raise on_error(resp.status, raw, pool.headers_of(resp))
            return decode(raw, provider)
    try:
        resp = await http.post(url, content=_json(body), headers={**headers, "content-type":
                               "application/json"}, timeout=timeout_of(spec))
    except httpx.TransportError as exc:
        raise transport_error(exc, provider) from None
    if resp.status_code >= 400:
        raise on_error(resp.status_code, resp.content, resp.headers)
    return decode(resp.content, provider)


@contextlib.asynccontextmanager
async def open_sse(http: httpx.AsyncClient, url: str, body: dict[str, Any] | bytes, *, headers: dict[str, str],
                   spec: ProviderSpec, provider: str, on_error: ErrorMapper
                   ) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """POST JSON and iterate the Server-Sent Events of the answer; closing the context cancels the request."""
    if isinstance(http, pool.UpstreamClient):
        async with _open_sse_aio(http, url, body, headers=headers, spec=spec, provider=provider,
                                 on_error=on_error) as events:
            yield events
        return
    request = http.build_request("POST", url, content=_json(body), timeout=timeout_of(spec),
                                 headers={**headers, "content-type": "application/json",
                                          "accept": "text/event-stream"})
    try:
        resp = await http.send(request, stream=True)
    except httpx.TransportError as exc:
        raise transport_error(exc, provider) from None
    try:
        if resp.status_code >= 400:
            try:
                await resp.aread()
            except httpx.TransportError as exc:
                raise transport_error(exc, provider) from None
            raise on_error(resp.status_code, resp.content, resp.headers)
        try:
            yield _events(resp, provider)
        except UpstreamError as exc:  # an error event in the body: name the upstream request id
            with_request_id(exc, resp.headers)
            raise
    finally:
        await resp.aclose()


@contextlib.asynccontextmanager
async def _open_sse_aio(http: pool.UpstreamClient, url: str, body: dict[str, Any] | bytes, *, headers: dict[str, str],
                        spec: ProviderSpec, provider: str, on_error: ErrorMapper
                        ) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """open_sse over the pool's aiohttp session."""
    async with pool.respond(http, url, _json(body), {**headers, "content-type": "application/json",
                                                            "accept": "text/event-stream"}, spec, provider) as resp:
        if resp.status >= 400:
            raise on_error(resp.status, await pool.read(resp, provider), pool.headers_of(resp))
        try:
            yield pool.events(resp, provider)
        except UpstreamError as exc:  # an error event in the body: name the upstream request id
            with_request_id(exc, pool.headers_of(resp))
            raise


async def _events(resp: httpx.Response, provider: str) -> AsyncIterator[ServerSentEvent]:
    try:
        async for sse in EventSource(resp).aiter_sse():
            yield sse
    except httpx.TransportError as exc:
        raise transport_error(exc, provider) from None


def bearer(key: str) -> dict[str, str]:
    """An Authorization header when a key is set."""
    return {"authorization": f"Bearer {key}"} if key else {}


def join_url(base: str, path: str) -> str:
    """`base` + `path` without doubled slashes."""
    return base.rstrip("/") + "/" + path.lstrip("/")
