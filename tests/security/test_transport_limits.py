"""Limits of the transports (issue 16): gRPC has HTTP's size caps, deep JSON is a 400, slow clients are cut off,
and the media allowance is for real media parts on inference routes only."""
from __future__ import annotations

import base64
import io
import json
import os
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import httpx
import orjson
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.fakes import FakeAnthropic, FakeGemini, FakeOpenAI
from tests.fakes.server import FakeServer
from tests.fakes.faults import Fault
from tests.harness.gateway import Gateway
from tokenyard.inference.v1 import chat_pb2
from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.inference.v1 import inference_service_pb2_grpc as pb_grpc

MiB = 1024 * 1024
HEADER_TIMEOUT, BODY_TIMEOUT, KEEP_ALIVE = 2, 3, 2


@dataclass
class Env:
    gw: Gateway
    fake: FakeOpenAI
    translating: list[FakeServer]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """A gateway with the default body caps (4 MiB, 32 MiB with media) and short connection deadlines; an
    OpenAI fake (t/slow) and two translating providers (t/claude, t/gemini)."""
    fake, ant, gem = FakeOpenAI().start(), FakeAnthropic().start(), FakeGemini().start()
    config = {"providers": {"p-slow": {"kind": "openai", "base_url": fake.base_url},
                            "p-ant": {"kind": "anthropic", "base_url": ant.url, "max_retries": 0},
                            "p-gem": {"kind": "gemini", "base_url": gem.url, "max_retries": 0}},
              "models": [{"id": "t/slow", "type": "chat", "provider": "p-slow", "upstream_model": "gpt-4o-mini"},
                         {"id": "t/claude", "type": "chat", "provider": "p-ant", "upstream_model": "claude-x"},
                         {"id": "t/gemini", "type": "chat", "provider": "p-gem", "upstream_model": "gemini-x"}]}
    gw = Gateway(workdir=tmp_path_factory.mktemp("transport"), config=config, env={
        "TOKENYARD_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "TOKENYARD_HTTP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "TOKENYARD_HTTP_KEEP_ALIVE_SECONDS": str(KEEP_ALIVE)})
    try:
        gw.start()
        yield Env(gw, fake, [ant, gem])
    finally:
        gw.stop()
        for server in (fake, ant, gem):
            server.stop()


def post(gw: Gateway, path: str, body: bytes) -> httpx.Response:
    """One request on a fresh connection (the short keep-alive must not race a pooled one)."""
    return httpx.post(f"{gw.url}{path}", content=body, timeout=60, headers={
        "authorization": f"Bearer {gw.admin_key}", "content-type": "application/json"})


def still_serving(gw: Gateway) -> None:
    r = post(gw, "/v1/chat/completions", orjson.dumps(
        {"model": "local/echo", "messages": [{"role": "user", "content": "still here"}]}))
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "still here"


