"""Gemini generateContent wire format <-> OpenAI chat dicts (contents, media, function calls, usage)."""
from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from tokenyard.errors import GatewayError, invalid
from tokenyard.payload import loads
from tokenyard.protocol.models import AnswerMessage, Choice, Completion, Usage
from tokenyard.providers.base import answer_message
from tokenyard.providers.media import media_of

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
                  "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
                  "IMAGE_SAFETY": "content_filter", "LANGUAGE": "content_filter"}
_SYSTEM_ROLES = ("system", "developer")
# Gemini thinking models sign their function calls; the signature rides in the OpenAI tool call id.
_SIG = "__sig__"


def call_id(upstream_id: str | None, signature: str | None) -> str:
    """The OpenAI tool call id for a Gemini functionCall (carrying its thought signature, if any)."""
    base = upstream_id or f"call_{uuid.uuid4().hex[:24]}"
    return f"{base}{_SIG}{signature}" if signature else base


def _split_id(tool_call_id: str) -> tuple[str, str | None]:
    base, sep, sig = tool_call_id.partition(_SIG)
    return base, (sig if sep else None)


def _media_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    media = media_of(part, f"{param}.{part['type']}.url")
    if media.data:
        return {"inlineData": {"mimeType": media.mime, "data": media.data}}
    return {"fileData": {"mimeType": media.mime, "fileUri": media.url}}


def _parts(content: Any, param: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind, where = part.get("type"), f"{param}[{j}]"
        if kind == "text":
            if part.get("text"):
                out.append({"text": part["text"]})
        elif kind in ("image_url", "video_url"):
            out.append(_media_part(part, where))
        else:
            raise invalid(f"{where}: content type {kind!r} is not supported by Gemini models", where)
    return out


def _function_call(call: dict[str, Any], param: str) -> dict[str, Any]:
    fn = call.get("function") or {}
    args = loads(fn.get("arguments") or "{}", f"{param}.function.arguments")
    base, sig = _split_id(call.get("id") or "")
    part: dict[str, Any] = {"functionCall": {"name": fn.get("name") or "", "args": args}}
    if base:
        part["functionCall"]["id"] = base
    if sig:
        part["thoughtSignature"] = sig
    return part


def _function_response(m: dict[str, Any], names: dict[str, str], param: str) -> dict[str, Any]:
    content = m.get("content")
    text = content if isinstance(content, str) else "".join(
        p.get("text") or "" for p in content or () if p.get("type") == "text")
    try:
        value = loads(text)
    except GatewayError:  # not JSON, or too deep to forward as such: sent as text
        value = None
    response = value if isinstance(value, dict) else {"result": text if value is None else value}
    tid = m.get("tool_call_id") or ""
    if tid not in names:
        raise invalid(f"{param}.tool_call_id {tid!r} answers no earlier tool call", f"{param}.tool_call_id")
    base, _ = _split_id(tid)
    return {"functionResponse": {"id": base, "name": names[tid], "response": response}}


def contents_of(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system parts, contents): system/developer lifted out, tool results as functionResponse, roles merged."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for i, m in enumerate(messages):
        role, param = m.get("role"), f"messages[{i}]"
        if role in _SYSTEM_ROLES:
            system += _parts(m.get("content"), f"{param}.content")
            continue
        if role in ("tool", "function"):
            g_role, parts = "user", [_function_response(m, names, param)]
        elif role == "assistant":
            g_role, parts = "model", _parts(m.get("content"), f"{param}.content")
            for k, call in enumerate(m.get("tool_calls") or ()):
                names[call.get("id") or ""] = (call.get("function") or {}).get("name") or ""
                parts.append(_function_call(call, f"{param}.tool_calls[{k}]"))
        else:
            g_role, parts = "user", _parts(m.get("content"), f"{param}.content")
        if not parts:
            continue
        if contents and contents[-1]["role"] == g_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": g_role, "parts": parts})
    return system, contents


def _generation_config(request: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"), ("n", "candidateCount"),
                     ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if request.get(src) is not None:
            config[dst] = request[src]
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if limit:
        config["maxOutputTokens"] = limit
    stop = request.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    fmt = request.get("response_format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema is not None:
            config["responseJsonSchema"] = schema
    return config


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or ""
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    mode = {"none": "NONE", "required": "ANY"}.get(str(choice), "AUTO")
    return {"functionCallingConfig": {"mode": mode}}


def _declaration(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool.get("function") or {}
    decl: dict[str, Any] = {"name": fn.get("name") or ""}
    if fn.get("description"):
        decl["description"] = fn["description"]
    if fn.get("parameters"):
        decl["parametersJsonSchema"] = fn["parameters"]
    return decl


def to_gemini(request: dict[str, Any]) -> dict[str, Any]:
    """The generateContent body for an OpenAI chat request (the model goes in the URL)."""
    system, contents = contents_of(request.get("messages") or [])
    if not contents:
        raise invalid("Gemini models need at least one user or assistant message", "messages")
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    if request.get("tools"):
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in request["tools"]]}]
        tool_config = _tool_config(request.get("tool_choice"))
        if tool_config:
            body["toolConfig"] = tool_config
    return body


def usage_of(meta: dict[str, Any]) -> dict[str, int]:
    """usageMetadata -> OpenAI usage (thinking tokens are completion tokens)."""
    prompt = int(meta.get("promptTokenCount") or 0)
    completion = int(meta.get("candidatesTokenCount") or 0) + int(meta.get("thoughtsTokenCount") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def finish_of(reason: str | None, has_calls: bool) -> str | None:
    """Gemini finishReason -> OpenAI finish_reason (STOP after function calls means tool_calls)."""
    if not reason:
        return None
    if reason == "STOP" and has_calls:
        return "tool_calls"
    return FINISH_REASONS.get(reason, "stop")


def tool_call_of(part: dict[str, Any]) -> dict[str, Any]:
    """A functionCall part as an OpenAI tool call (full arguments)."""
    fc = part["functionCall"]
    return {"id": call_id(fc.get("id"), part.get("thoughtSignature")), "type": "function",
            "function": {"name": fc.get("name") or "", "arguments": orjson.dumps(fc.get("args") or {}).decode()}}


def _choice(i: int, cand: dict[str, Any]) -> Choice:
    parts = (cand.get("content") or {}).get("parts") or []
    text = "".join(p.get("text") or "" for p in parts if "text" in p and not p.get("thought"))
    reasoning = "".join(p.get("text") or "" for p in parts if "text" in p and p.get("thought"))
    calls = [tool_call_of(p) for p in parts if "functionCall" in p]
    return Choice(index=int(cand.get("index") or i), message=answer_message(text, reasoning, calls),
                  finish_reason=finish_of(cand.get("finishReason") or "STOP", bool(calls)))


def from_gemini(resp: dict[str, Any], model: str) -> Completion:
    """A GenerateContentResponse -> a typed chat.completion (a blocked prompt is an empty content_filter answer)."""
    candidates = resp.get("candidates") or []
    choices = [_choice(i, c) for i, c in enumerate(candidates)]
    if not choices:
        choices = [Choice(index=0, message=AnswerMessage(role="assistant", content=""), finish_reason="content_filter")]
    return Completion(id=f"chatcmpl-{resp.get('responseId') or uuid.uuid4().hex}", created=int(time.time()),
                      model=resp.get("modelVersion") or model, choices=choices,
                      usage=Usage(**usage_of(resp.get("usageMetadata") or {})))
