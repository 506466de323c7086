"""The chat app's tools end to end: built-ins run by the gateway, webhooks, client tools, all providers."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.e2e.chat_app_gateway import ALIASES, ChatApp, send
from tests.e2e.chat_app_gateway import chat_app  # noqa: F401 - the `app` fixture

CALC = {"name": "calculator", "arguments": {"expression": "(1.1 + 2.2) * 3"}}


@pytest.fixture(autouse=True)
def _clean(app: ChatApp) -> None:
    app.reset()


def _tool_messages(body: dict) -> list[dict]:
    return [m for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("kind", list(ALIASES))
def test_calculator_round_trip_on_every_provider_kind(app: ChatApp, kind: str) -> None:
    fake = app.fakes[kind]
    fake.script_reply(tool_calls=[CALC])
    fake.script_reply("It is 9.9.")
    with app.http() as http:
        turn = send(http, {"model": ALIASES[kind], "messages": [{"role": "user", "content": "(1.1+2.2)*3?"}]})
        assert turn.status == 200, turn.body
        messages = http.get(f"/api/chats/{turn.headers['x-chat-id']}/messages").json()
    call, = turn.of("tool-call")
    assert call["toolName"] == "calculator" and call["args"] == {"expression": "(1.1 + 2.2) * 3"}
    result, = turn.of("tool-result")
    assert result["toolCallId"] == call["toolCallId"]
    assert result["result"]["result"] == "9.9" and result["result"]["exact"] is True
    assert turn.text == "It is 9.9." and turn.events[-1] == {"type": "finish", "finishReason": "stop"}
    kinds = [e["type"] for e in turn.events]
    assert kinds.index("tool-call") < kinds.index("tool-result") < kinds.index("text-delta")
    assert len(fake.requests_for("(?i)chat|messages|generate", "POST")) == 2
    assert "9.9" in json.dumps(fake.last_body), "the tool result was fed back to the model"
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["toolCalls"][0]["toolName"] == "calculator"
    assert messages[2]["toolCallId"] == call["toolCallId"]
    assert json.loads(messages[2]["content"])["result"] == "9.9"


def test_calculator_is_announced_to_the_model(app: ChatApp) -> None:
    with app.http() as http:
        send(http, {"messages": [{"role": "user", "content": "hi"}]})
        tools = http.get("/api/tools").json()
    names = {t["function"]["name"] for t in app.fakes["openai"].last_body["tools"]}
    assert {"calculator", "weather", "search"} <= names
    assert tools["builtin"] == ["calculator", "search", "weather"]


def test_hostile_expression_is_a_tool_error_the_model_sees(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "9**9**9**9"}}])
    oai.script_reply("Too big, sorry.")
    with app.http() as http:
        turn = send(http, {"messages": [{"role": "user", "content": "compute a tower"}]})
    result, = turn.of("tool-result")
    assert result["isError"] is True and "too large" in result["result"]["error"]
    assert turn.text == "Too big, sorry." and turn.events[-1]["finishReason"] == "stop"
    fed_back, = _tool_messages(oai.last_body)
    assert "too large" in fed_back["content"]


def test_weather_tool_against_an_open_meteo_compatible_backend(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "weather", "arguments": {"location": "Berlin"}}])
    oai.script_reply("12.1 °C and overcast in Berlin.")
    with app.http() as http:
        turn = send(http, {"messages": [{"role": "user", "content": "Weather in Berlin?"}]})
    result = turn.of("tool-result")[0]["result"]
    assert result["location"] == "Berlin, Land Berlin, Germany"
    assert (result["temperature"], result["conditions"]) == (12.1, "overcast")
    assert result["units"]["temperature"] == "°C"
    geo, forecast = app.tools.requests
    assert geo["path"] == "/v1/search" and geo["query"]["name"] == "Berlin"
    assert forecast["path"] == "/v1/forecast"
    coords = (float(forecast["query"]["latitude"]), float(forecast["query"]["longitude"]))
    assert coords == (52.52437, 13.41053)
    assert "weather_code" in forecast["query"]["current"]
    assert "overcast" in _tool_messages(oai.last_body)[0]["content"]
    assert turn.text.startswith("12.1")


def test_weather_for_an_unknown_place_is_a_tool_error(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "weather", "arguments": {"location": "Atlantis"}}])
    oai.script_reply("I could not find it.")
    with app.http() as http:
        turn = send(http, {"messages": [{"role": "user", "content": "Weather in Atlantis?"}]})
    result = turn.of("tool-result")[0]
    assert result["isError"] and "Atlantis" in result["result"]["error"]
    assert turn.events[-1]["finishReason"] == "stop"


def test_search_tool_against_a_searxng_compatible_backend(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "search", "arguments": {"query": "tokenyard", "maxResults": 1}}])
    oai.script_reply("Found it.")
    with app.http() as http:
        turn = send(http, {"messages": [{"role": "user", "content": "search tokenyard"}]})
    result = turn.of("tool-result")[0]["result"]
    assert result == {"query": "tokenyard", "results": [
        {"title": "Result A", "url": "https://example.org/a", "snippet": "About tokenyard"}]}
    assert app.tools.requests[0]["query"] == {"q": "tokenyard", "format": "json"}


def test_webhook_tool_registered_and_called_with_signature(app: ChatApp) -> None:
    schema = {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}
    app.tools.webhook_answer = {"sku": "A-1", "inStock": 7}
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "stock_lookup", "arguments": {"sku": "A-1"}}])
    oai.script_reply("7 in stock.")
    with app.http() as http:
        reg = http.post("/api/tools", json={"name": "stock_lookup", "description": "Stock level of a SKU",
                                            "parameters": schema, "url": f"{app.tools.url}/hook",
                                            "secret": "s3cret"})
        assert reg.status_code == 201, reg.text
        assert reg.json()["name"] == "stock_lookup" and "secret" not in reg.json()
        try:
            turn = send(http, {"messages": [{"role": "user", "content": "stock of A-1?"}]})
            listed = http.get("/api/tools").json()["tools"]
        finally:
            assert http.delete("/api/tools/stock_lookup").json() == {"success": True}
    assert [t["name"] for t in listed] == ["stock_lookup"]
    announced = {t["function"]["name"]: t["function"] for t in oai.requests[0].json["tools"]}
    assert announced["stock_lookup"]["parameters"] == schema
    hook, = [r for r in app.tools.requests if r["path"] == "/hook"]
    call = turn.of("tool-call")[0]
    assert hook["json"] == {"name": "stock_lookup", "arguments": {"sku": "A-1"},
                            "toolCallId": call["toolCallId"], "chatId": turn.headers["x-chat-id"]}
    headers = {k.lower(): v for k, v in hook["headers"].items()}
    mac = hmac.new(b"s3cret", headers["x-tokenyard-timestamp"].encode() + b"." + hook["body"], hashlib.sha256)
    assert headers["x-tokenyard-signature"] == f"sha256={mac.hexdigest()}"
    assert turn.of("tool-result")[0]["result"] == {"sku": "A-1", "inStock": 7}
    assert turn.text == "7 in stock."


def test_failing_webhook_becomes_a_tool_error_not_a_crash(app: ChatApp) -> None:
    app.tools.webhook_status = 500
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "flaky", "arguments": {}}])
    oai.script_reply("The tool failed.")
    with app.http() as http:
        reg = http.post("/api/tools", json={"name": "flaky", "url": f"{app.tools.url}/hook"})
        assert reg.status_code == 201
        try:
            turn = send(http, {"messages": [{"role": "user", "content": "try it"}]})
        finally:
            http.delete("/api/tools/flaky")
    result = turn.of("tool-result")[0]
    assert result["isError"] and "HTTP 500" in result["result"]["error"]
    assert turn.text == "The tool failed." and turn.events[-1]["finishReason"] == "stop"


@pytest.mark.parametrize(("url", "status"), [
    ("http://169.254.169.254/latest/meta-data", 403), ("http://10.0.0.7/hook", 403),
    ("http://[::1]:9/hook", 403),
    ("ftp://example.org/x", 400), ("not a url", 400)])
def test_webhook_urls_into_private_ranges_are_refused(app: ChatApp, url: str, status: int) -> None:
    with app.http() as http:
        resp = http.post("/api/tools", json={"name": "evil", "url": url})
    assert resp.status_code == status, resp.text
    assert resp.json()["details"]["param"] == "url"


@pytest.mark.parametrize(("body", "param"), [
    ({"name": "calculator", "url": "http://127.0.0.1:9/x"}, "name"),
    ({"name": "bad name!", "url": "http://127.0.0.1:9/x"}, "name"),
    ({"name": "ok", "url": "http://127.0.0.1:9/x", "parameters": {"type": "string"}}, "parameters"),
    ({"name": "ok", "url": "http://127.0.0.1:9/x", "parameters": {"type": "object", "properties": 3}},
     "parameters")])
def test_invalid_tool_registrations_name_the_field(app: ChatApp, body: dict, param: str) -> None:
    with app.http() as http:
        resp = http.post("/api/tools", json=body)
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_REQUEST"
    assert resp.json()["details"]["param"] == param


def test_client_tools_pass_through_and_the_turn_ends_with_tool_calls(app: ChatApp) -> None:
    client_tool = {"type": "function", "function": {"name": "get_location", "parameters": {"type": "object"}}}
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"id": "call_client1", "name": "get_location", "arguments": {}}])
    oai.script_reply("You are in Lisbon.")
    with app.http() as http:
        turn = send(http, {"messages": [{"role": "user", "content": "where am I?"}], "tools": [client_tool]})
        assert [e["type"] for e in turn.events] == ["tool-call", "finish"]
        assert turn.events[-1]["finishReason"] == "tool_calls"
        assert turn.of("tool-call")[0] == {"type": "tool-call", "toolCallId": "call_client1",
                                           "toolName": "get_location", "args": {}}
        chat_id = turn.headers["x-chat-id"]
        answer = send(http, {"chatId": chat_id, "tools": [client_tool], "messages": [
            {"role": "tool", "toolCallId": "call_client1", "content": "Lisbon"}]})
    assert answer.text == "You are in Lisbon."
    sent = oai.last_body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_client1"
    assert sent[2] == {"role": "tool", "tool_call_id": "call_client1", "content": "Lisbon"}


def test_tool_steps_are_bounded(app: ChatApp) -> None:
    oai = app.fakes["openai"]
    oai.script_reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "1+1"}}], times=8)
    with app.http() as http:
        turn = send(http, {"messages": [{"role": "user", "content": "loop forever"}]})
        messages = http.get(f"/api/chats/{turn.headers['x-chat-id']}/messages").json()
    assert len(turn.of("tool-call")) == 5 and len(turn.of("tool-result")) == 5
    assert turn.events[-1] == {"type": "finish", "finishReason": "tool_calls"}
    assert len(oai.requests_for("chat/completions", "POST")) == 5
    assert [m["role"] for m in messages] == ["user"] + ["assistant", "tool"] * 5
