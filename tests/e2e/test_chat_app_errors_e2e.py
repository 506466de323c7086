"""The chat app's error shape `{"error", "code", "details"}` before and mid-stream."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.chat_app_gateway import ChatApp, send
from tests.e2e.chat_app_gateway import chat_app  # noqa: F401 - the `app` fixture
from tests.fakes import Fault

USER = [{"role": "user", "content": "hello"}]


@pytest.fixture(autouse=True)
def _clean(app: ChatApp) -> None:
    app.reset()


def _chats(app: ChatApp) -> set[str]:
    with app.http() as http:
        return {c["id"] for c in http.get("/api/chats").json()}


def test_unknown_model_is_invalid_model(app: ChatApp) -> None:
    before = _chats(app)
    with app.http() as http:
        turn = send(http, {"model": "no/such-model", "messages": USER})
    assert turn.status == 404
    assert turn.body == {"error": "The model `no/such-model` does not exist", "code": "INVALID_MODEL",
                         "details": {"param": "model"}}
    assert _chats(app) == before, "a refused turn stores no chat"


def test_history_beyond_the_context_window_is_context_too_long(app: ChatApp) -> None:
    with app.http() as http:
        turn = send(http, {"model": "t/tiny", "messages": [{"role": "user", "content": "word " * 200}]})
    assert turn.status == 400 and turn.body["code"] == "CONTEXT_TOO_LONG"
    assert turn.body["details"]["contextWindow"] == "60" and int(turn.body["details"]["tokens"]) > 60
    assert not app.fakes["openai"].requests, "refused before any upstream call"


def test_upstream_context_error_is_context_too_long(app: ChatApp) -> None:
    app.fakes["openai"].push_fault(Fault.status(400, "This model's maximum context length is 128000 tokens. "
                                                     "However, your messages resulted in 130000 tokens.",
                                                error_type="invalid_request_error"))
    with app.http() as http:
        turn = send(http, {"model": "t/strict", "messages": USER})
    assert turn.status == 400 and turn.body["code"] == "CONTEXT_TOO_LONG"


def test_upstream_failure_is_provider_error(app: ChatApp) -> None:
    app.fakes["openai"].push_fault(Fault.status(500))
    with app.http() as http:
        turn = send(http, {"model": "t/strict", "messages": USER})
    assert turn.status == 502 and turn.body["code"] == "PROVIDER_ERROR"
    assert set(turn.body) == {"error", "code", "details"}


def test_rate_limited_carries_remaining_and_reset_in_epoch_ms(app: ChatApp) -> None:
    app.fakes["openai"].push_fault(Fault.status(429, retry_after=7))
    now_ms = time.time() * 1000
    with app.http() as http:
        turn = send(http, {"model": "t/strict", "messages": USER})
    assert turn.status == 429 and turn.body["code"] == "RATE_LIMITED"
    details = turn.body["details"]
    assert details["remaining"] == 0 and isinstance(details["reset"], int)
    assert now_ms + 6000 <= details["reset"] <= now_ms + 9000
    assert turn.headers["retry-after"] == "7" and turn.headers["x-ratelimit-remaining"] == "0"


def test_failure_mid_stream_is_one_error_event_then_finish(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply("alpha beta gamma delta epsilon zeta eta theta")
    oai.push_fault(Fault.cut_stream(after=4))
    with app.http() as http:
        turn = send(http, {"model": "t/strict", "messages": USER})
        assert turn.status == 200
        error, = turn.of("error")
        assert error["code"] == "PROVIDER_ERROR" and error["error"]
        assert turn.events[-1] == {"type": "finish", "finishReason": "error"}
        assert turn.text.startswith("alpha") and "theta" not in turn.text
        time.sleep(0.3)  # the partial answer is stored in the background
        messages = http.get(f"/api/chats/{turn.headers['x-chat-id']}/messages").json()
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"] == turn.text


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user"}]}, "messages[0]"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0]"),
    ({"messages": USER, "temperature": 9}, "temperature"),
    ({"messages": USER, "chatId": 5}, "chatId"),
])
def test_bad_requests_are_invalid_request_naming_the_field(app: ChatApp, body: dict, param: str) -> None:
    with app.http() as http:
        turn = send(http, body)
    assert turn.status == 400 and turn.body["code"] == "INVALID_REQUEST", turn.body
    assert turn.body["details"]["param"] == param


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"\xff\xfe"])
def test_malformed_bodies_are_400_in_the_chat_shape(app: ChatApp, raw: bytes) -> None:
    with app.http() as http:
        resp = http.post("/api/chat", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("key", ["", "ty_sk_wrong"])
def test_missing_or_bad_key_is_401_in_the_chat_shape(app: ChatApp, key: str) -> None:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    for method, path in (("POST", "/api/chat"), ("GET", "/api/chats"), ("DELETE", "/api/chats/chat_x")):
        resp = httpx.request(method, f"{app.gateway.url}{path}", headers=headers, json={"messages": USER})
        assert resp.status_code == 401, (method, path)
        assert resp.json()["code"] == "UNAUTHORIZED" and resp.json()["error"]


def test_oversized_body_is_413_in_the_chat_shape(app: ChatApp) -> None:
    with app.http() as http:
        huge = [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]
        resp = http.post("/api/chat", json={"messages": huge})
    assert resp.status_code == 413 and resp.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_openai_routes_keep_the_openai_shape(app: ChatApp) -> None:
    with app.http() as http:
        resp = http.post("/v1/chat/completions", json={"model": "no/such-model", "messages": USER})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "model_not_found"
