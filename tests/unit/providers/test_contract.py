"""The shared contract every provider adapter meets, run against fake upstreams speaking the real wire formats."""
from __future__ import annotations

import asyncio
import contextlib
import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
from tokenyard.protocol.models import Chunk, Completion
from tokenyard.protocol.openai_chat import chat_request_from_dict
from tokenyard.catalog import ProviderSpec, Timeouts
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers.anthropic import AnthropicProvider
from tokenyard.providers.base import UpstreamError, UpstreamTarget
from tokenyard.providers.gemini import GeminiProvider
from tokenyard.providers.kinds import can
from tokenyard.providers.openai import OpenAIProvider
from tokenyard.providers.upstream_pool import UpstreamClient

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeServer, Fault

KEY = "sk-contract-key-0123456789"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfakepngbytes").decode()
ARGS = '{"city":"Paris","days":3,"units":{"temp":"celsius"},"tags":["a","b"]}'
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}}}}}]


def _openai_images(body: dict[str, Any]) -> list[Any]:
    parts = body["messages"][-1]["content"]
    return [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]


def _anthropic_images(body: dict[str, Any]) -> list[Any]:
    return [b["source"] for b in body["messages"][-1]["content"] if b["type"] == "image"]


def _gemini_images(body: dict[str, Any]) -> list[Any]:
    return [p.get("inlineData") or p.get("fileData") for p in body["contents"][-1]["parts"]
            if "inlineData" in p or "fileData" in p]


@dataclass(frozen=True)
class Kind:
    """How one provider kind is wired to its fake, and where its native request keeps things."""

    name: str
    fake: type[FakeServer]
    adapter: type
    base_path: str
    context_fault: Fault
    images: Callable[[dict[str, Any]], list[Any]]
    system: Callable[[dict[str, Any]], str]


KINDS = [
    Kind("openai", FakeOpenAI, OpenAIProvider, "/v1",
         Fault.status(400, body={"error": {"message": "This model's maximum context length is 128000 tokens.",
                                           "type": "invalid_request_error", "param": "messages",
                                           "code": "context_length_exceeded"}}),
         _openai_images, lambda b: b["messages"][0]["content"]),
    Kind("anthropic", FakeAnthropic, AnthropicProvider, "", FakeAnthropic.context_too_long(),
         _anthropic_images, lambda b: b["system"]),
    Kind("gemini", FakeGemini, GeminiProvider, "",
         Fault.status(400, "The input token count (1200000) exceeds the maximum number of tokens allowed "
                           "(1048576).", "INVALID_ARGUMENT"),
         _gemini_images, lambda b: b["systemInstruction"]["parts"][0]["text"]),
]


@pytest.fixture(scope="module", params=KINDS, ids=[k.name for k in KINDS])
def kind(request: pytest.FixtureRequest) -> Iterator[tuple[Kind, FakeServer]]:
    k: Kind = request.param
    with k.fake(require_api_key=KEY) as server:
        yield k, server


@pytest.fixture(params=["httpx", "pool"])
async def env(kind: tuple[Kind, FakeServer], request: pytest.FixtureRequest
              ) -> AsyncIterator[tuple[Kind, FakeServer, Any, UpstreamTarget]]:
    """Every adapter over a plain httpx client and over the Router's pool (aiohttp for JSON/SSE calls)."""
    k, server = kind
    server.reset()
    spec = ProviderSpec(kind=k.name, base_url=server.url + k.base_path, api_key_env="X",
                        timeouts=Timeouts(connect=2, first_byte=1.0, total=10))
    async with (httpx.AsyncClient() if request.param == "httpx" else UpstreamClient()) as http:
        yield k, server, Typed(k.adapter(http)), UpstreamTarget(k.name, spec, "model-x", api_key=KEY)


