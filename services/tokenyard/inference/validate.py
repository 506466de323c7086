"""Semantic checks of an OpenAI chat request dict (types are checked by the wire layer): 400 naming the param."""
from __future__ import annotations

from typing import Any

from tokenyard.errors import invalid

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


def _number(request: dict[str, Any], name: str, lo: float, hi: float) -> None:
    value = request.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"`{name}` must be a number", name)
    if not lo <= value <= hi:
        raise invalid(f"`{name}` must be between {lo} and {hi}, got {value}", name)


def _media_url(part: dict[str, Any], param: str) -> None:
    holder = part.get(part["type"])
    url = holder if isinstance(holder, str) else (holder or {}).get("url") if isinstance(holder, dict) else None
    where = f"{param}.{part['type']}.url"
    if not isinstance(url, str) or not url:
        raise invalid(f"{where} is required", where)
    if not (url.startswith(("http://", "https://", "gs://")) or url.startswith("data:") and ";base64," in url):
        raise invalid(f"{where} must be an http(s) URL or a base64 data: URI", where)


def _content(m: dict[str, Any], i: int) -> None:
    content, param = m.get("content"), f"messages[{i}].content"
    if content is None:
        if m["role"] == "assistant" and m.get("tool_calls"):
            return
        if m["role"] in ("user", "system", "developer", "tool"):
            raise invalid(f"{param} is required for {m['role']} messages", param)
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise invalid(f"{param} must be a string or a non-empty array of content parts", param)
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict) or part.get("type") not in _PART_TYPES:
            raise invalid(f"{where}.type must be one of {sorted(_PART_TYPES)}", f"{where}.type")
        if part["type"] in ("image_url", "video_url"):
            _media_url(part, where)


def _messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise invalid("`messages` must be a non-empty array", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise invalid(f"messages[{i}].role must be one of {sorted(_ROLES)}", f"messages[{i}].role")
        if m["role"] == "tool" and not m.get("tool_call_id"):
            raise invalid(f"messages[{i}].tool_call_id is required for tool messages", f"messages[{i}].tool_call_id")
        _content(m, i)


def _tools(request: dict[str, Any]) -> None:
    names = set()
    for i, tool in enumerate(request.get("tools") or ()):
        name = (tool.get("function") or {}).get("name")
        if not name:
            raise invalid(f"tools[{i}].function.name is required", f"tools[{i}].function.name")
        names.add(name)
    choice = request.get("tool_choice")
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


def validate_chat(request: dict[str, Any]) -> None:
    """Raise a 400 naming the parameter for values no upstream would accept."""
    _messages(request.get("messages"))
    for name, (lo, hi) in _RANGES.items():
        _number(request, name, lo, hi)
    stop = request.get("stop")
    if isinstance(stop, list) and len(stop) > 4:
        raise invalid("`stop` takes at most 4 sequences", "stop")
    _tools(request)
    _response_format(request.get("response_format"))
    if request.get("stream_options") and not request.get("stream"):
        raise invalid("`stream_options` is only allowed when `stream` is true", "stream_options")
