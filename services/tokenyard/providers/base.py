"""The one small Protocol every provider adapter implements, and the errors adapters raise.

Adapters only translate between OpenAI-format dicts and their provider's wire format. Routing,
retries, fallbacks and circuit breaking live in the Router and are the same for every provider.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tokenyard.catalog import ProviderSpec
from tokenyard.errors import ErrorKind, GatewayError


@dataclass(frozen=True)
class UpstreamTarget:
    """Where one call goes: a configured provider and the model name it is sent."""

    provider_id: str
    spec: ProviderSpec
    upstream_model: str
    api_key: str = ""


class UpstreamError(GatewayError):
    """An upstream failure. `retryable` tells the Router whether another try may help; `unreachable` that the
    provider could not even be connected to (no request content can cause that: it counts provider-wide)."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, param: str | None = None, unreachable: bool = False) -> None:
        super().__init__(kind, message, param=param, retry_after=retry_after)
        self.status = status
        self.retryable = retryable
        self.unreachable = unreachable


def redact(exc: GatewayError, secret: str) -> GatewayError:
    """Remove a provider API key the upstream quoted in its error message (some providers echo the key they
    rejected); the message goes to callers, logs and traces."""
    if len(secret) >= 8 and secret in exc.message:
        exc.message = exc.message.replace(secret, "[redacted]")
        exc.args = (exc.message,)
    return exc


class Provider(Protocol):
    """One provider kind. Requests and results are OpenAI-format dicts; `request["model"]` is already the
    upstream model name. Streams yield chat.completion.chunk dicts and end with a chunk carrying `usage`
    whenever the upstream reports it."""

    kind: str

    async def chat(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """A chat.completion dict."""
        ...

    def stream(self, target: UpstreamTarget, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """chat.completion.chunk dicts as they arrive."""
        ...

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI embeddings list dict (float vectors)."""
        ...

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        """The error an upstream HTTP error response means."""
        ...


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header, if present and numeric."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            return None
    return None


def status_error(status: int, message: str, headers: httpx.Headers, *, context_too_long: bool = False
                 ) -> UpstreamError:
    """The common mapping of an upstream HTTP status to an UpstreamError (providers refine the message)."""
    if context_too_long:
        return UpstreamError(ErrorKind.CONTEXT_TOO_LONG, message, status=status, param="messages")
    if status == 429:
        return UpstreamError(ErrorKind.RATE_LIMITED, message, status=status, retryable=True,
                             retry_after=retry_after_seconds(headers))
    if status in (408, 409) or status >= 500:
        return UpstreamError(ErrorKind.PROVIDER_ERROR, message, status=status, retryable=True,
                             retry_after=retry_after_seconds(headers))
    if status in (401, 403):
        # The upstream's message may echo part of the operator's key: never pass it on.
        return UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream rejected the gateway's credentials (HTTP {status})",
                             status=status)
    if status == 404:
        return UpstreamError(ErrorKind.MODEL_NOT_FOUND, message, status=status, param="model")
    return UpstreamError(ErrorKind.INVALID_REQUEST, message, status=status)