def rss_kib(gw: Gateway) -> int:
    for line in open(f"/proc/{gw.procs['gateway'].pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# ---- gRPC has the same limits as HTTP -------------------------------------------------------------------

def grpc_chat(gw: Gateway, *parts: chat_pb2.ContentPart, timeout: float = 20) -> tuple[pb.ChatResponse, float]:
    """One InferenceService/Chat call with these content parts: (answer, seconds the call took)."""
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    request = pb.ChatRequest(request=chat_pb2.ChatCompletionRequest(
        model="local/echo", messages=[chat_pb2.ChatMessage(role="user", content=list(parts))]))
    raw = request.SerializeToString()
    with grpc.insecure_channel(gw.grpc_addr, options=options) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        call = ch.unary_unary("/tokenyard.inference.v1.InferenceService/Chat",
                              request_serializer=lambda r: r, response_deserializer=pb.ChatResponse.FromString)
        start = time.monotonic()
        try:
            answer = call(raw, metadata=(("authorization", f"Bearer {gw.admin_key}"),), timeout=timeout)
        except grpc.RpcError as exc:
            exc.seconds = time.monotonic() - start  # type: ignore[attr-defined]
            raise
        return answer, time.monotonic() - start


def text(n: int) -> chat_pb2.ContentPart:
    return chat_pb2.ContentPart(text="x" * n)


def reason(exc: grpc.RpcError) -> str:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def test_grpc_message_above_the_cap_is_refused_at_once(env: Env) -> None:
    before = rss_kib(env.gw)
    with pytest.raises(grpc.RpcError) as caught:
        grpc_chat(env.gw, text(60_000_000), timeout=10)
    assert caught.value.seconds < 1.0  # type: ignore[attr-defined]
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (caught.value.details() or "")
    assert rss_kib(env.gw) - before < 32 * 1024, "the gateway's memory did not balloon"
    still_serving(env.gw)


def test_grpc_text_beyond_the_body_cap_is_payload_too_large(env: Env) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        grpc_chat(env.gw, text(5 * MiB), timeout=10)
    assert caught.value.seconds < 1.0  # type: ignore[attr-defined]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(caught.value) == "PAYLOAD_TOO_LARGE"
    still_serving(env.gw)


def test_grpc_messages_under_the_caps_still_work(env: Env) -> None:
    answer, _ = grpc_chat(env.gw, text(1000))
    assert answer.completion.choices[0].message.content[0].text == "x" * 1000
    image = chat_pb2.ContentPart(image_url=chat_pb2.ImageUrl(url=png_data_uri(6 * MiB)))
    answer, _ = grpc_chat(env.gw, chat_pb2.ContentPart(text="look"), image)
    assert answer.completion.choices[0].message.content[0].text == "look"


# ---- a body nested 300 levels deep is a 400 -------------------------------------------------------------

def deep(levels: int) -> dict:
    node: dict = {"type": "object"}
    for _ in range(levels):
        node = {"properties": {"a": node}}
    return node


DEEP = deep(150)  # 300 levels
HI = [{"role": "user", "content": "hi"}]
DEEP_BODIES = [
    ("/v1/chat/completions", {"model": "local/echo", "messages": HI, "response_format": {
        "type": "json_schema", "json_schema": {"name": "x", "schema": DEEP}}}, "response_format"),
    ("/v1/chat/completions", {"model": "local/echo", "messages": HI, "tools": [
        {"type": "function", "function": {"name": "f", "parameters": DEEP}}]}, "tools"),
    ("/v1/chat/completions", {"model": "local/echo", "messages": HI, "metadata": DEEP}, "metadata"),
    ("/v1/chat/completions", {"model": "local/echo", "messages": HI, "stream": True, "tools": [
        {"type": "function", "function": {"name": "f", "parameters": DEEP}}]}, "tools"),
    ("/v1/{app}/chat/completions", {"messages": HI, "metadata": DEEP}, "metadata"),
    ("/v1/embeddings", {"model": "local/all-minilm-l6-v2", "input": "hi", "extra": DEEP}, "extra"),
    ("/v1/videos", {"model": "local/test-pattern", "prompt": "p", "metadata": DEEP}, "metadata"),
    ("/v1/apps", {"name": "deep", "extra": DEEP}, "extra"),
    ("/v1/keys", {"name": "deep", "metadata": DEEP}, "metadata"),
    ("/api/chat", {"model": "local/echo", "messages": HI, "tools": [
        {"type": "function", "function": {"name": "f", "parameters": DEEP}}]}, "tools"),
    ("/api/chat", {"model": "local/echo", "messages": HI, "metadata": DEEP}, "metadata"),
    ("/api/tools", {"name": "f", "url": "https://example.com/hook", "parameters": DEEP}, "parameters"),
]


@pytest.mark.parametrize(("path", "body", "param"), DEEP_BODIES)
def test_deep_json_bodies_are_400_naming_the_parameter(env: Env, path: str, body: dict, param: str) -> None:
    if "{app}" in path:
        path = path.format(app=post(env.gw, "/v1/apps", b'{"name": "deep-app"}').json()["id"])
    r = post(env.gw, path, json.dumps(body).encode())  # orjson refuses to write 300 levels
    assert r.status_code == 400, (path, r.status_code, r.text[:300])
    if path.startswith("/api/"):
        assert r.json()["code"] == "INVALID_REQUEST" and r.json()["details"]["param"] == param
    else:
        assert r.json()["error"]["type"] == "invalid_request_error" and r.json()["error"]["param"] == param
    assert "nested more than 64 levels" in r.text


DEEP_JSON_FIELDS = [  # (proto field carrying JSON, its value, the parameter the error names)
    ("response_format_json", {"type": "json_schema", "json_schema": {"name": "x", "schema": DEEP}},
     "response_format"),
    ("extra", {"metadata": DEEP}, "metadata"),
    ("other_json", {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav", "x": DEEP}},
     "messages[0].content[1]"),
]


@pytest.mark.parametrize(("field", "value", "param"), DEEP_JSON_FIELDS)
def test_deep_json_strings_over_grpc_are_invalid_argument(env: Env, field: str, value: dict, param: str) -> None:
    message = chat_pb2.ChatMessage(role="user", content=[chat_pb2.ContentPart(text="hi")])
    request = chat_pb2.ChatCompletionRequest(model="local/echo", messages=[message])
    if field == "other_json":
        message.content.add(other_json=json.dumps(value).encode())
        request.messages[0].CopyFrom(message)
    elif field == "extra":  # unknown fields travel one by one, each as its raw JSON
        for key, item in value.items():
            request.extra[key] = json.dumps(item).encode()
    else:
        setattr(request, field, json.dumps(value).encode())
    with grpc.insecure_channel(env.gw.grpc_addr) as ch:
        with pytest.raises(grpc.RpcError) as caught:
            pb_grpc.InferenceServiceStub(ch).Chat(pb.ChatRequest(request=request), timeout=20,
                                                  metadata=(("authorization", f"Bearer {env.gw.admin_key}"),))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert f"'{param}' is nested more than 64 levels" in (caught.value.details() or "")


@pytest.mark.parametrize("model", ["t/claude", "t/gemini"])
def test_deep_tool_arguments_to_a_translating_provider_are_400(env: Env, model: str) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": json.dumps(DEEP)}}
    r = post(env.gw, "/v1/chat/completions", orjson.dumps({"model": model, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(DEEP)}]}))
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"]["param"] == "messages[1].tool_calls[0].function.arguments"
    assert all(not upstream.requests for upstream in env.translating), "nothing too deep reaches the provider"


