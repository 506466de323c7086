"""Limits on request payloads shared by the HTTP facade and the gRPC servers: JSON depth, media bytes."""
from __future__ import annotations

from typing import Any

import orjson

from tokenyard.errors import invalid

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in a request (the top-level object is depth 1).

Real JSON schemas stay well under 20 levels; the cap keeps every later serialisation (orjson stops at 255,
pydantic earlier) and every recursive walk far from its limit, so a deep body is a 400, never a 500."""


def _excess(value: Any, budget: int) -> list[Any] | None:
    """The path (innermost first) to a container nested more than `budget` levels below `value`, or None."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    if budget == 0:
        return []
    for key, child in items:
        if isinstance(child, (dict, list)):
            path = _excess(child, budget - 1)
            if path is not None:
                path.append(key)
                return path
    return None


def check_depth(doc: Any, param: str | None = None, raw: bytes | str | None = None) -> None:
    """Raise a 400 naming the parameter when `doc` nests deeper than MAX_JSON_DEPTH.

    `param` names `doc` itself (None: the request body, then the top-level key is named); `raw`, the text it
    was parsed from, lets small documents skip the walk (fewer brackets than the cap cannot exceed it)."""
    if raw is not None:
        opens = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
        if raw.count(opens[0]) + raw.count(opens[1]) <= MAX_JSON_DEPTH:
            return
    path = _excess(doc, MAX_JSON_DEPTH - 1)
    if path is None:
        return
    where = param or (str(path[-1]) if path else None)
    raise invalid(f"'{where or 'body'}' is nested more than {MAX_JSON_DEPTH} levels deep", where)


def loads(text: str | bytes, param: str | None = None) -> Any:
    """Parse a JSON string carried inside a request (tool parameters, response_format, ...): a 400 naming
    `param` when it is not JSON or nests too deep (None: an object whose keys are the parameters)."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise invalid(f"'{param or 'request'}' is not valid JSON", param) from None
    check_depth(doc, param, text)
    return doc


def _data_uri_len(value: Any) -> int:
    return len(value) if isinstance(value, str) and value.startswith("data:") else 0


def _ref(value: Any, key: str) -> Any:
    """`value[key]` when value is an object; a bare string stands for itself (`"image_url": "data:..."`)."""
    return value.get(key) if isinstance(value, dict) else value


def _part_media(part: dict[str, Any]) -> int:
    """Bytes of media payload one content part carries: a data URI (image, video, file) or inline base64
    audio, in the OpenAI chat and Responses wire formats; 0 for any other part."""
    kind = part.get("type")
    if kind in ("image_url", "video_url"):
        return _data_uri_len(_ref(part.get(kind), "url"))
    if kind == "file":
        return _data_uri_len(_ref(part.get("file"), "file_data"))
    if kind == "input_audio":
        data = _ref(part.get("input_audio"), "data")
        return len(data) if isinstance(data, str) else 0
    if kind == "input_image":
        return _data_uri_len(part.get("image_url"))
    if kind == "input_file":
        return _data_uri_len(part.get("file_data"))
    return 0


def media_bytes(doc: Any) -> int:
    """Total length of the media payloads (data URIs and inline audio) in the content parts of `messages`
    (chat format) or `input` (Responses format). Text and any other field never count, whatever they hold."""
    if not isinstance(doc, dict):
        return 0
    total = 0
    for key in ("messages", "input"):
        items = doc.get(key)
        for message in items if isinstance(items, list) else ():
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                total += sum(_part_media(p) for p in content if isinstance(p, dict))
    return total
