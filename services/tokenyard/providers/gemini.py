"""The `gemini` kind: native generateContent / streamGenerateContent and batchEmbedContents, translated."""
from __future__ import annotations

import base64
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from httpx_sse import ServerSentEvent

from tokenyard.errors import ErrorKind, invalid
from tokenyard.protocol.models import (ChatRequest, Chunk, ChunkChoice, Completion, Delta, ToolCallDelta,
                                       ToolCallFunctionDelta, Usage)
from tokenyard.providers.base import UpstreamError, UpstreamTarget, openai_dict, status_error
from tokenyard.providers.gemini_wire import finish_of, from_gemini, to_gemini, tool_call_of, usage_of
from tokenyard.providers.transport import error_message, join_url, loads, open_sse, post_json
from tokenyard.tokens import count_texts

DEFAULT_VERSION = "v1beta"
_CONTEXT = re.compile(r"exceeds the maximum number of tokens|input token count|context (window|length)|"
                      r"too many tokens", re.IGNORECASE)
_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
           "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503,
           "DEADLINE_EXCEEDED": 504}


def map_gemini_error(status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
    """Google error JSON `{"error": {"code", "message", "status"}}` -> UpstreamError."""
    message, _ = error_message(body, f"upstream returned HTTP {status}")
    return status_error(status, message, headers, context_too_long=status == 400 and bool(_CONTEXT.search(message)),
                        body=body)


class _StreamTranslator:
    """Each streamed GenerateContentResponse -> typed chunks; the last usageMetadata seen is the usage."""

    def __init__(self, model: str) -> None:
        self.id, self.created, self.model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model
        self.started: set[int] = set()
        self.calls: dict[int, int] = {}
        self.usage: dict[str, Any] | None = None

    def _chunk(self, index: int, delta: Delta, finish: str | None = None) -> Chunk:
        return Chunk(id=self.id, created=self.created, model=self.model,
                     choices=[ChunkChoice(index=index, delta=delta, finish_reason=finish)])

    def _candidate(self, i: int, cand: dict[str, Any]) -> list[Chunk]:
        index = int(cand.get("index") or i)
        out = []
        if index not in self.started:
            self.started.add(index)
            out.append(self._chunk(index, Delta(role="assistant", content="")))
        for part in (cand.get("content") or {}).get("parts") or ():
            if "functionCall" in part:
                n = self.calls[index] = self.calls.get(index, -1) + 1
                call = tool_call_of(part)
                out.append(self._chunk(index, Delta(tool_calls=[ToolCallDelta(
                    index=n, id=call["id"], type="function", function=ToolCallFunctionDelta(
                        name=call["function"]["name"], arguments=call["function"]["arguments"]))])))
            elif part.get("text"):
                text = part["text"]
                delta = Delta(reasoning_content=text) if part.get("thought") else Delta(content=text)
                out.append(self._chunk(index, delta))
        finish = finish_of(cand.get("finishReason"), index in self.calls)
        if finish:
            out.append(self._chunk(index, Delta(), finish))
        return out

    def handle(self, resp: dict[str, Any]) -> list[Chunk]:
        if resp.get("responseId"):
            self.id = f"chatcmpl-{resp['responseId']}"
        if resp.get("usageMetadata"):
            self.usage = resp["usageMetadata"]
        out = []
        for i, cand in enumerate(resp.get("candidates") or ()):
            out += self._candidate(i, cand)
        if not resp.get("candidates") and (resp.get("promptFeedback") or {}).get("blockReason"):
            out += [self._chunk(0, Delta(role="assistant", content=""), "content_filter")]
        return out

    def final(self) -> list[Chunk]:
        if not self.usage:
            return []
        usage = Usage(**usage_of(self.usage))
        return [Chunk(id=self.id, created=self.created, model=self.model, choices=[], usage=usage)]


def _embedding_texts(request: dict[str, Any]) -> list[str]:
    raw = request.get("input")
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        raise invalid("Gemini embedding models take `input` as a string or an array of strings", "input")
    return items


def _vector(values: list[float], b64: bool) -> Any:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode() if b64 else values


class GeminiProvider:
    """Gemini API (`x-goog-api-key`), version from the provider's `api_version` (default v1beta)."""

    kind = "gemini"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def _call(self, target: UpstreamTarget) -> dict[str, Any]:
        headers = dict(target.spec.headers)
        if target.api_key:
            headers["x-goog-api-key"] = target.api_key
        return {"headers": headers, "spec": target.spec, "provider": target.provider_id, "on_error": self.map_error}

    @staticmethod
    def _url(target: UpstreamTarget, model: str, action: str) -> str:
        version = target.spec.api_version or DEFAULT_VERSION
        model = model.removeprefix("models/")
        return join_url(target.spec.base_url, f"{version}/models/{model}:{action}")

    async def chat(self, target: UpstreamTarget, request: ChatRequest) -> Completion:
        """One generateContent call, translated both ways."""
        request = openai_dict(request)
        url = self._url(target, request["model"], "generateContent")
        result = await post_json(self._http, url, to_gemini(request), **self._call(target))
        if not isinstance(result, dict):
            raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {target.provider_id} sent no response",
                                retryable=True)
        return from_gemini(result, request["model"])

    async def stream(self, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
        """streamGenerateContent?alt=sse, each event translated as it arrives; usage last."""
        request = openai_dict(request)
        url = self._url(target, request["model"], "streamGenerateContent") + "?alt=sse"
        state = _StreamTranslator(request["model"])
        async with open_sse(self._http, url, to_gemini(request), **self._call(target)) as events:
            async for event in events:
                for chunk in self._translate(event, state, target.provider_id):
                    yield chunk
        for chunk in state.final():
            yield chunk

    def _translate(self, event: ServerSentEvent, state: _StreamTranslator, provider: str) -> list[Chunk]:
        if not event.data.strip():
            return []
        resp = loads(event.data, provider)
        if not isinstance(resp, dict):
            return []
        if resp.get("error"):
            err = resp["error"]
            status = int(err.get("code") or _STATUS.get(str(err.get("status")), 500)) if isinstance(err, dict) else 500
            raise self.map_error(status, orjson.dumps(resp), httpx.Headers())
        return state.handle(resp)

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """batchEmbedContents; Gemini reports no token usage, so it is counted locally."""
        texts = _embedding_texts(request)
        model = str(request.get("model") or "").removeprefix("models/")
        one: dict[str, Any] = {"model": f"models/{model}"}
        if request.get("dimensions"):
            one["outputDimensionality"] = request["dimensions"]
        body = {"requests": [{**one, "content": {"parts": [{"text": t}]}} for t in texts]}
        result = await post_json(self._http, self._url(target, model, "batchEmbedContents"), body,
                                 **self._call(target))
        vectors = result.get("embeddings") if isinstance(result, dict) else None
        if not isinstance(vectors, list) or len(vectors) != len(texts):
            raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {target.provider_id} sent no embeddings",
                                retryable=True)
        b64 = request.get("encoding_format") == "base64"
        tokens = sum(await count_texts(texts))
        return {"object": "list", "model": request.get("model"),
                "data": [{"object": "embedding", "index": i, "embedding": _vector(v.get("values") or [], b64)}
                         for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        """Google error JSON -> UpstreamError (`input token count ... exceeds` -> CONTEXT_TOO_LONG)."""
        return map_gemini_error(status, body, headers)


def merge_usage(acc: dict[str, Any], doc: Any) -> bool:
    """Passthrough metering: fold one native generateContent document (a body, a streamed JSON array, or one SSE
    event) into `acc` (`prompt_tokens`, `completion_tokens`, `model`); True when it is in the Gemini format."""
    if isinstance(doc, list):
        return any([merge_usage(acc, item) for item in doc])
    if not isinstance(doc, dict) or not ({"candidates", "usageMetadata", "promptFeedback", "error", "embeddings",
                                          "embedding"} & doc.keys()):
        return False
    if isinstance(doc.get("modelVersion"), str):
        acc["model"] = doc["modelVersion"]
    if isinstance(doc.get("usageMetadata"), dict):
        usage = usage_of(doc["usageMetadata"])
        acc["prompt_tokens"], acc["completion_tokens"] = usage["prompt_tokens"], usage["completion_tokens"]
    return True


def model_from_path(path: str) -> str:
    """Passthrough metering: the model a native request path names (`.../models/{model}:generateContent`)."""
    if "models/" not in path:
        return ""
    return unquote(path.split("models/", 1)[1].split(":")[0])
