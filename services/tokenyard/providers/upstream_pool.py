"""The Router's upstream pool: aiohttp for the JSON and SSE calls of the adapters, httpx for everything else.

`UpstreamClient` is an `httpx.AsyncClient` (what the adapters are constructed with; the video adapters and
any direct caller keep using it as such) that also owns one aiohttp `ClientSession`. `transport.post_json`
and `transport.open_sse` take the aiohttp path when handed one: measured on this machine aiohttp spends 6-17x
less CPU per request than httpx's pool (bench/results/clients.md). Adapters do not see the difference: the
same timeouts, the same UpstreamErrors for network failures, `httpx.Headers` for their error mappers and
`httpx_sse.ServerSentEvent`s for their streams.
"""
from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
import certifi
import httpx
from httpx_sse import ServerSentEvent
from yarl import URL

from tokenyard.catalog import ProviderSpec
from tokenyard.errors import ErrorKind
from tokenyard.providers.base import UpstreamError


class UpstreamClient(httpx.AsyncClient):
    """httpx client plus the aiohttp session the adapters' JSON/SSE calls use (created on first use, inside
    the event loop; closed with the client)."""

    def __init__(self, *, max_connections: int = 1000, keepalive_expiry: float = 60.0, **kwargs: Any) -> None:
        super().__init__(limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=200,
                                             keepalive_expiry=keepalive_expiry), timeout=None, **kwargs)
        self._max_connections, self._keepalive = max_connections, keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}
        self._proxies: dict[str, Any] = {}

    def proxy_for(self, url: str) -> Any:
        """The proxy (and its auth) the environment names for `url`'s origin, read once per origin (httpx reads
        the variables once too; aiohttp's trust_env would read them in a thread on every request)."""
        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(URL(url))
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    def session(self) -> aiohttp.ClientSession:
        """The shared session (verifies TLS against certifi's roots, as httpx does; proxies: `proxy_for`)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=self._keepalive,
                                             ssl=ssl.create_default_context(cafile=certifi.where()))
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    def timeout(self, spec: ProviderSpec) -> aiohttp.ClientTimeout:
        """transport.timeout_of in aiohttp's terms: connect (pool wait included), first byte as the idle read."""
        t = spec.timeouts
        key = (t.connect, t.first_byte)
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = aiohttp.ClientTimeout(total=None, connect=t.connect,
                                                                sock_connect=t.connect, sock_read=t.first_byte)
        return found

    async def _close_session(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def aclose(self) -> None:
        await self._close_session()
        await super().aclose()

    async def __aexit__(self, *exc: Any) -> None:
        await self._close_session()
        await super().__aexit__(*exc)


def network_error(exc: Exception, provider: str) -> UpstreamError:
    """transport.transport_error for aiohttp's failures (the same kinds, messages and flags)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamError(ErrorKind.TIMEOUT, f"upstream {provider} timed out while connecting", retryable=True,
                             unreachable=True)
    if isinstance(exc, TimeoutError):
        return UpstreamError(ErrorKind.TIMEOUT, f"upstream {provider} timed out while waiting", retryable=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError(ErrorKind.PROVIDER_ERROR, f"could not connect to upstream {provider}", retryable=True,
                             unreachable=True)
    return UpstreamError(ErrorKind.PROVIDER_ERROR,
                         f"upstream {provider} connection failed: {type(exc).__name__}", retryable=True)


NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError)


def headers_of(resp: aiohttp.ClientResponse) -> httpx.Headers:
    """The response headers as the adapters' error mappers take them."""
    return httpx.Headers(list(resp.headers.items()))


@contextlib.asynccontextmanager
async def respond(client: UpstreamClient, url: str, body: bytes, headers: dict[str, str], spec: ProviderSpec,
                  provider: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """POST `body`; the response, released (or its connection closed, if unread) on exit."""
    try:
        proxy, proxy_auth = client.proxy_for(url)
        resp = await client.session().post(url, data=body, headers=headers, timeout=client.timeout(spec),
                                           proxy=proxy, proxy_auth=proxy_auth)
    except NETWORK_ERRORS as exc:
        raise network_error(exc, provider) from None
    try:
        yield resp
    finally:
        if resp.content.at_eof():
            resp.release()
        else:
            resp.close()  # abandoned mid-body: cancel the upstream request, never reuse the connection


async def read(resp: aiohttp.ClientResponse, provider: str) -> bytes:
    """The whole body (network failures as UpstreamErrors)."""
    try:
        return await resp.read()
    except NETWORK_ERRORS as exc:
        raise network_error(exc, provider) from None


async def events(resp: aiohttp.ClientResponse, provider: str) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events of a response (the WHATWG rules httpx_sse follows: `event`, `data`, `id`, `retry`
    fields, comments skipped, a blank line ends an event)."""
    buf = b""
    decoder = _Decoder()
    try:
        async for data in resp.content.iter_any():
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                sse = decoder.line(line.rstrip(b"\r").decode("utf-8"))
                if sse is not None:
                    yield sse
    except NETWORK_ERRORS as exc:
        raise network_error(exc, provider) from None
    # an event not ended by a blank line before the end is dropped (the spec; httpx_sse does the same)


class _Decoder:
    def __init__(self) -> None:
        self.event, self.data, self.id, self.retry = "", [], "", None  # type: ignore[var-annotated]

    def line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self.event and not self.data and not self.id and self.retry is None:
                return None
            sse = ServerSentEvent(event=self.event, data="\n".join(self.data), id=self.id,
                                  retry=self.retry)
            self.event, self.data, self.retry = "", [], None
            return sse
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id" and "\0" not in value:
            self.id = value
        elif name == "retry":
            with contextlib.suppress(ValueError):
                self.retry = int(value)
        return None
