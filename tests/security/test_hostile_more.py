"""More hostile input: header injection through passthrough, path traversal in passthrough and video downloads,
giant or broken data: URIs, out-of-range integers. Each gets a clean 4xx and the gateway keeps serving others."""
from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest

from tests.fakes import FakeAnthropic, FakeOpenAI
from tests.harness.gateway import Gateway

SMALL, MEDIA = 64 * 1024, 256 * 1024
BYOK = "sk-byok-hostile"


@dataclass
class Env:
    gw: Gateway
    openai: FakeOpenAI
    anthropic: FakeAnthropic
    app: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    oai, ant = FakeOpenAI(), FakeAnthropic()
    oai.start()
    ant.start()
    config = {"providers": {"p-openai": {"kind": "openai", "base_url": oai.base_url},
                            "p-ant": {"kind": "anthropic", "base_url": ant.url, "api_key_env": "HOSTILE_ANT_KEY",
                                      "max_retries": 0}},
              "models": [{"id": "t/claude", "type": "chat", "provider": "p-ant", "upstream_model": "claude-x"}]}
    gw = Gateway(workdir=tmp_path_factory.mktemp("hostile2"), config=config,
                 env={"TOKENYARD_MAX_BODY_BYTES": str(SMALL), "TOKENYARD_MAX_MEDIA_BODY_BYTES": str(MEDIA),
                      "HOSTILE_ANT_KEY": "sk-ant-hostile"})
    try:
        gw.start()
        app = gw.http().post("/v1/apps", json={"name": "hostile"}).json()["id"]
        yield Env(gw, oai, ant, app)
    finally:
        gw.stop()
        oai.stop()
        ant.stop()


def raw(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes exactly as written (no client-side validation or normalisation); (status, whole response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(head.encode("latin-1") + body)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    return int(data.split(b" ", 2)[1]), data


def still_serving(gw: Gateway) -> None:
    r = gw.http().post("/v1/chat/completions", json={"model": "local/echo",
                                                     "messages": [{"role": "user", "content": "still here"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "still here"


INJECTIONS = ["X-Custom: a\rX-Injected: 1\r\n", "X-Custom: a\r\n X-Injected: 1\r\n",
              "X-Custom: a\x00X-Injected: 1\r\n", "X-Custom: a%0d%0aX-Injected: 1\r\n",
              "X-Custom: a\r\nContent-Length: 0\r\n"]


@pytest.mark.parametrize("header", INJECTIONS, ids=["bare-cr", "obs-fold", "nul", "encoded", "dup-length"])
def test_header_injection_never_reaches_the_upstream(env: Env, header: str) -> None:
    env.openai.reset()
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
    status, _ = raw(env.gw.http_port, f"POST /v1/admin/{env.app}/p-openai/chat/completions HTTP/1.1\r\n"
                    f"Host: x\r\nAuthorization: Bearer {BYOK}\r\nContent-Type: application/json\r\n{header}"
                    f"tokenyard-authorization: Bearer {env.gw.admin_key}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n", body)
    assert status in (200, 400), status
    assert len(env.openai.requests) <= 1, "one request in, at most one request out (no smuggling)"
    for rec in env.openai.requests:
        assert "x-injected" not in rec.headers, rec.headers
        assert all("\r" not in v and "\n" not in v and "\0" not in v for v in rec.headers.values())
        assert rec.body == body
    still_serving(env.gw)


def test_crlf_in_passthrough_query_is_forwarded_encoded(env: Env) -> None:
    env.openai.reset()
    r = httpx.get(f"{env.gw.url}/v1/admin/{env.app}/p-openai/models?x=%0d%0aX-Injected:%201&y=%0aHost:evil",
                  headers={"Authorization": f"Bearer {BYOK}",
                           "tokenyard-authorization": f"Bearer {env.gw.admin_key}"})
    assert r.status_code in (200, 400)
    for rec in env.openai.requests:
        assert "x-injected" not in rec.headers and rec.headers["host"].startswith("127.0.0.1")
    still_serving(env.gw)


VIDEO_TRAVERSALS = ["/v1/videos/..%2f..%2fetc%2fpasswd/content", "/v1/videos/..%2F..%2Fdata%2Ftokenyard.db/content",
                    "/v1/videos/%2e%2e/content", "/v1/videos/../../etc/passwd/content",
                    "/v1/videos/video_x%2f..%2f..%2f..%2fetc%2fpasswd/content",
                    "/v1/videos/%252e%252e%252fetc%252fpasswd/content", "/v1/videos/..%5c..%5cwin.ini/content",
                    "/v1/{app}/videos/..%2f..%2fetc%2fpasswd/content", "/v1/videos/%00/content",
                    "/v1/videos/video_1/content?variant=..%2f..%2fetc%2fpasswd"]


@pytest.mark.parametrize("target", VIDEO_TRAVERSALS)
def test_video_download_path_traversal_is_refused(env: Env, target: str) -> None:
    status, data = raw(env.gw.http_port, f"GET {target.format(app=env.app)} HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {env.gw.admin_key}\r\nConnection: close\r\n\r\n")
    assert status in (400, 404), (target, status, data[:300])
    for leak in (b"root:", b"SQLite format", b"Traceback", b"[fonts]"):
        assert leak not in data, (target, leak)
    still_serving(env.gw)


def _image_chat(url: str, model: str = "local/echo") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}]}]}


def test_giant_data_uris_are_413_on_every_chat_route(env: Env) -> None:
    giant = "data:image/png;base64," + base64.b64encode(b"\0" * MEDIA).decode()
    admin = env.gw.http()
    for path in ("/v1/chat/completions", f"/v1/{env.app}/chat/completions",
                 f"/v1/admin/{env.app}/compat/chat/completions", "/api/chat"):
        r = admin.post(path, content=orjson.dumps(_image_chat(giant)), headers={"content-type": "application/json"})
        assert r.status_code == 413, (path, r.status_code, r.text[:200])
        still_serving(env.gw)


@pytest.mark.parametrize("url", ["data:image/png;base64,@@@not-base64@@@" + "A" * 5000,
                                 "data:image/png," + "x" * 5000, "data:;base64" + "A" * 5000,
                                 "file:///etc/passwd", "data:image/png;base64," + "A" * 4999])
def test_broken_data_uris_to_a_translating_provider_are_400(env: Env, url: str) -> None:
    env.anthropic.reset()
    r = env.gw.http().post("/v1/chat/completions", json=_image_chat(url, "t/claude"))
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["error"]["param"].startswith("messages[0].content[1]")
    assert not env.anthropic.requests, "nothing malformed reaches the provider"
    still_serving(env.gw)


@pytest.mark.parametrize("field", ["max_tokens", "n", "seed", "max_completion_tokens", "top_logprobs"])
def test_out_of_range_integers_are_400_not_500(env: Env, field: str) -> None:
    r = env.gw.http().post("/v1/chat/completions", json={
        "model": "local/echo", "messages": [{"role": "user", "content": "x"}], field: -(2**70)})
    assert r.status_code == 400, (field, r.status_code, r.text[:200])
    assert r.json()["error"]["param"] == field
