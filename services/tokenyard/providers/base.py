"""The one small Protocol every provider adapter implements, and the errors adapters raise.

Adapters only translate between the typed core (`ChatRequest` in, `Completion` / `Chunk` out) and their provider's
wire format. Routing,
retries, fallbacks and circuit breaking live in the Router and are the same for every provider.
"""
from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from msgspec import UNSET

from tokenyard.catalog import ProviderSpec
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.protocol.models import AnswerMessage, ChatRequest, Chunk, Completion, FunctionCall, ToolCall
from tokenyard.protocol.openai_chat import request_to_dict


@dataclass(frozen=True)
class UpstreamTarget:
    """Where one call goes: a configured provider and the model name it is sent."""

    provider_id: str
    spec: ProviderSpec
    upstream_model: str
    api_key: str = ""


REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "apim-request-id", "x-ms-request-id",
                      "x-goog-request-id", "cf-ray")
"""Where providers put the id of a request (OpenAI, Anthropic, Bedrock, Azure, Google, Cloudflare)."""
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_BODY_ID = re.compile(rb'"request_id"\s*:\s*"([A-Za-z0-9_.:\-]{1,128})"')
_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{12,}|\bAIza[0-9A-Za-z_\-]{20,}|\bty_sk_[A-Za-z0-9_\-]{4,}")
_CREDENTIAL = re.compile(r"(?i)(?<![a-z])(password|passwd|pwd|secret|token|api[_-]?key|authorization|bearer)"
                         r"([\"']?\s*[=:]\s*|(?<=bearer)\s+)([\"']?)(?:bearer\s+)?[^\s\"',;&}]+")
DETAIL_CHARS = 4000
"""How much of an upstream error body is kept for the log."""


class UpstreamError(GatewayError):
    """An upstream failure. `retryable` tells the Router whether another try may help; `unreachable` that the
    provider could not even be connected to (no request content can cause that: it counts provider-wide).

    `detail` is the upstream's own error body, for the operator's log only (never sent to a caller: a 5xx body
    may hold the provider's internals); `upstream_request_id` is the provider's id of the failed request.
    """

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, param: str | None = None, unreachable: bool = False,
                 detail: str = "", upstream_request_id: str = "") -> None:
        super().__init__(kind, message, param=param, retry_after=retry_after)
        self.status = status
        self.retryable = retryable
        self.unreachable = unreachable
        self.detail = detail
        self.upstream_request_id = upstream_request_id


def scrub(text: str, secret: str = "") -> str:
    """`text` without the provider key `secret` nor anything shaped like an API key."""
    if len(secret) >= 8:
        text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


def scrub_detail(text: str, secret: str = "") -> str:
    """An upstream error body fit for the log: keys and `password=...`-style credentials removed."""
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}[redacted]", scrub(text, secret))


def redact(exc: GatewayError, secret: str) -> GatewayError:
    """Remove a provider API key the upstream quoted in its error message (some providers echo the key they
    rejected), and anything else shaped like a key; the message goes to callers, logs and traces."""
    clean = scrub(exc.message, secret)
    if clean != exc.message:
        exc.message = clean
        exc.args = (exc.message,)
    return exc


def log_detail(log: logging.Logger, provider: str, exc: BaseException, secret: str = "") -> None:
    """Log (scrubbed) the upstream's own error body that an error's message hides from the caller."""
    if isinstance(exc, UpstreamError) and exc.detail:
        log.warning("upstream %s answered HTTP %s (upstream request id %s): %s", provider, exc.status,
                    exc.upstream_request_id or "-", scrub_detail(exc.detail, secret))
        exc.detail = ""  # logged once


