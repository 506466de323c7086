"""OpenAI chat completions JSON bytes <-> the typed core, with the type checks the gateway needs.

One parse per request: `decode_chat_request` reads the body straight into `ChatRequest` (unknown top-level fields
kept as raw JSON in `extra`); answers are written straight from `Completion` / `Chunk`. A bad body is a 400 naming
the parameter, in the same words the facade's pydantic schema (kept for /openapi.json) would use.
"""
from __future__ import annotations

import re
from typing import Any, Literal

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct

from tokenyard.errors import GatewayError, invalid
from tokenyard.payload import MAX_JSON_DEPTH, check_depth
from tokenyard.protocol.models import ChatRequest, Chunk, Completion, Message

_KNOWN = frozenset(f.encode_name for f in msgspec.structs.fields(ChatRequest) if f.name != "extra")
_DECODER = msgspec.json.Decoder(type=ChatRequest)
_OPEN = msgspec.json.Decoder(type=dict[str, Raw])
_ENCODER = msgspec.json.Encoder()
_AT = re.compile(r" - at `\$(.*)`$")
_MISSING = re.compile(r"^Object missing required field `([^`]+)`")


class _ToolChoiceFunction(Struct):
    name: str


class _ToolChoiceObject(Struct):
    function: _ToolChoiceFunction
    type: Literal["function"] = "function"


class _ResponseFormat(Struct):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Raw] | None = None


_CHECKS: dict[str, msgspec.json.Decoder[Any]] = {
    "tool_choice": msgspec.json.Decoder(type=Literal["none", "auto", "required"] | _ToolChoiceObject | None),
    "response_format": msgspec.json.Decoder(type=_ResponseFormat | None),
}


def _param(path: str) -> str:
    """msgspec's `$.messages[0].content` path as the OpenAI `param` `messages[0].content`."""
    return path[1:] if path.startswith(".") else path


def _error(exc: msgspec.ValidationError, prefix: str = "") -> GatewayError:
    """A msgspec validation error as the facade's 400 (`prefix`: the path of the value decoded)."""
    text = str(exc)
    found = _AT.search(text)
    where = prefix + (found.group(1) if found else "")
    text = text[:found.start()] if found else text
    missing = _MISSING.match(text)
    if missing:
        name = _param(f"{where}.{missing.group(1)}")
        return invalid(f"Missing required parameter: '{name}'", name)
    if not where:
        return invalid("Request body must be a JSON object (send Content-Type: application/json)")
    name = _param(where)
    return invalid(f"Invalid value for '{name}': {text}", name)


def _is_null(raw: Raw) -> bool:
    return bytes(raw).strip() == b"null"


def _check_opaque(req: ChatRequest) -> ChatRequest:
    """Type checks of the fields carried as raw JSON; an explicit null counts as absent."""
    for name, decoder in _CHECKS.items():
        raw = getattr(req, name)
        if raw is UNSET:
            continue
        if _is_null(raw):
            setattr(req, name, UNSET)
            continue
        try:
            decoder.decode(raw)
        except msgspec.ValidationError as exc:
            raise _error(exc, "." + name) from None
    for i, tool in enumerate(req.tools or ()):
        params = tool.function.parameters
        if params is UNSET:
            continue
        head = bytes(params).lstrip()[:1]
        if _is_null(params):
            tool.function.parameters = UNSET
        elif head != b"{":
            name = f"tools[{i}].function.parameters"
            raise invalid(f"Invalid value for '{name}': Expected `object`", name)
    return req


def decode_chat_request(body: bytes) -> ChatRequest:
    """The body of POST /v1/chat/completions, parsed once: a 400 (GatewayError) naming the parameter when it is
    not JSON, nests deeper than MAX_JSON_DEPTH, or a field has the wrong type."""
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        try:
            check_depth(orjson.loads(body), raw=body)
        except orjson.JSONDecodeError as exc:
            raise invalid(f"Request body is not valid JSON: {str(exc).split(':')[0]}") from None
    try:
        req = _DECODER.decode(body)  # unknown fields are skipped here...
    except msgspec.ValidationError as exc:
        raise _error(exc) from None
    except msgspec.DecodeError as exc:
        raise invalid(f"Request body is not valid JSON: {str(exc).split(' - ')[0]}") from None
    req.extra = {k: v for k, v in _OPEN.decode(body).items() if k not in _KNOWN}  # ...and kept raw by a scan
    return _check_opaque(req)


def chat_request_from_dict(data: dict[str, Any]) -> ChatRequest:
    """An OpenAI chat request given as a dict (built in code, e.g. by the chat-app route): checked the same way."""
    return decode_chat_request(orjson.dumps(data))


def encode_request(req: ChatRequest, **override: Any) -> bytes:
    """The request as OpenAI chat JSON (unknown fields back at the top level, byte-exact); `override` replaces
    or adds top-level fields (e.g. the upstream model name)."""
    out: dict[str, Any] = {f: v for f in req.__struct_fields__ if f != "extra" and (v := getattr(req, f)) is not UNSET}
    out.update(req.extra)
    out.update(override)
    return _ENCODER.encode(out)


def request_to_dict(req: ChatRequest) -> dict[str, Any]:
    """The request as the OpenAI-format dict the Router and adapters still take (parses the raw parts once)."""
    try:
        return orjson.loads(encode_request(req))
    except orjson.JSONDecodeError as exc:  # raw JSON from a gRPC caller with bad UTF-8 inside a string
        raise invalid(f"The request carries invalid JSON: {str(exc).split(':')[0]}") from None


def message_to_dict(message: Message) -> dict[str, Any]:
    """One message as an OpenAI-format dict."""
    return orjson.loads(_ENCODER.encode(message))


def encode_completion(completion: Completion) -> bytes:
    """A chat.completion as JSON bytes."""
    return _ENCODER.encode(completion)


def encode_chunk(chunk: Chunk) -> bytes:
    """A chat.completion.chunk as JSON bytes (one SSE `data:` payload)."""
    return _ENCODER.encode(chunk)


# Responses API and Anthropic Messages converters come next, as protocol/openai_responses.py and
# protocol/anthropic_messages.py beside this module: client wire bytes <-> the same typed core.
