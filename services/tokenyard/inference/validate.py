"""Semantic checks of a typed chat request (types are checked by the wire layer): 400 naming the param.

A request that came over gRPC was built from the proto without type checks of its enums (roles, part kinds),
so those are checked here too."""
from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from tokenyard.errors import invalid
from tokenyard.protocol import models as m

_RANGES = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "n": (1, 128),
    "max_tokens": (1, 10_000_000),
    "max_completion_tokens": (1, 10_000_000),
    "top_logprobs": (0, 20),
    "seed": (-(2**63), 2**63 - 1),
}
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_PART_TYPES = {"text", "image_url", "video_url", "input_audio", "file"}
_FORMATS = ("text", "json_object", "json_schema")
_CHOICES = ("none", "auto", "required")
_JSON = msgspec.json.Decoder()


def _number(name: str, value: Any, lo: float, hi: float) -> None:
    if value is None or value is UNSET:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"`{name}` must be a number", name)
    if not lo <= value <= hi:
        raise invalid(f"`{name}` must be between {lo} and {hi}, got {value}", name)


def _media_url(kind: str, url: str, param: str) -> None:
    where = f"{param}.{kind}.url"
    if not url:
        raise invalid(f"{where} is required", where)
    if not (url.startswith(("http://", "https://", "gs://")) or url.startswith("data:") and ";base64," in url):
        raise invalid(f"{where} must be an http(s) URL or a base64 data: URI", where)


def _content(msg: m.Message, i: int) -> None:
    content, param = msg.content, f"messages[{i}].content"
    if content is None:
        if msg.role == "assistant" and msg.tool_calls:
            return
        if msg.role in ("user", "system", "developer", "tool"):
            raise invalid(f"{param} is required for {msg.role} messages", param)
        return
    if isinstance(content, str):
        return
    if not content:
        raise invalid(f"{param} must be a string or a non-empty array of content parts", param)
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if isinstance(part, m.ImagePart):
            _media_url("image_url", part.image_url.url, where)
        elif isinstance(part, m.VideoPart):
            _media_url("video_url", part.video_url.url, where)
        elif not isinstance(part, (m.TextPart, m.AudioPart, m.FilePart)):
            raise invalid(f"{where}.type must be one of {sorted(_PART_TYPES)}", f"{where}.type")


def _messages(messages: list[m.Message]) -> None:
    if not messages:
        raise invalid("`messages` must be a non-empty array", "messages")
    for i, msg in enumerate(messages):
        if msg.role not in _ROLES:
            raise invalid(f"messages[{i}].role must be one of {sorted(_ROLES)}", f"messages[{i}].role")
        if msg.role == "tool" and not msg.tool_call_id:
            raise invalid(f"messages[{i}].tool_call_id is required for tool messages", f"messages[{i}].tool_call_id")
        _content(msg, i)


def _raw(value: Any, param: str) -> Any:
    """The value of a raw JSON field (a small document: tool_choice, response_format), None when absent."""
    if value is UNSET or value is None:
        return None
    try:
        return _JSON.decode(value)
    except msgspec.DecodeError:
        raise invalid(f"'{param}' is not valid JSON", param) from None


def _tools(req: m.ChatRequest) -> None:
    names = set()
    for i, tool in enumerate(req.tools or ()):
        if not tool.function.name:
            raise invalid(f"tools[{i}].function.name is required", f"tools[{i}].function.name")
        names.add(tool.function.name)
    choice = _raw(req.tool_choice, "tool_choice")
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in _CHOICES:
            raise invalid(f"`tool_choice` must be one of {list(_CHOICES)} or a function object", "tool_choice")
        if choice == "required" and not names:
            raise invalid("`tool_choice` is 'required' but no `tools` were given", "tool_choice")
        return
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if not name:
        raise invalid("`tool_choice.function.name` is required", "tool_choice")
    if name not in names:
        raise invalid(f"`tool_choice` names {name!r}, which is not in `tools`", "tool_choice")


def _response_format(fmt: Any) -> None:
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") not in _FORMATS:
        raise invalid(f"`response_format.type` must be one of {list(_FORMATS)}", "response_format.type")
    if fmt["type"] == "json_schema" and not (fmt.get("json_schema") or {}).get("name"):
        raise invalid("`response_format.json_schema.name` is required", "response_format.json_schema.name")


def validate_chat(req: m.ChatRequest) -> None:
    """Raise a 400 naming the parameter for values no upstream would accept."""
    _messages(req.messages)
    for name, (lo, hi) in _RANGES.items():
        _number(name, getattr(req, name), lo, hi)
    if isinstance(req.stop, list) and len(req.stop) > 4:
        raise invalid("`stop` takes at most 4 sequences", "stop")
    _tools(req)
    _response_format(_raw(req.response_format, "response_format"))
    if req.stream_options and not req.stream:
        raise invalid("`stream_options` is only allowed when `stream` is true", "stream_options")
