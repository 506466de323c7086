"""Hypothesis strategies for valid OpenAI chat requests (roles, text/image parts, tools, tool calls/results, params)."""
from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
NAME = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
CALL_ID = st.from_regex(r"call_[A-Za-z0-9]{6,12}", fullmatch=True)
JSON_SCALAR = st.none() | st.booleans() | st.integers(-10**6, 10**6) | TEXT
ARGS = st.dictionaries(NAME, JSON_SCALAR | st.lists(JSON_SCALAR, max_size=3), max_size=4)
MIME = st.sampled_from(["image/png", "image/jpeg", "image/webp", "image/gif"])


@st.composite
def image_part(draw: st.DrawFn) -> dict[str, Any]:
    """An image_url part: an inline base64 data: URI or an https URL."""
    if draw(st.booleans()):
        data = base64.b64encode(draw(st.binary(min_size=1, max_size=48))).decode()
        url = f"data:{draw(MIME)};base64,{data}"
    else:
        url = f"https://img.example.com/{draw(NAME)}.png"
    return {"type": "image_url", "image_url": {"url": url}}


def text_part() -> st.SearchStrategy[dict[str, Any]]:
    return TEXT.map(lambda t: {"type": "text", "text": t})


def content(images: bool) -> st.SearchStrategy[Any]:
    """A message content: a string or a list of parts (images only where OpenAI allows them)."""
    part = st.one_of(text_part(), image_part()) if images else text_part()
    return st.one_of(TEXT, st.lists(part, min_size=1, max_size=3))


@st.composite
def tool_exchange(draw: st.DrawFn, turn: int) -> list[dict[str, Any]]:
    """An assistant message with tool calls followed by one tool message answering each call (ids unique per
    conversation, as OpenAI makes them)."""
    ids = [f"{i}_{turn}" for i in draw(st.lists(CALL_ID, min_size=1, max_size=3, unique=True))]
    calls = [{"id": i, "type": "function",
              "function": {"name": draw(NAME), "arguments": json.dumps(draw(ARGS))}} for i in ids]
    assistant: dict[str, Any] = {"role": "assistant", "tool_calls": calls,
                                 "content": draw(st.none() | TEXT)}
    results = []
    for i in ids:
        body = draw(st.one_of(TEXT, ARGS.map(json.dumps), st.lists(text_part(), min_size=1, max_size=2)))
        results.append({"role": "tool", "tool_call_id": i, "content": body})
    return [assistant, *results]


@st.composite
def conversation(draw: st.DrawFn) -> list[dict[str, Any]]:
    """System/developer prefix, then user/assistant turns and tool exchanges; at least one non-empty user text."""
    msgs: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        msgs.append({"role": draw(st.sampled_from(["system", "developer"])),
                     "content": draw(st.one_of(TEXT, st.lists(text_part(), min_size=1, max_size=2)))})
    msgs.append({"role": "user", "content": draw(TEXT.filter(bool))})
    for turn in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["user", "assistant", "tools"]))
        if kind == "tools":
            msgs += draw(tool_exchange(turn))
        else:
            msgs.append({"role": kind, "content": draw(content(images=kind == "user"))})
    return msgs


def tool_def(name: str, draw: st.DrawFn) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": name}
    if draw(st.booleans()):
        fn["description"] = draw(TEXT.filter(bool))
    if draw(st.booleans()):
        fn["parameters"] = {"type": "object", "properties": {k: {"type": "string"} for k in draw(
            st.lists(NAME, max_size=3, unique=True))}}
    return {"type": "function", "function": fn}


@st.composite
def chat_request(draw: st.DrawFn) -> dict[str, Any]:
    """A valid OpenAI chat.completions request body with optional sampling params and tools."""
    req: dict[str, Any] = {"model": "m", "messages": draw(conversation())}
    optional = {"temperature": st.floats(0, 2), "top_p": st.floats(0, 1), "max_tokens": st.integers(1, 8192),
                "stop": st.one_of(TEXT.filter(bool), st.lists(TEXT.filter(bool), min_size=1, max_size=3)),
                "user": NAME, "seed": st.integers(0, 2**31 - 1), "presence_penalty": st.floats(-2, 2),
                "frequency_penalty": st.floats(-2, 2)}
    for key, strat in optional.items():
        if draw(st.booleans()):
            req[key] = draw(strat)
    names = draw(st.lists(NAME, max_size=3, unique=True))
    if names:
        req["tools"] = [tool_def(n, draw) for n in names]
        req["tool_choice"] = draw(st.sampled_from(["auto", "none", "required",
                                                   {"type": "function", "function": {"name": names[0]}}]))
    if draw(st.booleans()):
        req["response_format"] = draw(st.sampled_from([{"type": "json_object"}, {"type": "json_schema", "json_schema": {
            "name": "s", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}}]))
    return req


def texts(c: Any) -> list[str]:
    """The non-empty texts of a message content, in order."""
    if isinstance(c, str):
        return [c] if c else []
    return [p["text"] for p in c or () if p.get("type") == "text" and p.get("text")]


def images(c: Any) -> list[str]:
    """The image URLs of a message content, in order."""
    return [] if isinstance(c, str) or c is None else [p["image_url"]["url"] for p in c if p["type"] == "image_url"]
