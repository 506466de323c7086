"""Cheap structural checks that vouch for a body the pydantic schemas would accept unchanged.

Conservative by design: True only when every field the schema declares has a type it accepts as it is (the
schemas accept unknown fields, so those pass through). Anything else, valid or not, goes to the pydantic model,
which keeps the exact 400 messages. Mirrors `schemas/chat.py` and `schemas/embeddings.py`: change them together.
"""
from __future__ import annotations

from typing import Any

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
FORMATS = frozenset({"text", "json_object", "json_schema"})
CHOICES = frozenset({"none", "auto", "required"})
DETAILS = frozenset({"auto", "low", "high", None})
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
NUMBERS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
INTS32 = ("max_tokens", "max_completion_tokens", "n", "top_logprobs")
BOOLS = ("stream", "parallel_tool_calls", "logprobs")


def _str(v: Any) -> bool:
    return type(v) is str


def _opt_str(v: Any) -> bool:
    return v is None or type(v) is str


def _opt_bool(v: Any) -> bool:
    return v is None or type(v) is bool


def _int_in(v: Any, bounds: tuple[int, int]) -> bool:
    return v is None or (type(v) is int and bounds[0] <= v <= bounds[1])


def _part(p: Any) -> bool:
    if type(p) is not dict:
        return False
    kind = p.get("type")
    if kind == "text":
        return _str(p.get("text"))
    if kind == "image_url":
        url = p.get("image_url")
        return type(url) is dict and _str(url.get("url")) and url.get("detail") in DETAILS
    if kind == "video_url":
        url = p.get("video_url")
        return type(url) is dict and _str(url.get("url"))
    if kind == "input_audio":
        return type(p.get("input_audio")) is dict
    if kind == "file":
        return type(p.get("file")) is dict
    return False


def _tool_call(c: Any) -> bool:
    if type(c) is not dict or not _str(c.get("id")) or c.get("type", "function") != "function":
        return False
    fn = c.get("function")
    return type(fn) is dict and _str(fn.get("name")) and _str(fn.get("arguments"))


def _message(m: Any) -> bool:
    if type(m) is not dict or m.get("role") not in ROLES:
        return False
    content = m.get("content")
    if not (content is None or type(content) is str or (type(content) is list and all(map(_part, content)))):
        return False
    calls = m.get("tool_calls")
    return (_opt_str(m.get("name")) and _opt_str(m.get("tool_call_id"))
            and (calls is None or (type(calls) is list and all(map(_tool_call, calls)))))


def _tool(t: Any) -> bool:
    if type(t) is not dict or t.get("type", "function") != "function":
        return False
    fn = t.get("function")
    return (type(fn) is dict and _str(fn.get("name")) and _opt_str(fn.get("description"))
            and (fn.get("parameters") is None or type(fn["parameters"]) is dict)
            and _opt_bool(fn.get("strict")))


def _tool_choice(v: Any) -> bool:
    if v is None or (type(v) is str and v in CHOICES):
        return True
    return (type(v) is dict and v.get("type", "function") == "function" and type(v.get("function")) is dict
            and _str(v["function"].get("name")))


def _options(d: dict[str, Any]) -> bool:
    fmt, opts, stop = d.get("response_format"), d.get("stream_options"), d.get("stop")
    return ((fmt is None or (type(fmt) is dict and fmt.get("type") in FORMATS
                             and (fmt.get("json_schema") is None or type(fmt["json_schema"]) is dict)))
            and (opts is None or (type(opts) is dict and _opt_bool(opts.get("include_usage"))))
            and (stop is None or type(stop) is str or (type(stop) is list and all(map(_str, stop)))))


def plain_chat(d: Any) -> bool:
    """True when ChatCompletionRequest would accept `d` and dump it back unchanged."""
    if type(d) is not dict:
        return False
    messages, tools = d.get("messages"), d.get("tools")
    return (type(messages) is list and len(messages) > 0 and all(map(_message, messages))
            and _opt_str(d.get("model")) and _opt_str(d.get("user"))
            and all(d.get(k) is None or type(d[k]) in (int, float) for k in NUMBERS)
            and all(_int_in(d.get(k), INT32) for k in INTS32) and _int_in(d.get("seed"), INT64)
            and all(_opt_bool(d.get(k)) for k in BOOLS)
            and (tools is None or (type(tools) is list and all(map(_tool, tools))))
            and _tool_choice(d.get("tool_choice")) and _options(d))


def plain_embeddings(d: Any) -> bool:
    """True when EmbeddingRequest would accept `d` unchanged (`input` is checked by the converter)."""
    return (type(d) is dict and "input" in d and _opt_str(d.get("model")) and _opt_str(d.get("user"))
            and d.get("encoding_format") in (None, "float", "base64")
            and (d.get("dimensions") is None or type(d["dimensions"]) is int))