class Typed:
    """The adapter as the Dispatcher calls it: chat requests are the typed core (written here as OpenAI dicts,
    decoded with the facade's own decoder first), and so are its answers (checked here to be a `Completion` /
    `Chunk`s, then read back as the OpenAI JSON they encode to)."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)

    async def chat(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        result = await self._adapter.chat(target, chat_request_from_dict(request))
        assert isinstance(result, Completion)
        return msgspec.json.decode(msgspec.json.encode(result))

    async def stream(self, target: UpstreamTarget, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async with contextlib.aclosing(self._adapter.stream(target, chat_request_from_dict(request))) as chunks:
            async for chunk in chunks:
                assert isinstance(chunk, Chunk)
                yield msgspec.json.decode(msgspec.json.encode(chunk))


def chat(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "model-x", "messages": [{"role": "system", "content": "be brief"},
                                             {"role": "user", "content": text}], **extra}


async def collect(stream: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c async for c in stream]


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])


def finish_of(chunks: list[dict[str, Any]]) -> str | None:
    return [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch.get("finish_reason")][-1]


def tool_calls_of(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """Streamed tool calls reassembled the way the OpenAI SDK does: by index, arguments concatenated."""
    calls: dict[int, dict[str, str]] = {}
    for c in chunks:
        for ch in c["choices"]:
            for d in ch["delta"].get("tool_calls") or ():
                call = calls.setdefault(d["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] = d.get("id") or call["id"]
                call["name"] = d.get("function", {}).get("name") or call["name"]
                call["arguments"] += d.get("function", {}).get("arguments") or ""
    return calls


async def test_plain_chat_translates_text_system_and_usage(env: Any) -> None:
    k, server, adapter, target = env
    server.script_reply("Bonjour, le monde", usage={"prompt_tokens": 11, "completion_tokens": 7})
    result = await adapter.chat(target, chat("say hi", temperature=0.5, max_tokens=50))
    choice = result["choices"][0]
    assert choice["message"] == {**choice["message"], "role": "assistant", "content": "Bonjour, le monde"}
    assert choice["finish_reason"] == "stop"
    assert result["usage"]["prompt_tokens"] == 11 and result["usage"]["completion_tokens"] == 7
    assert k.system(server.last_body) == "be brief"


async def test_stream_yields_text_incrementally_then_usage(env: Any) -> None:
    k, server, adapter, target = env
    server.script_reply("one two three four five six", usage={"prompt_tokens": 5, "completion_tokens": 6})
    server.push_fault(Fault.slow_stream(0.15))
    started = time.perf_counter()
    stream = adapter.stream(target, chat())
    first = await anext(stream)
    first_at = time.perf_counter() - started
    chunks = [first, *await collect(stream)]
    total = time.perf_counter() - started
    assert first_at < total / 2, "the first chunk must not wait for the whole answer"
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert content_of(chunks) == "one two three four five six"
    assert finish_of(chunks) == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 6
    assert chunks[-1]["usage"]["prompt_tokens"] == 5
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


async def test_tool_call_unary(env: Any) -> None:
    k, server, adapter, target = env
    server.script_reply(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": ARGS}])
    result = await adapter.chat(target, chat(tools=TOOLS, tool_choice="auto"))
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == json.loads(ARGS)
    assert call["id"]


async def test_streamed_tool_call_arguments_reassemble_exactly(env: Any) -> None:
    k, server, adapter, target = env
    second = '{"city":"Oslo","days":1}'
    server.script_reply(tool_calls=[{"name": "get_weather", "arguments": ARGS},
                                    {"name": "get_weather", "arguments": second}])
    chunks = await collect(adapter.stream(target, chat(tools=TOOLS)))
    calls = tool_calls_of(chunks)
    assert [calls[0]["arguments"], calls[1]["arguments"]] == [ARGS, second]
    assert calls[0]["name"] == calls[1]["name"] == "get_weather"
    assert calls[0]["id"] and calls[1]["id"] and calls[0]["id"] != calls[1]["id"]
    assert finish_of(chunks) == "tool_calls"
    assert chunks[-1]["usage"]["total_tokens"] > 0


async def test_tool_definitions_and_results_reach_the_upstream(env: Any) -> None:
    k, server, adapter, target = env
    request = chat(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}})
    request["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": ARGS}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": '{"temp": 21}'},
    ]
    result = await adapter.chat(target, request)
    assert result["choices"][0]["message"]["role"] == "assistant"
    body = json.dumps(server.last_body)
    assert "get_weather" in body and "Weather for a city" in body and "21" in body


async def test_several_images_per_message_url_and_data_uri(env: Any) -> None:
    k, server, adapter, target = env
    request = {"model": "model-x", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "compare these"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]}
    result = await adapter.chat(target, request)
    assert result["choices"][0]["message"]["content"] == "echo: compare these"
    images = json.dumps(k.images(server.last_body))
    assert PNG in images and "https://example.com/cat.jpg" in images
    assert len(k.images(server.last_body)) == 2


async def test_video_parts_go_native_where_supported_and_400_elsewhere(env: Any) -> None:
    k, server, adapter, target = env
    request = {"model": "model-x", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what happens"},
        {"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}}]}]}
    if k.name == "anthropic":
        with pytest.raises(GatewayError) as err:
            await adapter.chat(target, request)
        assert err.value.kind == ErrorKind.INVALID_REQUEST and err.value.param == "messages[0].content[1]"
        assert server.requests == []
        return
    await adapter.chat(target, request)
    if k.name == "gemini":
        assert {"fileData": {"mimeType": "video/mp4", "fileUri": "https://example.com/clip.mp4"}} in \
            server.last_body["contents"][0]["parts"]
    else:
        assert server.last_body["messages"][0]["content"][1]["type"] == "video_url"


@pytest.mark.parametrize("fault,kind_,retryable,status", [
    (Fault.status(429, retry_after=2), ErrorKind.RATE_LIMITED, True, 429),
    (Fault.status(500), ErrorKind.PROVIDER_ERROR, True, 500),
    (Fault.status(503), ErrorKind.PROVIDER_ERROR, True, 503),
    (Fault.status(401, "Incorrect API key provided: sk-con****6789"), ErrorKind.PROVIDER_ERROR, False, 401),
])
async def test_http_errors_map_to_the_error_model(env: Any, fault: Fault, kind_: ErrorKind, retryable: bool,
                                                  status: int) -> None:
    k, server, adapter, target = env
    for op in ("chat", "stream"):
        server.push_fault(fault)
        with pytest.raises(UpstreamError) as err:
            if op == "chat":
                await adapter.chat(target, chat())
            else:
                await collect(adapter.stream(target, chat()))
        assert (err.value.kind, err.value.retryable, err.value.status) == (kind_, retryable, status)
        assert "sk-con" not in err.value.message
        if status == 429:
            assert err.value.retry_after == 2


async def test_context_too_long_is_context_length_exceeded(env: Any) -> None:
    k, server, adapter, target = env
    server.push_fault(k.context_fault)
    with pytest.raises(UpstreamError) as err:
        await adapter.chat(target, chat())
    assert err.value.kind == ErrorKind.CONTEXT_TOO_LONG and not err.value.retryable
    assert err.value.kind.value.openai_code == "context_length_exceeded"


async def test_connection_reset_and_first_byte_timeout_are_retryable(env: Any) -> None:
    k, server, adapter, target = env
    server.push_fault(Fault.reset())
    with pytest.raises(UpstreamError) as err:
        await adapter.chat(target, chat())
    assert err.value.kind == ErrorKind.PROVIDER_ERROR and err.value.retryable
    server.push_fault(Fault.delay(3))
    started = time.perf_counter()
    with pytest.raises(UpstreamError) as err:
        await adapter.chat(target, chat())
    assert err.value.kind == ErrorKind.TIMEOUT and err.value.retryable
    assert time.perf_counter() - started < 2.5


async def test_stream_cut_midway_raises_after_the_chunks_already_sent(env: Any) -> None:
    k, server, adapter, target = env
    server.script_reply("alpha beta gamma delta epsilon zeta")
    server.push_fault(Fault.cut_stream(after=5))
    got: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as err:
        async for chunk in adapter.stream(target, chat()):
            got.append(chunk)
    assert got and err.value.kind == ErrorKind.PROVIDER_ERROR
    assert "alpha" in content_of(got) and "zeta" not in content_of(got)


async def test_in_stream_error_event_raises(env: Any) -> None:
    k, server, adapter, target = env
    server.script_reply("alpha beta gamma")
    server.push_fault(Fault.stream_error(after=2, status_code=529 if k.name == "anthropic" else 500))
    with pytest.raises(UpstreamError) as err:
        await collect(adapter.stream(target, chat()))
    assert err.value.kind == ErrorKind.PROVIDER_ERROR


async def test_closing_the_stream_cancels_the_upstream_request(env: Any) -> None:
    k, server, adapter, target = env
    server.push_fault(Fault.hang_stream(after=2))
    stream = adapter.stream(target, chat("one two three four"))
    await anext(stream)
    await stream.aclose()
    assert await asyncio.to_thread(server.wait_for, lambda: server.disconnects == 1, 2.0)


async def test_embeddings_or_a_clear_400(env: Any) -> None:
    k, server, adapter, target = env
    request = {"model": "embed-x", "input": ["first text", "second text"]}
    if not can(k.name, "embed"):  # the declaration and the adapter agree
        with pytest.raises(UpstreamError) as err:
            await adapter.embed(target, request)
        assert err.value.kind == ErrorKind.INVALID_REQUEST and err.value.param == "model"
        return
    result = await adapter.embed(target, {**request, "dimensions": 8})
    assert [d["index"] for d in result["data"]] == [0, 1]
    assert all(len(d["embedding"]) == 8 for d in result["data"])
    assert result["data"][0]["embedding"] != result["data"][1]["embedding"]
    assert result["usage"]["prompt_tokens"] > 0
