"""Property tests: OpenAI chat requests survive translation to Gemini generateContent, and answers come back intact."""
from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenyard.providers.gemini_wire import from_gemini as typed_from_gemini, to_gemini

from tests.fuzz.openai_requests import ARGS, NAME, TEXT, chat_request, images, texts


def from_gemini(resp: Any, model: str) -> Any:
    """The typed answer read back as the OpenAI JSON it encodes to (the wire functions return the typed core)."""
    return msgspec.to_builtins(typed_from_gemini(resp, model))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _media_url(part: dict[str, Any]) -> str:
    if "inlineData" in part:
        return f"data:{part['inlineData']['mimeType']};base64,{part['inlineData']['data']}"
    return part["fileData"]["fileUri"]


def _tool_text(c: Any) -> str:
    return c if isinstance(c, str) else "".join(texts(c))


def _expected_response(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


@SETTINGS
@given(chat_request())
def test_request_keeps_every_text_image_tool_call_and_result(req: dict[str, Any]) -> None:
    body = to_gemini(req)
    convo = [m for m in req["messages"] if m["role"] not in ("system", "developer")]
    parts = [(c["role"], p) for c in body["contents"] for p in c["parts"]]
    assert [p["text"] for _, p in parts if "text" in p] == [
        t for m in convo if m["role"] != "tool" for t in texts(m.get("content"))]
    assert [_media_url(p) for _, p in parts if "inlineData" in p or "fileData" in p] == [
        u for m in convo for u in images(m.get("content"))]
    calls = [c for m in convo for c in m.get("tool_calls") or ()]
    fcs = [p["functionCall"] for role, p in parts if "functionCall" in p and role == "model"]
    assert [(f["id"], f["name"], f["args"]) for f in fcs] == [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]
    names = {c["id"]: c["function"]["name"] for c in calls}
    frs = [p["functionResponse"] for role, p in parts if "functionResponse" in p and role == "user"]
    tool_msgs = [m for m in convo if m["role"] == "tool"]
    assert [(f["id"], f["name"], f["response"]) for f in frs] == [
        (m["tool_call_id"], names[m["tool_call_id"]], _expected_response(_tool_text(m["content"])))
        for m in tool_msgs]
    roles = [c["role"] for c in body["contents"]]
    assert all(a != b for a, b in itertools.pairwise(roles)) and set(roles) <= {"user", "model"}


@SETTINGS
@given(chat_request())
def test_request_keeps_system_params_and_tools(req: dict[str, Any]) -> None:
    body = to_gemini(req)
    system = [t for m in req["messages"] if m["role"] in ("system", "developer") for t in texts(m["content"])]
    assert [p["text"] for p in body.get("systemInstruction", {}).get("parts", [])] == system
    config = body.get("generationConfig", {})
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"),
                     ("max_tokens", "maxOutputTokens"), ("presence_penalty", "presencePenalty"),
                     ("frequency_penalty", "frequencyPenalty")):
        assert config.get(dst) == req.get(src), src
    if "stop" in req:
        assert config["stopSequences"] == ([req["stop"]] if isinstance(req["stop"], str) else req["stop"])
    if req.get("response_format"):
        assert config["responseMimeType"] == "application/json"
        schema = req["response_format"].get("json_schema", {}).get("schema")
        assert config.get("responseJsonSchema") == schema
    tools = req.get("tools") or []
    decls = body["tools"][0]["functionDeclarations"] if tools else []
    assert [(d["name"], d.get("description"), d.get("parametersJsonSchema")) for d in decls] == [
        (t["function"]["name"], t["function"].get("description"), t["function"].get("parameters") or None)
        for t in tools]
    choice = req.get("tool_choice")
    if isinstance(choice, dict):
        assert body["toolConfig"]["functionCallingConfig"] == {"mode": "ANY",
                                                               "allowedFunctionNames": [choice["function"]["name"]]}
    elif choice is not None:
        want = {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]
        assert body["toolConfig"]["functionCallingConfig"]["mode"] == want


PART = st.one_of(TEXT.filter(bool).map(lambda t: {"text": t}),
                 st.builds(lambda n, a: {"functionCall": {"name": n, "args": a}}, NAME, ARGS),
                 st.builds(lambda n, a, s: {"functionCall": {"name": n, "args": a},
                                            "thoughtSignature": base64.b64encode(s).decode()},
                           NAME, ARGS, st.binary(min_size=1, max_size=16)))
USAGE = st.fixed_dictionaries({"promptTokenCount": st.integers(0, 10**6), "candidatesTokenCount": st.integers(0, 10**6)},
                              optional={"thoughtsTokenCount": st.integers(0, 10**5)})


@SETTINGS
@given(st.lists(st.lists(PART, max_size=4), min_size=1, max_size=3), USAGE)
def test_response_keeps_text_tool_calls_and_usage(cands: list[list[dict]], usage: dict) -> None:
    resp = {"candidates": [{"index": i, "content": {"role": "model", "parts": parts}, "finishReason": "STOP"}
                           for i, parts in enumerate(cands)], "usageMetadata": usage, "modelVersion": "gemini-x"}
    out = from_gemini(resp, "gemini-x")
    assert len(out["choices"]) == len(cands)
    for choice, parts in zip(out["choices"], cands, strict=True):
        msg = choice["message"]
        assert (msg["content"] or "") == "".join(p["text"] for p in parts if "text" in p)
        fcs = [p["functionCall"] for p in parts if "functionCall" in p]
        calls = msg.get("tool_calls", [])
        assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
            (f["name"], f["args"]) for f in fcs]
        assert len({c["id"] for c in calls}) == len(calls), "tool call ids must be unique"
        assert choice["finish_reason"] == ("tool_calls" if fcs else "stop")
    completion = usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
    assert out["usage"] == {"prompt_tokens": usage["promptTokenCount"], "completion_tokens": completion,
                            "total_tokens": usage["promptTokenCount"] + completion}


@SETTINGS
@given(chat_request())
def test_tool_call_ids_round_trip_through_a_gemini_answer(req: dict[str, Any]) -> None:
    """A functionCall answered by Gemini, sent back as history, reaches Gemini with the same id and signature."""
    part = {"functionCall": {"id": "fc1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "c2ln"}
    call = from_gemini({"candidates": [{"content": {"parts": [part]}}]}, "g")["choices"][0]["message"]["tool_calls"][0]
    history = [*req["messages"], {"role": "assistant", "content": None, "tool_calls": [call]},
               {"role": "tool", "tool_call_id": call["id"], "content": "{\"ok\": true}"}]
    body = to_gemini({**req, "messages": history})
    sent = [p for c in body["contents"] for p in c["parts"]]
    assert {"functionCall": {"id": "fc1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "c2ln"} in sent
    assert {"functionResponse": {"id": "fc1", "name": "f", "response": {"ok": True}}} in sent
