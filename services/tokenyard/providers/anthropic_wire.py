"""Anthropic Messages API wire format <-> OpenAI chat dicts (system, parts, images, tools, stop reasons, usage)."""
from __future__ import annotations

import time
from typing import Any

import orjson

from tokenyard.errors import invalid
from tokenyard.payload import check_depth
from tokenyard.protocol.models import Choice, Completion, Usage
from tokenyard.providers.base import answer_message
from tokenyard.providers.media import media_of

DEFAULT_MAX_TOKENS = 4096
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length"}
ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
                "overloaded_error": 529}
_SYSTEM_ROLES = ("system", "developer")


def _text_of(content: Any, param: str) -> str:
    """Plain text of system content (a string or text parts)."""
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for j, part in enumerate(content):
        if part.get("type") != "text":
            raise invalid(f"{param}[{j}]: only text parts are allowed here", f"{param}[{j}]")
        texts.append(part.get("text") or "")
    return "".join(texts)


def _image_block(part: dict[str, Any], param: str) -> dict[str, Any]:
    media = media_of(part, f"{param}.image_url.url")
    if media.data:
        return {"type": "image", "source": {"type": "base64", "media_type": media.mime, "data": media.data}}
    return {"type": "image", "source": {"type": "url", "url": media.url}}


def _blocks(content: Any, param: str) -> list[dict[str, Any]]:
    """User/assistant content as Anthropic content blocks (empty text dropped: Anthropic rejects it)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind, where = part.get("type"), f"{param}[{j}]"
        if kind == "text":
            if part.get("text"):
                out.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            out.append(_image_block(part, where))
        else:
            raise invalid(f"{where}: content type {kind!r} is not supported by Anthropic models", where)
    return out


def _tool_use(call: dict[str, Any], param: str) -> dict[str, Any]:
    fn = call.get("function") or {}
    raw = fn.get("arguments") or "{}"
    try:
        args = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid(f"{param}.function.arguments is not valid JSON", f"{param}.function.arguments") from None
    if not isinstance(args, dict):
        raise invalid(f"{param}.function.arguments must be a JSON object", f"{param}.function.arguments")
    check_depth(args, f"{param}.function.arguments", raw)
    return {"type": "tool_use", "id": call.get("id") or "", "name": fn.get("name") or "", "input": args}


def _tool_result(m: dict[str, Any], param: str) -> dict[str, Any]:
    content = m.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.get("tool_call_id") or ""}
    if isinstance(content, str):
        block["content"] = content
    elif content:
        block["content"] = _blocks(content, f"{param}.content")
    return block


def _message(m: dict[str, Any], i: int) -> tuple[str, list[dict[str, Any]]]:
    role, param = m.get("role"), f"messages[{i}]"
    if role == "tool" or role == "function":
        return "user", [_tool_result(m, param)]
    blocks = _blocks(m.get("content"), f"{param}.content")
    if role == "assistant":
        blocks += [_tool_use(c, f"{param}.tool_calls[{k}]") for k, c in enumerate(m.get("tool_calls") or ())]
        return "assistant", blocks
    return "user", blocks


def messages_of(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """(system text, Anthropic messages): system/developer messages lifted out, same roles merged."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        if m.get("role") in _SYSTEM_ROLES:
            text = _text_of(m.get("content"), f"messages[{i}].content")
            if text:
                system.append(text)
            continue
        role, blocks = _message(m, i)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(system), out


def _tool_choice(choice: Any, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None and parallel is None:
        return None
    if isinstance(choice, dict):
        out: dict[str, Any] = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    else:
        out = {"type": {"none": "none", "required": "any"}.get(str(choice), "auto")}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _json_instruction(fmt: dict[str, Any] | None) -> str:
    """Anthropic has no JSON mode: ask for it in the system prompt."""
    if not fmt or fmt.get("type") not in ("json_object", "json_schema"):
        return ""
    schema = (fmt.get("json_schema") or {}).get("schema")
    if schema is not None:
        return ("Respond with only a JSON object, no prose or code fences, matching this JSON schema: "
                + orjson.dumps(schema).decode())
    return "Respond with only a valid JSON object, no prose or code fences."


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        fn = tool.get("function") or {}
        entry = {"name": fn.get("name"), "input_schema": fn.get("parameters") or {"type": "object",
                                                                                  "properties": {}}}
        if fn.get("description"):
            entry["description"] = fn["description"]
        out.append(entry)
    return out


def _sampling(request: dict[str, Any], body: dict[str, Any]) -> None:
    if request.get("temperature") is not None:
        body["temperature"] = min(float(request["temperature"]), 1.0)  # Anthropic's range is 0..1
    if request.get("top_p") is not None:
        body["top_p"] = request["top_p"]
    stop = request.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.get("user"):
        body["metadata"] = {"user_id": request["user"]}


def to_anthropic(request: dict[str, Any]) -> dict[str, Any]:
    """The Messages API body for an OpenAI chat request (400 naming the param for what cannot translate)."""
    if (request.get("n") or 1) > 1:
        raise invalid("Anthropic models return one choice: `n` must be 1", "n")
    system, messages = messages_of(request.get("messages") or [])
    if not messages:
        raise invalid("Anthropic models need at least one user or assistant message", "messages")
    limit = request.get("max_completion_tokens") or request.get("max_tokens") or DEFAULT_MAX_TOKENS
    body: dict[str, Any] = {"model": request["model"], "max_tokens": limit, "messages": messages}
    instruction = _json_instruction(request.get("response_format"))
    system = "\n\n".join(s for s in (system, instruction) if s)
    if system:
        body["system"] = system
    _sampling(request, body)
    if request.get("tools"):
        body["tools"] = _tools(request["tools"])
        choice = _tool_choice(request.get("tool_choice"), request.get("parallel_tool_calls"))
        if choice is not None:
            body["tool_choice"] = choice
    return body


def usage_of(usage: dict[str, Any]) -> dict[str, int]:
    """Anthropic usage -> OpenAI usage (cache reads and writes are prompt tokens too)."""
    prompt = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                    "cache_read_input_tokens"))
    completion = int(usage.get("output_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def tool_call_of(block: dict[str, Any]) -> dict[str, Any]:
    """A tool_use block as an OpenAI tool call."""
    args = orjson.dumps(block.get("input") or {}).decode()
    return {"id": block.get("id") or "", "type": "function",
            "function": {"name": block.get("name") or "", "arguments": args}}


def from_anthropic(msg: dict[str, Any]) -> Completion:
    """A Messages API response -> a typed chat.completion."""
    blocks = msg.get("content") or []
    text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
    reasoning = "".join(b.get("thinking") or "" for b in blocks if b.get("type") == "thinking")
    calls = [tool_call_of(b) for b in blocks if b.get("type") == "tool_use"]
    return Completion(id=msg.get("id") or "", created=int(time.time()), model=msg.get("model") or "",
                      choices=[Choice(index=0, message=answer_message(text, reasoning, calls),
                                      finish_reason=STOP_REASONS.get(msg.get("stop_reason") or "", "stop"))],
                      usage=Usage(**usage_of(msg.get("usage") or {})))
