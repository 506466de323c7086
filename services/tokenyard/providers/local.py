"""The built-in local provider: `local/echo`, a deterministic chat model that needs no key or network."""
from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tokenyard.errors import ErrorKind
from tokenyard.providers.base import UpstreamError, UpstreamTarget
from tokenyard.tokens import count_messages, count_text, message_text

_WORDS = re.compile(r"\S+\s*")


def _answer(request: dict[str, Any]) -> str:
    for m in reversed(request.get("messages") or ()):
        if m.get("role") == "user":
            return message_text(m)
    return ""


class LocalProvider:
    """Echo: answers with the text of the last user message, streamed a word per chunk, true token counts.

    `max_tokens` truncates the answer (finish_reason `length`), as a real model would.
    """

    kind = "local"

    def __init__(self, http: httpx.AsyncClient | None = None) -> None:
        self._http = http

    def _reply(self, request: dict[str, Any]) -> tuple[str, str, dict[str, int]]:
        text = _answer(request)
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        finish = "stop"
        words = _WORDS.findall(text)
        if limit is not None and count_text(text) > limit:
            kept: list[str] = []
            for w in words:
                if count_text("".join(kept) + w) > limit:
                    break
                kept.append(w)
            text, finish = "".join(kept), "length"
        prompt = count_messages(request.get("messages") or ())
        completion = count_text(text)
        return text, finish, {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion}

    async def chat(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """One completion."""
        text, finish, usage = self._reply(request)
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": request.get("model"), "usage": usage,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish}]}

    async def stream(self, target: UpstreamTarget, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """A word per chunk, then a finish chunk and a usage chunk."""
        text, finish, usage = self._reply(request)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": request.get("model")}
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
        for word in _WORDS.findall(text):
            await asyncio.sleep(0)
            yield {**base, "choices": [{"index": 0, "delta": {"content": word}}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        yield {**base, "choices": [], "usage": usage}

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """Local embeddings are served by the Embeddings service's own model runner."""
        raise UpstreamError(ErrorKind.INVALID_REQUEST, "local chat models do not embed", param="model")

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        """The local provider never talks HTTP."""
        return UpstreamError(ErrorKind.PROVIDER_ERROR, "local provider error", status=status)
