"""The chat app in the split deployment: the facade reaches ChatsService in the Inference process."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.chat_app_gateway import send
from tests.harness.gateway import Gateway


@pytest.mark.slow
def test_chat_turns_history_and_calculator_in_split_mode(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(split=True)
    with gw.http() as http:
        first = send(http, {"model": "local/echo", "messages": [{"role": "user", "content": "split chat"}]})
        assert first.status == 200 and first.text == "split chat"
        chat_id = first.headers["x-chat-id"]
        second = send(http, {"chatId": chat_id, "messages": [{"role": "user", "content": "again"}]})
        assert second.text == "again" and second.events[-1]["finishReason"] == "stop"
        assert [c["id"] for c in http.get("/api/chats").json()] == [chat_id]
        messages = http.get(f"/api/chats/{chat_id}/messages").json()
        assert [m["content"] for m in messages] == ["split chat", "split chat", "again", "again"]
        assert http.get("/api/tools").json()["builtin"] == ["calculator", "weather"]  # weather: Open-Meteo by default
        assert http.delete(f"/api/chats/{chat_id}").json() == {"success": True}
