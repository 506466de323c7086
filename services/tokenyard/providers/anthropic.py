"""The `anthropic` kind: native Messages API, translated both ways (see anthropic_wire / anthropic_stream)."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tokenyard.errors import ErrorKind
from tokenyard.providers.anthropic_stream import chunks_of
from tokenyard.providers.anthropic_wire import from_anthropic, to_anthropic, usage_of
from tokenyard.protocol.models import ChatRequest, Chunk, Completion
from tokenyard.providers.base import UpstreamError, UpstreamTarget, openai_dict, status_error
from tokenyard.providers.transport import error_message, join_url, open_sse, post_json

DEFAULT_VERSION = "2023-06-01"
_CONTEXT = re.compile(r"prompt is too long|too many (input )?tokens|context (window|length)", re.IGNORECASE)


def map_anthropic_error(status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
    """Anthropic error JSON `{"type": "error", "error": {"type", "message"}}` -> UpstreamError."""
    message, err = error_message(body, f"upstream returned HTTP {status}")
    if status == 400 and err.get("type") == "invalid_request_error" and _CONTEXT.search(message):
        return status_error(status, message, headers, context_too_long=True, body=body)
    return status_error(status, message, headers, body=body)


class AnthropicProvider:
    """Anthropic Messages API (`x-api-key`, `anthropic-version`)."""

    kind = "anthropic"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def _call(self, target: UpstreamTarget) -> dict[str, Any]:
        spec = target.spec
        headers = {**spec.headers, "anthropic-version": spec.api_version or DEFAULT_VERSION}
        if target.api_key:
            headers["x-api-key"] = target.api_key
        return {"headers": headers, "spec": spec, "provider": target.provider_id, "on_error": self.map_error}

    @staticmethod
    def _url(target: UpstreamTarget) -> str:
        base = target.spec.base_url.rstrip("/")
        return join_url(base, "messages" if base.endswith("/v1") else "v1/messages")

    async def chat(self, target: UpstreamTarget, request: ChatRequest) -> Completion:
        """One Messages API call, translated both ways."""
        body = to_anthropic(openai_dict(request))
        result = await post_json(self._http, self._url(target), body, **self._call(target))
        if not isinstance(result, dict) or result.get("type") == "error":
            raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {target.provider_id} sent no message",
                                retryable=True)
        return from_anthropic(result)

    async def stream(self, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Messages API events turned into typed chunks as they arrive."""
        body = {**to_anthropic(openai_dict(request)), "stream": True}
        async with open_sse(self._http, self._url(target), body, **self._call(target)) as events:
            async for chunk in chunks_of(events, target.provider_id, self.map_error):
                yield chunk

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """Anthropic has no embeddings API."""
        raise UpstreamError(ErrorKind.INVALID_REQUEST, "Anthropic models do not provide embeddings",
                            status=400, param="model")

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        """Anthropic error JSON -> UpstreamError (`prompt is too long` -> CONTEXT_TOO_LONG)."""
        return map_anthropic_error(status, body, headers)


def merge_usage(acc: dict[str, Any], doc: Any) -> bool:
    """Passthrough metering: fold one native Messages API document (a message body, or one stream event) into
    `acc` (`prompt_tokens`, `completion_tokens`, `model`); True when it is in the Anthropic format."""
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        return False
    msg = doc.get("message") if doc["type"] == "message_start" else doc
    if isinstance(msg, dict) and isinstance(msg.get("model"), str):
        acc["model"] = msg["model"]
    usage = msg.get("usage") if isinstance(msg, dict) else None
    if isinstance(usage, dict):
        raw = {**acc.get("_anthropic", {}), **{k: v for k, v in usage.items() if isinstance(v, int)}}
        acc["_anthropic"] = raw
        acc.update({k: v for k, v in usage_of(raw).items() if k != "total_tokens"})
    return True
