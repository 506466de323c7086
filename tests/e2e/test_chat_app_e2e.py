"""The chat app API end to end: stored conversations, listing, deletion, isolation (fake upstreams)."""
from __future__ import annotations

import pytest

from tests.e2e.chat_app_gateway import ChatApp, send
from tests.e2e.chat_app_gateway import chat_app  # noqa: F401 - the `app` fixture


@pytest.fixture(autouse=True)
def _clean(app: ChatApp) -> None:
    app.reset()


def test_conversation_continued_by_chat_id_sends_full_history_and_is_listed(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply("Nice to meet you, Ada.")
    oai.script_reply("Your name is Ada.")
    with app.http() as http:
        first = send(http, {"messages": [{"role": "system", "content": "You are terse."},
                                         {"role": "user", "content": "Hi, my name is Ada"}]})
        assert first.status == 200, first.body
        chat_id = first.headers["x-chat-id"]
        assert chat_id.startswith("chat_")
        assert first.text == "Nice to meet you, Ada."
        assert len(first.of("text-delta")) > 1, "streamed piece by piece"
        assert first.events[-1] == {"type": "finish", "finishReason": "stop"}
        assert oai.last_body["model"] == "gpt-4o", "default model gpt-4o, through the catalog alias"

        question = [{"role": "user", "content": "What is my name?"}]
        second = send(http, {"chatId": chat_id, "messages": question})
        assert second.status == 200 and second.headers["x-chat-id"] == chat_id
        assert second.text == "Your name is Ada."
        sent = [(m["role"], m["content"]) for m in oai.last_body["messages"]]
        assert sent == [("system", "You are terse."), ("user", "Hi, my name is Ada"),
                        ("assistant", "Nice to meet you, Ada."), ("user", "What is my name?")]

        chats = http.get("/api/chats").json()
        mine = next(c for c in chats if c["id"] == chat_id)
        assert mine["title"] == "Hi, my name is Ada" and mine["model"] == "gpt-4o"
        assert mine["createdAt"].endswith("Z") and mine["updatedAt"] >= mine["createdAt"]
        messages = http.get(f"/api/chats/{chat_id}/messages").json()
    assert [(m["role"], m["content"]) for m in messages] == [*sent, ("assistant", "Your name is Ada.")]
    assert all(m["chatId"] == chat_id and m["id"].startswith("msg_") for m in messages)
    assert [m["createdAt"] for m in messages] == sorted(m["createdAt"] for m in messages)


def test_chats_are_listed_newest_first(app: ChatApp) -> None:
    with app.http() as http:
        ids = [send(http, {"model": "local/echo", "messages": [{"role": "user", "content": f"chat {i}"}]})
               .headers["x-chat-id"] for i in range(3)]
        listed = [c["id"] for c in http.get("/api/chats").json()]
    assert [i for i in listed if i in ids] == ids[::-1]


def test_delete_removes_the_chat_and_its_messages(app: ChatApp) -> None:
    with app.http() as http:
        chat_id = send(http, {"model": "local/echo", "messages": [{"role": "user", "content": "bye"}]}
                       ).headers["x-chat-id"]
        resp = http.delete(f"/api/chats/{chat_id}")
        assert resp.status_code == 200 and resp.json() == {"success": True}
        assert chat_id not in [c["id"] for c in http.get("/api/chats").json()]
        gone = http.get(f"/api/chats/{chat_id}/messages")
        assert gone.status_code == 404 and gone.json()["code"] == "NOT_FOUND"
        again = http.delete(f"/api/chats/{chat_id}")
        assert again.status_code == 404
        cont = send(http, {"chatId": chat_id, "messages": [{"role": "user", "content": "hello?"}]})
    assert cont.status == 404 and cont.body["code"] == "NOT_FOUND"


def test_other_users_chats_are_invisible_and_untouchable(app: ChatApp) -> None:
    bob = app.create_key("bob")
    with app.http() as admin, app.http(bob) as http_bob:
        secret = [{"role": "user", "content": "admin secret"}]
        chat_id = send(admin, {"model": "local/echo", "messages": secret}).headers["x-chat-id"]
        bobs = send(http_bob, {"model": "local/echo", "messages": [{"role": "user", "content": "bob's own"}]})
        assert bobs.status == 200
        assert [c["title"] for c in http_bob.get("/api/chats").json()] == ["bob's own"]
        assert bobs.headers["x-chat-id"] not in [c["id"] for c in admin.get("/api/chats").json()]
        attempts = (http_bob.get(f"/api/chats/{chat_id}/messages"), http_bob.delete(f"/api/chats/{chat_id}"))
        for resp in attempts:
            assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
        hijack = send(http_bob, {"chatId": chat_id, "messages": [{"role": "user", "content": "let me in"}]})
        assert hijack.status == 404 and hijack.body["code"] == "NOT_FOUND"
        messages = admin.get(f"/api/chats/{chat_id}/messages").json()
    assert [m["content"] for m in messages] == ["admin secret", "admin secret"], "untouched"


def test_user_content_parts_are_stored_and_sent_again(app: ChatApp) -> None:
    parts = [{"type": "text", "text": "describe"},
             {"type": "image_url", "image_url": {"url": "https://example.org/cat.png"}}]
    oai = app.fakes["openai"]
    with app.http() as http:
        chat_id = send(http, {"messages": [{"role": "user", "content": parts}]}).headers["x-chat-id"]
        send(http, {"chatId": chat_id, "messages": [{"role": "user", "content": "and again"}]})
        messages = http.get(f"/api/chats/{chat_id}/messages").json()
        chats = http.get("/api/chats").json()
    assert messages[0]["content"] == parts
    assert oai.last_body["messages"][0]["content"][1]["image_url"]["url"] == "https://example.org/cat.png"
    assert next(c for c in chats if c["id"] == chat_id)["title"] == "describe"


def test_an_app_keys_chat_without_a_model_uses_the_apps_default_model(app: ChatApp) -> None:
    app.reset()
    with app.http() as admin:
        r = admin.post("/v1/apps", json={"name": "chat-default-model"})
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        assert admin.put(f"/v1/{app_id}/ai/config", json={"defaultModel": "claude-sonnet-4"}).status_code == 200
        r = admin.post("/v1/keys", json={"name": "app key", "app_id": app_id, "scopes": ["ai:gateway"]})
        assert r.status_code == 201, r.text
        key = r.json()["key"]
    app.fakes["anthropic"].script_reply("from the app's default")
    with app.http(key) as http:
        turn = send(http, {"messages": [{"role": "user", "content": "hi"}]})
    assert turn.status == 200 and turn.text == "from the app's default", turn.events or turn.body
    assert len(app.fakes["anthropic"].requests) == 1 and not app.fakes["openai"].requests