def test_deep_tool_parameters_over_grpc_are_invalid_argument(env: Env) -> None:
    request = chat_pb2.ChatCompletionRequest(model="local/echo", messages=[chat_pb2.ChatMessage(
        role="user", content_is_text=True, content=[chat_pb2.ContentPart(text="hi")])])
    request.tools.add(type="function", name="f", parameters_json=json.dumps(DEEP).encode())
    with grpc.insecure_channel(env.gw.grpc_addr) as ch:
        calls = pb_grpc.InferenceServiceStub(ch)
        md = (("authorization", f"Bearer {env.gw.admin_key}"),)
        for call in (lambda: calls.Chat(pb.ChatRequest(request=request), metadata=md, timeout=20),
                     lambda: list(calls.StreamChat(pb.StreamChatRequest(request=request), metadata=md,
                                                   timeout=20))):
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "tools[0].function.parameters" in (caught.value.details() or "")


# ---- slow or idle clients are cut off -------------------------------------------------------------------

def closed_within(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closes `sock` (reading whatever it sent first), at most `limit`."""
    sock.settimeout(limit)
    start, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except socket.timeout:
        pytest.fail(f"connection still open after {limit} s (got {data[:80]!r})")
    return time.monotonic() - start, data


@pytest.mark.parametrize("sent", [b"", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Ty"])
def test_a_connection_without_complete_headers_is_closed(env: Env, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", env.gw.http_port)) as sock:
        sock.sendall(sent)
        waited, _ = closed_within(sock, HEADER_TIMEOUT + 3)
    assert HEADER_TIMEOUT - 0.5 < waited < HEADER_TIMEOUT + 2
    still_serving(env.gw)


def test_a_trickled_body_is_cut_off_with_408(env: Env) -> None:
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {env.gw.admin_key}\r\nContent-Length: 1000\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", env.gw.http_port)) as sock:
        sock.sendall(head + b'{"model": "local/echo", ')
        start = time.monotonic()
        for _ in range(int(BODY_TIMEOUT / 0.5) + 4):  # one byte every half second: never idle, never done
            if select.select([sock], [], [], 0.5)[0]:  # the server answered (or closed): stop sending
                break
            sock.sendall(b" ")
        _, data = closed_within(sock, 5)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert time.monotonic() - start < BODY_TIMEOUT + 2
    still_serving(env.gw)


def test_an_idle_keep_alive_connection_is_closed(env: Env) -> None:
    with socket.create_connection(("127.0.0.1", env.gw.http_port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        waited, _ = closed_within(sock, KEEP_ALIVE + 3)
    assert waited < KEEP_ALIVE + 2


def test_slow_answers_and_slow_streams_are_not_cut(env: Env) -> None:
    words = " ".join(f"w{i}" for i in range(12))
    env.fake.script_reply(words)
    env.fake.push_fault(Fault.slow_stream(0.5))  # about 6 s of stream: longer than every deadline
    start = time.monotonic()
    got = ""
    with httpx.stream("POST", f"{env.gw.url}/v1/chat/completions", timeout=60, headers={
            "authorization": f"Bearer {env.gw.admin_key}"},
            json={"model": "t/slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: {"):
                for choice in orjson.loads(line[6:])["choices"]:
                    got += choice["delta"].get("content") or ""
    assert got == words and time.monotonic() - start > BODY_TIMEOUT + HEADER_TIMEOUT
    env.fake.script_reply("late but whole")
    env.fake.push_fault(Fault.delay(BODY_TIMEOUT + 1))
    r = post(env.gw, "/v1/chat/completions", orjson.dumps(
        {"model": "t/slow", "messages": [{"role": "user", "content": "hi"}]}))
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "late but whole"


# ---- the media allowance: inference routes, real media parts only ---------------------------------------

def png_data_uri(size: int) -> str:
    """A real PNG (incompressible noise) of about `size` bytes, as a data URI."""
    from PIL import Image

    side = int((size / 3) ** 0.5)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG", compress_level=0)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


SMUGGLED = "data:image/png;base64," + "A" * (5 * 1000 * 1000)  # a data URI where no media part is


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/chat/completions", {"model": "local/echo", "messages": [{"role": "user", "content": SMUGGLED}]}),
    ("/v1/chat/completions", {"model": "local/echo", "messages": HI, "metadata": {"x": SMUGGLED}}),
    ("/v1/chat/completions", {"model": "local/echo", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "note": SMUGGLED}}]}]}),
    ("/api/chat", {"model": "local/echo", "messages": [{"role": "user", "content": SMUGGLED}]}),
    ("/v1/embeddings", {"model": "local/all-minilm-l6-v2", "input": SMUGGLED}),
    ("/v1/apps", {"name": SMUGGLED}),
    ("/v1/keys", {"name": SMUGGLED}),
    ("/api/tools", {"name": "f", "url": "https://example.com/hook", "description": SMUGGLED}),
])
def test_base64_outside_media_parts_keeps_the_plain_cap(env: Env, path: str, body: dict) -> None:
    r = post(env.gw, path, orjson.dumps(body))
    assert r.status_code == 413, (path, r.status_code, r.text[:300])
    if path.startswith("/api/"):
        assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    else:
        assert r.json()["error"]["code"] == "payload_too_large"


def test_real_media_parts_of_that_size_are_accepted(env: Env) -> None:
    image = {"type": "image_url", "image_url": {"url": png_data_uri(5 * 1000 * 1000)}}
    body = orjson.dumps({"model": "local/echo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"}, image]}]})
    assert len(body) > 5 * 1000 * 1000
    r = post(env.gw, "/v1/chat/completions", body)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["choices"][0]["message"]["content"] == "look"
    r = post(env.gw, "/api/chat", body)
    assert r.status_code == 200 and '"finish"' in r.text, r.text[:300]
    mixed = orjson.dumps({"model": "local/echo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": SMUGGLED}, image]}]})  # media and too much text: the text still counts
    assert post(env.gw, "/v1/chat/completions", mixed).status_code == 413
