"""Hostile input to the chat route: clear 4xx in OpenAI shape, and the gateway keeps serving others."""
from __future__ import annotations

import base64
import socket
import time

import httpx
import orjson
import pytest

from tests.harness.gateway import Gateway

SMALL, MEDIA = 64 * 1024, 512 * 1024


@pytest.fixture(scope="module")
def small_gateway(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    gw = Gateway(workdir=tmp_path_factory.mktemp("hostile"),
                 env={"TOKENYARD_MAX_BODY_BYTES": str(SMALL), "TOKENYARD_MAX_MEDIA_BODY_BYTES": str(MEDIA)})
    gw.start()
    yield gw
    gw.stop()


def _post(gw: Gateway, content: bytes) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", content=content, timeout=30,
                      headers={"authorization": f"Bearer {gw.admin_key}", "content-type": "application/json"})


def _chat(text: str, **extra: object) -> bytes:
    return orjson.dumps({"model": "local/echo", "messages": [{"role": "user", "content": text}], **extra})


def _still_serving(gw: Gateway) -> None:
    r = _post(gw, _chat("still here"))
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "still here"


def test_oversized_text_body_is_413(small_gateway: Gateway) -> None:
    r = _post(small_gateway, _chat("x" * (SMALL + 10)))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    _still_serving(small_gateway)


def test_media_bodies_get_the_larger_cap(small_gateway: Gateway) -> None:
    image = "data:image/png;base64," + base64.b64encode(b"\0" * (SMALL * 2)).decode()
    body = orjson.dumps({"model": "local/echo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": image}}]}]})
    assert SMALL < len(body) < MEDIA
    assert _post(small_gateway, body).status_code == 200
    huge = "data:image/png;base64," + base64.b64encode(b"\0" * MEDIA).decode()
    body = orjson.dumps({"model": "local/echo", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": huge}}]}]})
    assert _post(small_gateway, body).status_code == 413


@pytest.mark.parametrize("body", [
    b"[" * 30_000 + b"]" * 30_000,
    b'{"model": "local/echo", "messages": [{"role": "user", "content": "x"}], "deep": ' + b"[" * 3000
    + b"]" * 3000 + b"}",
    b'{"model": "local/echo", "messages": [{"role": "user", "content": "\\ud800"}]}',
    b'{"model": "local/echo", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
    b'{"model": "local/echo", "messages": [{"role": "user", "content": "x"}]} trailing',
    b"",
])
def test_malformed_bodies_are_400(small_gateway: Gateway, body: bytes) -> None:
    r = _post(small_gateway, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "Traceback" not in r.text


def test_huge_messages_array_is_answered_or_refused_cleanly(small_gateway: Gateway) -> None:
    body = orjson.dumps({"model": "local/echo", "messages": [{"role": "user", "content": "x"}] * 2000})
    assert len(body) < SMALL
    assert _post(small_gateway, body).status_code == 200
    _still_serving(small_gateway)


def test_slow_body_does_not_block_other_clients(small_gateway: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", small_gateway.http_port)) as slow:
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\nAuthorization: Bearer " + small_gateway.admin_key.encode()
                     + b"\r\n\r\n{\"model\":")
        start = time.monotonic()
        _still_serving(small_gateway)
        assert time.monotonic() - start < 5
