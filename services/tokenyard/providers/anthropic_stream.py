"""Anthropic streaming events (message_start ... message_stop) -> typed chat.completion.chunks."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
from httpx_sse import ServerSentEvent

from tokenyard.errors import ErrorKind
from tokenyard.protocol.models import Chunk, ChunkChoice, Delta, ToolCallDelta, ToolCallFunctionDelta, Usage
from tokenyard.providers.anthropic_wire import ERROR_STATUS, STOP_REASONS, usage_of
from tokenyard.providers.base import UpstreamError
from tokenyard.providers.transport import loads

ErrorMapper = Callable[[int, bytes, httpx.Headers], UpstreamError]


class _Translator:
    """State of one stream: ids, which content block is which tool call, usage so far."""

    def __init__(self, provider: str, on_error: ErrorMapper) -> None:
        self.provider, self.on_error = provider, on_error
        self.id, self.model, self.created = "", "", int(time.time())
        self.tools: dict[int, int] = {}
        self.usage: dict[str, Any] = {}
        self.finish: str | None = None
        self.done = False

    def chunk(self, delta: Delta, finish: str | None = None) -> Chunk:
        return Chunk(id=self.id, created=self.created, model=self.model,
                     choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish)])

    def on_start(self, data: dict[str, Any]) -> list[Chunk]:
        msg = data.get("message") or {}
        self.id, self.model = msg.get("id") or "", msg.get("model") or ""
        self.usage.update(msg.get("usage") or {})
        return [self.chunk(Delta(role="assistant", content=""))]

    def on_block_start(self, data: dict[str, Any]) -> list[Chunk]:
        block = data.get("content_block") or {}
        if block.get("type") == "tool_use":
            index = self.tools[int(data.get("index") or 0)] = len(self.tools)
            call = ToolCallDelta(index=index, id=block.get("id") or "", type="function",
                                 function=ToolCallFunctionDelta(name=block.get("name") or "", arguments=""))
            return [self.chunk(Delta(tool_calls=[call]))]
        if block.get("type") == "text" and block.get("text"):
            return [self.chunk(Delta(content=block["text"]))]
        return []

    def on_delta(self, data: dict[str, Any]) -> list[Chunk]:
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return [self.chunk(Delta(content=delta.get("text") or ""))]
        if kind == "input_json_delta":
            piece = delta.get("partial_json") or ""
            index = self.tools.get(int(data.get("index") or 0), 0)
            call = ToolCallDelta(index=index, function=ToolCallFunctionDelta(arguments=piece))
            return [self.chunk(Delta(tool_calls=[call]))] if piece else []
        if kind == "thinking_delta":
            return [self.chunk(Delta(reasoning_content=delta.get("thinking") or ""))]
        return []

    def on_message_delta(self, data: dict[str, Any]) -> list[Chunk]:
        self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        reason = (data.get("delta") or {}).get("stop_reason")
        if reason:
            self.finish = STOP_REASONS.get(reason, "stop")
            return [self.chunk(Delta(), self.finish)]
        return []

    def on_stop(self, data: dict[str, Any]) -> list[Chunk]:
        self.done = True
        out = [] if self.finish else [self.chunk(Delta(), "stop")]
        return out + [Chunk(id=self.id, created=self.created, model=self.model, choices=[],
                            usage=Usage(**usage_of(self.usage)))]

    def on_error_event(self, data: dict[str, Any]) -> list[Chunk]:
        err = data.get("error") or {}
        status = ERROR_STATUS.get(str(err.get("type")), 500)
        raise self.on_error(status, orjson.dumps({"type": "error", "error": err}), httpx.Headers())

    def handle(self, event: ServerSentEvent) -> list[Chunk]:
        if not event.data.strip():
            return []
        data = loads(event.data, self.provider)
        kind = (data.get("type") if isinstance(data, dict) else None) or event.event
        handler = {"message_start": self.on_start, "content_block_start": self.on_block_start,
                   "content_block_delta": self.on_delta, "message_delta": self.on_message_delta,
                   "message_stop": self.on_stop, "error": self.on_error_event}.get(kind)
        return handler(data) if handler else []


async def chunks_of(events: AsyncIterator[ServerSentEvent], provider: str, on_error: ErrorMapper
                    ) -> AsyncIterator[Chunk]:
    """Typed chunks built from Anthropic events, yielded as each event arrives; ends with a usage chunk."""
    state = _Translator(provider, on_error)
    async for event in events:
        for chunk in state.handle(event):
            yield chunk
        if state.done:
            return
    raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {provider} ended the stream before message_stop",
                        retryable=True)
