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
from tokenyard.protocol.models import AnswerMessage, ChatRequest, Choice, Chunk, ChunkChoice, Completion, Delta, Usage
from tokenyard.providers.base import UpstreamError, UpstreamTarget, openai_dict
from tokenyard.tokens import (OFFLOAD_CHARS, count_messages, count_text, decode_prefix, encode_text,
                              message_text, off_loop)

_WORDS = re.compile(r"\S+\s*")
_PARTIAL = re.compile(r"\S+\Z")


def _whole_words(prefix: str, text: str, limit: int) -> str:
    """The longest run of whole words of `text` within `prefix` (its first `limit` tokens) and `limit`."""
    if len(prefix) < len(text) and not text[len(prefix)].isspace():
        prefix = _PARTIAL.sub("", prefix)
    while prefix and count_text(prefix) > limit:
        prefix = _PARTIAL.sub("", prefix.rstrip())
    return prefix


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
        ids = encode_text(text)
        if limit is not None and len(ids) > limit:
            text, finish = _whole_words(decode_prefix(ids[:limit]), text, limit), "length"
        prompt = count_messages(request.get("messages") or ())
        completion = count_text(text)
        return text, finish, {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion}

    async def _answer_of(self, request: dict[str, Any]) -> tuple[str, str, dict[str, int]]:
        """The reply, computed in a counting thread when the prompt is long (the loop keeps serving)."""
        size = sum(len(message_text(m)) for m in request.get("messages") or ())
        return self._reply(request) if size <= OFFLOAD_CHARS else await off_loop(self._reply, request)

    async def chat(self, target: UpstreamTarget, request: ChatRequest) -> Completion:
        """One completion."""
        request = openai_dict(request)
        text, finish, usage = await self._answer_of(request)
        return Completion(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model=request.get("model") or "",
                          usage=Usage(**usage), choices=[Choice(index=0, message=AnswerMessage(
                              role="assistant", content=text), finish_reason=finish)])

    async def stream(self, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
        """A word per chunk, then a finish chunk and a usage chunk."""
        request = openai_dict(request)
        text, finish, usage = await self._answer_of(request)
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), request.get("model") or ""

        def chunk(delta: Delta, finish_reason: str | None = None) -> Chunk:
            return Chunk(id=cid, created=created, model=model,
                         choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish_reason)])

        yield chunk(Delta(role="assistant", content=""))
        for word in _WORDS.findall(text):
            await asyncio.sleep(0)
            yield chunk(Delta(content=word))
        yield chunk(Delta(), finish)
        yield Chunk(id=cid, created=created, model=model, choices=[], usage=Usage(**usage))

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """Local embeddings are served by the Embeddings service's own model runner."""
        raise UpstreamError(ErrorKind.INVALID_REQUEST, "local chat models do not embed", param="model")

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        """The local provider never talks HTTP."""
        return UpstreamError(ErrorKind.PROVIDER_ERROR, "local provider error", status=status)
