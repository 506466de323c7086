"""Property tests: OpenAI chat requests survive translation to Anthropic Messages, and answers come back intact."""
from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenyard.providers.anthropic_wire import from_anthropic as typed_from_anthropic, to_anthropic

from tests.fuzz.openai_requests import ARGS, CALL_ID, NAME, TEXT, chat_request, images, texts


def from_anthropic(msg: Any) -> Any:
    """The typed answer read back as the OpenAI JSON it encodes to (the wire functions return the typed core)."""
    return msgspec.to_builtins(typed_from_anthropic(msg))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _image_url(block: dict[str, Any]) -> str:
    src = block["source"]
    return src["url"] if src["type"] == "url" else f"data:{src['media_type']};base64,{src['data']}"


def _flatten(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, block) pairs of the translated conversation, tool_result contents expanded after their block."""
    out = []
    for m in body["messages"]:
        for b in m["content"]:
            out.append((m["role"], b))
            if b["type"] == "tool_result" and isinstance(b.get("content"), list):
                out += [(m["role"], inner) for inner in b["content"]]
    return out


@SETTINGS
@given(chat_request())
def test_request_keeps_every_text_image_tool_call_and_result(req: dict[str, Any]) -> None:
    body = to_anthropic(req)
    convo = [m for m in req["messages"] if m["role"] not in ("system", "developer")]
    blocks = _flatten(body)
    want_texts = [t for m in convo if m["role"] != "tool" for t in texts(m.get("content"))]
    want_texts += [t for m in convo if m["role"] == "tool" and not isinstance(m["content"], str)
                   for t in texts(m["content"])]
    got_texts = [b["text"] for _, b in blocks if b["type"] == "text"]
    assert sorted(got_texts) == sorted(want_texts)
    assert [_image_url(b) for _, b in blocks if b["type"] == "image"] == [
        u for m in convo for u in images(m.get("content"))]
    calls = [c for m in convo for c in m.get("tool_calls") or ()]
    uses = [b for role, b in blocks if b["type"] == "tool_use" and role == "assistant"]
    assert [(u["id"], u["name"], u["input"]) for u in uses] == [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]
    results = [b for role, b in blocks if b["type"] == "tool_result" and role == "user"]
    tool_msgs = [m for m in convo if m["role"] == "tool"]
    assert [r["tool_use_id"] for r in results] == [m["tool_call_id"] for m in tool_msgs]
    for r, m in zip(results, tool_msgs, strict=True):
        if isinstance(m["content"], str):
            assert r.get("content", "") == m["content"]
    roles = [m["role"] for m in body["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), "Anthropic needs alternating roles"


@SETTINGS
@given(chat_request())
def test_request_keeps_system_params_and_tools(req: dict[str, Any]) -> None:
    body = to_anthropic(req)
    for m in req["messages"]:
        if m["role"] in ("system", "developer"):
            for t in texts(m["content"]):
                assert t in body["system"]
    assert body["max_tokens"] == req.get("max_tokens", body["max_tokens"])
    if "temperature" in req:
        assert body["temperature"] == min(req["temperature"], 1.0)
    assert body.get("top_p") == req.get("top_p")
    if "stop" in req:
        assert body["stop_sequences"] == ([req["stop"]] if isinstance(req["stop"], str) else req["stop"])
    if "user" in req:
        assert body["metadata"] == {"user_id": req["user"]}
    tools = req.get("tools") or []
    assert [t["name"] for t in body.get("tools", [])] == [t["function"]["name"] for t in tools]
    for got, want in zip(body.get("tools", []), tools, strict=True):
        assert got.get("description") == want["function"].get("description")
        assert got["input_schema"] == want["function"].get("parameters", got["input_schema"])
    choice = req.get("tool_choice")
    if isinstance(choice, dict):
        assert body["tool_choice"] == {"type": "tool", "name": choice["function"]["name"]}
    elif choice is not None:
        assert body["tool_choice"]["type"] == {"auto": "auto", "none": "none", "required": "any"}[choice]
    if req.get("response_format"):
        assert "JSON" in body["system"]


BLOCK = st.one_of(TEXT.map(lambda t: {"type": "text", "text": t}),
                  st.builds(lambda i, n, a: {"type": "tool_use", "id": i, "name": n, "input": a}, CALL_ID, NAME, ARGS))
USAGE = st.fixed_dictionaries({"input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**6)},
                              optional={"cache_read_input_tokens": st.integers(0, 10**5),
                                        "cache_creation_input_tokens": st.integers(0, 10**5)})


@SETTINGS
@given(st.lists(BLOCK, max_size=5), USAGE, st.sampled_from(["end_turn", "max_tokens", "tool_use", "stop_sequence"]))
def test_response_keeps_text_tool_calls_and_usage(blocks: list[dict], usage: dict, stop: str) -> None:
    out = from_anthropic({"id": "msg_1", "model": "claude", "content": blocks, "stop_reason": stop, "usage": usage})
    msg = out["choices"][0]["message"]
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    uses = [b for b in blocks if b["type"] == "tool_use"]
    assert (msg["content"] or "") == text
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in msg.get("tool_calls", [])] == [(u["id"], u["name"], u["input"]) for u in uses]
    prompt = usage["input_tokens"] + usage.get("cache_read_input_tokens", 0) + usage.get(
        "cache_creation_input_tokens", 0)
    assert out["usage"] == {"prompt_tokens": prompt, "completion_tokens": usage["output_tokens"],
                            "total_tokens": prompt + usage["output_tokens"]}
    assert out["choices"][0]["finish_reason"] == {"end_turn": "stop", "max_tokens": "length",
                                                  "tool_use": "tool_calls", "stop_sequence": "stop"}[stop]