def upstream_request_id(headers: httpx.Headers, body: bytes = b"") -> str:
    """The provider's id of a request, from its response headers or (Anthropic) its error body; '' if none."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name, "")
        if _SAFE_ID.fullmatch(value):
            return value
    found = _BODY_ID.search(body[:DETAIL_CHARS])
    return found.group(1).decode() if found else ""


def server_error_message(status: int | None, request_id: str) -> str:
    """What a caller sees of an upstream 5xx: its status and request id, none of its body."""
    where = f"; upstream request id {request_id}" if request_id else ""
    return f"the upstream provider failed (HTTP {status}{where})"


def with_request_id(exc: BaseException, headers: httpx.Headers) -> None:
    """Name the upstream request id (from the response headers) in a 5xx error found inside a streamed body."""
    if isinstance(exc, UpstreamError) and (exc.status or 0) >= 500 and not exc.upstream_request_id:
        exc.upstream_request_id = upstream_request_id(headers)
        if exc.upstream_request_id:
            exc.message = server_error_message(exc.status, exc.upstream_request_id)
            exc.args = (exc.message,)


def answer_message(text: str, reasoning: str, calls: list[dict[str, Any]]) -> AnswerMessage:
    """The typed assistant message of a translated answer (content null when it only calls tools)."""
    tool_calls = [ToolCall(id=c["id"], function=FunctionCall(name=c["function"]["name"],
                                                             arguments=c["function"]["arguments"])) for c in calls]
    return AnswerMessage(role="assistant", content=text if text or not calls else None,
                         tool_calls=tool_calls or UNSET, reasoning_content=reasoning or UNSET)


def openai_dict(request: ChatRequest | dict[str, Any]) -> dict[str, Any]:
    """The request as an OpenAI-format dict, for an adapter that translates it to another wire: its raw JSON
    parts (tool schemas, response_format, ...) are parsed here, once, in that adapter's call."""
    return request if isinstance(request, dict) else request_to_dict(request)


class Provider(Protocol):
    """One provider kind. Chat requests are the typed core (`ChatRequest`, `model` already the upstream model
    name); results are the typed core: a `Completion`, or a stream of `Chunk`s ending with a chunk carrying
    `usage` whenever the upstream reports it. Embeddings stay OpenAI-format dicts, in and out (the gateway only
    passes vectors on)."""

    kind: str

    async def chat(self, target: UpstreamTarget, request: ChatRequest) -> Completion:
        """A typed chat.completion."""
        ...

    def stream(self, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Typed chat.completion.chunks as they arrive."""
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


def status_error(status: int, message: str, headers: httpx.Headers, *, context_too_long: bool = False,
                 body: bytes = b"") -> UpstreamError:
    """The common mapping of an upstream HTTP status to an UpstreamError (providers refine the message).

    A 4xx keeps the provider's `message` (the caller can act on it); a 5xx says only its status and the upstream
    request id, and keeps the body (`detail`) for the log.
    """
    detail = body[:DETAIL_CHARS].decode("utf-8", "replace") or message
    if context_too_long:
        return UpstreamError(ErrorKind.CONTEXT_TOO_LONG, message, status=status, param="messages")
    if status == 429:
        return UpstreamError(ErrorKind.RATE_LIMITED, message, status=status, retryable=True,
                             retry_after=retry_after_seconds(headers))
    if status >= 500:
        rid = upstream_request_id(headers, body)
        return UpstreamError(ErrorKind.PROVIDER_ERROR, server_error_message(status, rid), status=status,
                             retryable=True, retry_after=retry_after_seconds(headers), detail=detail,
                             upstream_request_id=rid)
    if status in (408, 409):
        return UpstreamError(ErrorKind.PROVIDER_ERROR, message, status=status, retryable=True,
                             retry_after=retry_after_seconds(headers))
    if status in (401, 403):
        # The upstream's message may echo part of the operator's key: never pass it on.
        return UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream rejected the gateway's credentials (HTTP {status})",
                             status=status, detail=detail)
    if status == 404:
        return UpstreamError(ErrorKind.MODEL_NOT_FOUND, message, status=status, param="model")
    return UpstreamError(ErrorKind.INVALID_REQUEST, message, status=status)
