"""Tests for the fake upstream servers in tests.fakes (wire formats, scripting, faults, health)."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import httpx
import openai
import pytest

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeServer, Fault, fake_embedding

ROOT = Path(__file__).resolve().parents[3]
USER = [{"role": "user", "content": "hello there world"}]
ANTHROPIC_HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


def parse_sse(raw: str) -> list[tuple[str | None, str]]:
    """Split an SSE body into (event, data) pairs."""
    out = []
    for block in filter(str.strip, raw.split("\n\n")):
        lines = block.split("\n")
        event = next((ln[7:] for ln in lines if ln.startswith("event: ")), None)
        out.append((event, "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))))
    return out


@pytest.fixture(scope="module")
def oai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(video_polls=2) as server:
        yield server


@pytest.fixture(scope="module")
def ant() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(require_api_key="sk-ant-test") as server:
        yield server


@pytest.fixture(scope="module")
def gem() -> Iterator[FakeGemini]:
    with FakeGemini(require_api_key="gk-test") as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    for name in ("oai", "ant", "gem"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()


def request_args(server: FakeServer, stream: bool = False, **extra: Any) -> dict[str, Any]:
    """URL, JSON body and headers for a chat-style call on any of the three fakes."""
    if isinstance(server, FakeOpenAI):
        body = {"model": "gpt-4o-mini", "messages": USER, **({"stream": True} if stream else {}), **extra}
        return {"url": f"{server.url}/v1/chat/completions", "json": body}
    if isinstance(server, FakeAnthropic):
        body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": USER,
                **({"stream": True} if stream else {}), **extra}
        return {"url": f"{server.url}/v1/messages", "json": body, "headers": ANTHROPIC_HEADERS}
    action = "streamGenerateContent?alt=sse" if stream else "generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello there world"}]}], **extra}
    return {"url": f"{server.url}/v1beta/models/gemini-2.5-flash:{action}", "json": body,
            "headers": {"x-goog-api-key": "gk-test"}}


def call(server: FakeServer, stream: bool = False, **extra: Any) -> httpx.Response:
    return httpx.post(**request_args(server, stream, **extra))


# ----- OpenAI -----------------------------------------------------------------------------
def test_openai_plain_chat(oai: FakeOpenAI) -> None:
    data = call(oai).json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert isinstance(data["created"], int) and data["system_fingerprint"].startswith("fp_")
    choice = data["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "echo: hello there world", "refusal": None,
                                 "annotations": []}
    assert choice["finish_reason"] == "stop"
    usage = data["usage"]
    assert usage["prompt_tokens"] == 3 and usage["completion_tokens"] == 4 and usage["total_tokens"] == 7
    assert oai.last_body["messages"] == USER
    assert oai.last_request is not None and oai.last_request.headers["content-type"] == "application/json"


def test_openai_stream_include_usage(oai: FakeOpenAI) -> None:
    resp = call(oai, True, stream_options={"include_usage": True})
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [d for _, d in parse_sse(resp.text)]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(d) for d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "echo: hello there world"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["usage"] is None
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 7


def test_openai_stream_without_usage_and_max_tokens(oai: FakeOpenAI) -> None:
    chunks = [json.loads(d) for _, d in parse_sse(call(oai, True, max_tokens=2).text)[:-1]]
    assert all("usage" not in c and c["choices"] for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "echo: hello"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_openai_tool_call_stream_reassembles(oai: FakeOpenAI) -> None:
    args = '{"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}'
    oai.script_reply(tool_calls=[{"id": "call_abc", "name": "get_weather", "arguments": args},
                                 {"name": "get_time", "arguments": {"tz": "CET"}}])
    chunks = [json.loads(d) for _, d in parse_sse(call(oai, True).text)[:-1]]
    calls: dict[int, dict[str, str]] = {}
    pieces = 0
    for c in chunks:
        for tc in c["choices"][0]["delta"].get("tool_calls") or []:
            entry = calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += tc.get("id", "")
            entry["name"] += tc.get("function", {}).get("name", "")
            entry["arguments"] += tc.get("function", {}).get("arguments", "")
            pieces += tc["index"] == 0 and bool(tc["function"].get("arguments"))
    assert calls[0] == {"id": "call_abc", "name": "get_weather", "arguments": args}
    assert calls[1]["name"] == "get_time" and json.loads(calls[1]["arguments"]) == {"tz": "CET"}
    assert calls[1]["id"].startswith("call_") and pieces >= 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    # script queue is FIFO and falls back to the echo default
    oai.script_reply(text="first")
    oai.script_reply(text="second", usage={"prompt_tokens": 11, "completion_tokens": 22})
    assert call(oai).json()["choices"][0]["message"]["content"] == "first"
    second = call(oai).json()
    assert second["choices"][0]["message"]["content"] == "second" and second["usage"]["total_tokens"] == 33
    assert call(oai).json()["choices"][0]["message"]["content"].startswith("echo:")


def test_openai_embeddings(oai: FakeOpenAI) -> None:
    url = f"{oai.url}/v1/embeddings"
    data = httpx.post(url, json={"model": "text-embedding-3-small", "input": ["a b", "c"]}).json()
    assert data["object"] == "list" and [d["index"] for d in data["data"]] == [0, 1]
    assert len(data["data"][0]["embedding"]) == 1536
    assert data["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert data["data"][0]["embedding"] == fake_embedding("a b", 1536)
    small = httpx.post(url, json={"model": "m", "input": "a b", "dimensions": 8, "encoding_format": "base64"})
    floats = struct.unpack("<8f", base64.b64decode(small.json()["data"][0]["embedding"]))
    assert floats == pytest.approx(fake_embedding("a b", 8), abs=1e-6)


def test_openai_models_and_api_key() -> None:
    with FakeOpenAI(require_api_key="sk-good") as server:
        bad = httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer sk-bad"})
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "invalid_api_key" and bad.json()["error"]["param"] is None
        ok = httpx.get(f"{server.url}/v1/models", headers={"authorization": "Bearer sk-good"}).json()
        assert ok["object"] == "list" and ok["data"][0]["object"] == "model"


def test_openai_videos(oai: FakeOpenAI) -> None:
    job = httpx.post(f"{oai.url}/v1/videos", json={"prompt": "a cat", "seconds": "8"}).json()
    assert job["object"] == "video" and job["status"] == "queued" and job["seconds"] == "8"
    not_ready = httpx.get(f"{oai.url}/v1/videos/{job['id']}/content")
    assert not_ready.status_code == 400 and "error" in not_ready.json()
    first = httpx.get(f"{oai.url}/v1/videos/{job['id']}").json()
    assert first["status"] == "in_progress" and 0 < first["progress"] < 100
    done = httpx.get(f"{oai.url}/v1/videos/{job['id']}").json()
    assert done["status"] == "completed" and done["progress"] == 100 and done["completed_at"]
    content = httpx.get(f"{oai.url}/v1/videos/{job['id']}/content")
    assert content.headers["content-type"] == "video/mp4" and content.content == oai.video_content
    assert httpx.get(f"{oai.url}/v1/videos/video_nope").status_code == 404


def test_openai_sdk_compat(oai: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=oai.base_url, api_key="sk-test", max_retries=0)
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=USER)  # type: ignore[arg-type]
    assert plain.choices[0].message.content == "echo: hello there world" and plain.usage.total_tokens == 7
    oai.script_reply(text="calling", tool_calls=[{"name": "lookup", "arguments": '{"q": "x y"}'}])
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True,  # type: ignore
                                            stream_options={"include_usage": True})
    text, args, usage = "", "", None
    for chunk in stream:
        usage = chunk.usage or usage
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            args += "".join(tc.function.arguments or "" for tc in chunk.choices[0].delta.tool_calls or [])
    assert text == "calling" and args == '{"q": "x y"}' and usage is not None
    assert oai.requests[-1].headers["authorization"] == "Bearer sk-test"
    with warnings.catch_warnings():  # the SDK marks the videos API deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        video = client.videos.create(prompt="a dog", seconds="4")
    assert video.status == "queued" and oai.last_request.form()["prompt"] == "a dog"


# ----- Anthropic --------------------------------------------------------------------------
def test_anthropic_plain_records_translation(ant: FakeAnthropic) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [image, {"type": "text", "text": "what is this"}]}]
    data = call(ant, system="be brief", messages=messages).json()
    assert data["type"] == "message" and data["id"].startswith("msg_") and data["role"] == "assistant"
    assert data["content"] == [{"type": "text", "text": "echo: what is this"}]
    assert data["stop_reason"] == "end_turn" and data["stop_sequence"] is None
    assert data["usage"]["input_tokens"] == 5 and data["usage"]["output_tokens"] == 4
    assert ant.last_body["system"] == "be brief" and ant.last_body["messages"][0]["content"][0] == image
    ant.script_reply(tool_calls=[{"name": "f", "arguments": '{"a": 1}'}])
    tool = call(ant).json()
    assert tool["stop_reason"] == "tool_use" and tool["content"][0]["input"] == {"a": 1}
    assert tool["content"][0]["id"].startswith("toolu_")


def test_anthropic_stream_events(ant: FakeAnthropic) -> None:
    args = '{"location": "San Francisco, CA", "unit": "fahrenheit"}'
    ant.script_reply(text="Let me check.", tool_calls=[{"name": "get_weather", "arguments": args}])
    events = parse_sse(call(ant, True).text)
    names = [e for e, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "ping" in names and names.count("content_block_start") == names.count("content_block_stop") == 2
    payloads = [json.loads(d) for _, d in events]
    assert all(p["type"] == e for (e, _), p in zip(events, payloads))
    text = "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta"
                   and p["delta"]["type"] == "text_delta")
    partial = [p["delta"]["partial_json"] for p in payloads if p["type"] == "content_block_delta"
               and p["delta"]["type"] == "input_json_delta"]
    assert text == "Let me check." and "".join(partial) == args and len(partial) >= 3
    tool_start = [p for p in payloads if p["type"] == "content_block_start"][1]
    assert tool_start["index"] == 1 and tool_start["content_block"]["input"] == {}
    delta = payloads[-2]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 0


def test_anthropic_auth_validation_and_presets(ant: FakeAnthropic) -> None:
    url, body = f"{ant.url}/v1/messages", {"model": "c", "max_tokens": 5, "messages": USER}
    no_key = httpx.post(url, json=body, headers={"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    no_version = httpx.post(url, json=body, headers={"x-api-key": "sk-ant-test"})
    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]
    no_max = httpx.post(url, json={"model": "c", "messages": USER}, headers=ANTHROPIC_HEADERS)
    assert no_max.status_code == 400 and no_max.json()["error"]["message"] == "max_tokens: Field required"
    ant.push_fault(FakeAnthropic.context_too_long())
    ant.push_fault(FakeAnthropic.overloaded())
    too_long = call(ant)
    assert too_long.status_code == 400 and too_long.json()["type"] == "error"
    assert too_long.json()["error"] == {"type": "invalid_request_error",
                                        "message": "prompt is too long: 250000 tokens > 200000 maximum"}
    over = call(ant)
    assert over.status_code == 529 and over.json()["error"]["type"] == "overloaded_error"


# ----- Gemini -----------------------------------------------------------------------------
def test_gemini_generate_and_function_calls(gem: FakeGemini) -> None:
    data = call(gem).json()
    cand = data["candidates"][0]
    assert cand["content"] == {"parts": [{"text": "echo: hello there world"}], "role": "model"}
    assert cand["finishReason"] == "STOP" and data["modelVersion"] == "gemini-2.5-flash"
    assert data["usageMetadata"]["promptTokenCount"] == 3 and data["usageMetadata"]["totalTokenCount"] == 7
    gem.script_reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    parts = call(gem).json()["candidates"][0]["content"]["parts"]
    assert parts == [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]
    capped = call(gem, generationConfig={"maxOutputTokens": 1}).json()
    assert capped["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_gemini_stream_sse(gem: FakeGemini) -> None:
    gem.script_reply(text="one two", tool_calls=[{"name": "f", "arguments": '{"x": [1, 2]}'}])
    resp = call(gem, True)
    events = [json.loads(d) for _, d in parse_sse(resp.text)]
    assert "[DONE]" not in resp.text and len(events) == 3
    cands = [e["candidates"][0] for e in events]
    assert "".join(p.get("text", "") for c in cands for p in c["content"]["parts"]) == "one two"
    assert cands[-1]["content"]["parts"] == [{"functionCall": {"name": "f", "args": {"x": [1, 2]}}}]
    assert cands[-1]["finishReason"] == "STOP" and "finishReason" not in cands[0]
    last = events[-1]
    assert last["usageMetadata"]["candidatesTokenCount"] > 0 and len({e["responseId"] for e in events}) == 1


def test_gemini_keys_embeddings_errors(gem: FakeGemini) -> None:
    base = f"{gem.url}/v1beta/models"
    body = {"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 16}
    via_query = httpx.post(f"{base}/text-embedding-004:embedContent?key=gk-test", json=body).json()
    assert via_query["embedding"]["values"] == fake_embedding("hi", 16)
    bad = httpx.post(f"{base}/text-embedding-004:embedContent?key=nope", json=body)
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    batch = {"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": t}]}}
                          for t in ("a", "b")]}
    out = httpx.post(f"{base}/text-embedding-004:batchEmbedContents", json=batch,
                     headers={"x-goog-api-key": "gk-test"}).json()
    assert [len(e["values"]) for e in out["embeddings"]] == [768, 768]
    gem.push_fault(Fault.status(429, retry_after=3))
    limited = call(gem)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


# ----- faults -----------------------------------------------------------------------------
def test_status_faults_fifo_times_and_path(oai: FakeOpenAI) -> None:
    oai.push_fault(Fault.status(429, retry_after=2, path="/v1/embeddings"))
    oai.push_fault(Fault.status(500), times=2)
    oai.push_fault(Fault.status(503, message="down", body={"custom": True}))
    assert [call(oai).status_code for _ in range(2)] == [500, 500]
    third = call(oai)
    assert third.status_code == 503 and third.json() == {"custom": True}
    assert call(oai).status_code == 200 and oai.pending_faults == 1
    emb = httpx.post(f"{oai.url}/v1/embeddings", json={"model": "m", "input": "x"})
    assert emb.status_code == 429 and emb.headers["retry-after"] == "2"
    assert emb.json()["error"]["code"] == "rate_limit_exceeded" and oai.pending_faults == 0
    assert len(oai.requests_for("/v1/chat/completions")) == 4


@pytest.mark.parametrize("name", ["oai", "ant", "gem"])
def test_reset_raises_transport_error(name: str, request: pytest.FixtureRequest) -> None:
    server: FakeServer = request.getfixturevalue(name)
    server.push_fault(Fault.reset())
    with pytest.raises(httpx.TransportError):
        call(server)
    assert call(server).status_code == 200


@pytest.mark.parametrize(("name", "terminator"), [("oai", "[DONE]"), ("ant", "message_stop"),
                                                  ("gem", "finishReason")])
def test_cut_stream(name: str, terminator: str, request: pytest.FixtureRequest) -> None:
    server: FakeServer = request.getfixturevalue(name)
    server.push_fault(Fault.cut_stream(after=2))
    partial = ""
    with httpx.Client() as client, client.stream("POST", **request_args(server, True)) as resp:
        with pytest.raises(httpx.RemoteProtocolError):
            for part in resp.iter_text():
                partial += part
    assert terminator not in partial and len(parse_sse(partial)) == 2
    assert terminator in call(server, True).text


def test_delay_triggers_read_timeout_and_disconnect(oai: FakeOpenAI) -> None:
    oai.push_fault(Fault.delay(2.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{oai.url}/v1/chat/completions", json={"model": "m", "messages": USER},
                   timeout=httpx.Timeout(5.0, read=0.2))
    assert oai.wait_for(lambda: oai.disconnects == 1)
    oai.push_fault(Fault.delay(0.2))
    start = time.monotonic()
    assert call(oai).status_code == 200 and time.monotonic() - start >= 0.2


def test_slow_hang_and_stream_error(oai: FakeOpenAI, ant: FakeAnthropic) -> None:
    oai.push_fault(Fault.slow_stream(0.05))
    start = time.monotonic()
    chunks = parse_sse(call(oai, True).text)
    assert chunks[-1][1] == "[DONE]" and time.monotonic() - start >= 0.05 * (len(chunks) - 1)
    oai.push_fault(Fault.hang_stream())
    with httpx.Client() as client:
        with client.stream("POST", **request_args(oai, True)) as resp:
            first = next(resp.iter_bytes())
            assert first.startswith(b"data: {")
    assert oai.wait_for(lambda: oai.disconnects == 1)
    ant.push_fault(Fault.stream_error(after=1, status_code=529))
    events = parse_sse(call(ant, True).text)
    assert [e for e, _ in events] == ["message_start", "error"]
    assert json.loads(events[1][1])["error"]["type"] == "overloaded_error"


def test_healthy_after_and_restart_keeps_port() -> None:
    with FakeOpenAI() as server:
        server.set_healthy_after(3.0)
        down = httpx.get(f"{server.url}/health")
        assert down.status_code == 503 and down.json()["error"]["type"] == "server_error"
        assert httpx.get(f"{server.url}/v1/models").status_code == 503
        assert server.wait_for(lambda: httpx.get(f"{server.url}/v1/models").status_code == 200, timeout=8)
        assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
        url = server.url
        server.stop()
        pytest.raises(httpx.ConnectError, httpx.get, f"{url}/health")
        assert server.start().url == url and httpx.get(f"{url}/health").status_code == 200


@pytest.mark.asyncio
async def test_usable_from_async_tests(gem: FakeGemini) -> None:
    async with httpx.AsyncClient(base_url=gem.url, headers={"x-goog-api-key": "gk-test"}) as client:
        resp = await client.get("/v1beta/models")
        assert resp.json()["models"][0]["name"].startswith("models/")
        missing = await client.post("/v1beta/models/x:generateContent", json={"contents": []})
        assert missing.status_code == 400 and missing.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_cli_runs_fake_in_foreground() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes", "anthropic", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/v1/models").json()["data"][0]["type"] == "model"
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()  # type: ignore[union-attr]
