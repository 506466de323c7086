"""The `openai` kind: any OpenAI-compatible server (OpenAI, OpenRouter, vLLM, Ollama, DeepSeek...), passed through."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import orjson
from msgspec import UNSET

from tokenyard.errors import ErrorKind
from tokenyard.protocol.models import ChatRequest, Chunk, Completion
from tokenyard.protocol.openai_chat import encode_request
from tokenyard.providers.base import UpstreamError, UpstreamTarget, status_error
from tokenyard.providers.transport import bearer, error_message, join_url, loads, open_sse, post_json

_CONTEXT = re.compile(r"context[_ ]length|maximum context|context window|too many tokens|prompt is too long", re.IGNORECASE)
_STREAM_KEYS = ("stream", "stream_options")
_STREAMED = {"stream": True, "stream_options": {"include_usage": True}}
_COMPLETION = msgspec.json.Decoder(Completion, strict=False)
_CHUNK = msgspec.json.Decoder(Chunk, strict=False)


def decode_completion(raw: bytes | str, provider: str) -> Completion:
    """An upstream's chat.completion body, parsed once straight into the typed core."""
    try:
        result = _COMPLETION.decode(raw)
    except msgspec.ValidationError:
        raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {provider} sent no choices", retryable=True) from None
    except msgspec.DecodeError:
        loads(raw, provider)  # raises the malformed-JSON error
        raise
    if not result.choices and b'"choices"' not in (raw if isinstance(raw, bytes) else raw.encode()):
        raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {provider} sent no choices", retryable=True)
    return result


def decode_chunk(data: str, provider: str) -> Chunk | None:
    """One SSE data line as a typed chunk (None for a line that is not a chunk object); an in-stream error
    object is raised as the UpstreamError it stands for."""
    if '"error"' in data:  # rare: look at it as plain JSON first
        doc = loads(data, provider)
        if isinstance(doc, dict) and doc.get("error"):
            raise map_openai_error(_in_stream_status(doc["error"]), orjson.dumps(doc), httpx.Headers())
    try:
        return _CHUNK.decode(data)
    except msgspec.ValidationError:
        if not isinstance(loads(data, provider), dict):
            return None
        raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {provider} sent a malformed chunk",
                            retryable=True) from None
    except msgspec.DecodeError:
        loads(data, provider)
        raise


def is_context_error(message: str, err: dict[str, Any]) -> bool:
    """True when an OpenAI-style error says the prompt does not fit the model's context."""
    return err.get("code") == "context_length_exceeded" or bool(_CONTEXT.search(message))


def map_openai_error(status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
    """OpenAI error JSON `{"error": {"message", "type", "code"}}` -> UpstreamError."""
    message, err = error_message(body, f"upstream returned HTTP {status}")
    return status_error(status, message, headers, context_too_long=status in (400, 413, 422)
                        and is_context_error(message, err), body=body)


class OpenAIProvider:
    """Sends the request as is (the upstream model name swapped in by the dispatcher), bearer key auth."""

    kind = "openai"
    native_n = True  # `n` choices in one call (other adapters get n single calls: inference/fanout.py)

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def _headers(self, target: UpstreamTarget) -> dict[str, str]:
        return {**target.spec.headers, **bearer(target.api_key)}

    def _call(self, target: UpstreamTarget) -> dict[str, Any]:
        return {"headers": self._headers(target), "spec": target.spec, "provider": target.provider_id,
                "on_error": self.map_error}

    async def chat(self, target: UpstreamTarget, request: ChatRequest) -> Completion:
        """One chat.completion, decoded from the upstream's body in one pass. The request is written out as the
        client sent it: raw JSON parts (tool schemas, unknown fields, ...) byte for byte, never parsed."""
        body: dict[str, Any] | bytes
        if isinstance(request, dict):
            body = {k: v for k, v in request.items() if k not in _STREAM_KEYS}
        else:
            body = encode_request(msgspec.structs.replace(request, stream=UNSET, stream_options=UNSET))
        url = join_url(target.spec.base_url, "chat/completions")
        result: Completion = await post_json(self._http, url, body, **self._call(target), decode=decode_completion)
        return result

    async def stream(self, target: UpstreamTarget, request: ChatRequest) -> AsyncIterator[Chunk]:
        """The upstream's chunks, one by one, each decoded once into a typed chunk, usage included
        (stream_options.include_usage is always asked)."""
        body: dict[str, Any] | bytes
        if isinstance(request, dict):
            body = {**request, **_STREAMED}
        else:
            body = encode_request(request, **_STREAMED)
        url = join_url(target.spec.base_url, "chat/completions")
        async with open_sse(self._http, url, body, **self._call(target)) as events:
            async for event in events:
                data = event.data.strip()
                if not data:
                    continue
                if data == "[DONE]":
                    return
                chunk = decode_chunk(data, target.provider_id)
                if chunk is not None:
                    yield chunk

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """POST /embeddings, answered as is (embeddings stay OpenAI-format dicts: the gateway only passes them
        on)."""
        url = join_url(target.spec.base_url, "embeddings")
        result = await post_json(self._http, url, request, **self._call(target))
        if not isinstance(result, dict) or not isinstance(result.get("data"), list):
            raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream {target.provider_id} sent no embeddings",
                                retryable=True)
        return result

    def map_error(self, status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
        """OpenAI error JSON -> UpstreamError (context too long recognised by code or message)."""
        return map_openai_error(status, body, headers)


def _in_stream_status(err: Any) -> int:
    """The HTTP status an in-stream error object stands for (500 when it does not say)."""
    code = err.get("code") if isinstance(err, dict) else None
    if isinstance(code, int) and 400 <= code < 600:
        return code
    if code == "context_length_exceeded":
        return 400
    kind = err.get("type") if isinstance(err, dict) else None
    return {"invalid_request_error": 400, "rate_limit_error": 429, "requests": 429}.get(str(kind), 500)


def merge_usage(acc: dict[str, Any], doc: Any) -> bool:
    """Passthrough metering: fold one native answer document (a JSON body, or one streamed chunk) into `acc`
    (`prompt_tokens`, `completion_tokens`, `model`); True when it is in the OpenAI format."""
    if not isinstance(doc, dict) or not ({"object", "usage", "choices", "error"} & doc.keys()):
        return False
    if isinstance(doc.get("model"), str):
        acc["model"] = doc["model"]
    usage = doc.get("usage")
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
        acc["prompt_tokens"] = int(prompt or 0)
        acc["completion_tokens"] = int(completion or 0)
    return True
