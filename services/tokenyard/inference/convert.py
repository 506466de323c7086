"""OpenAI chat JSON (dicts) <-> tokenyard.inference.v1 protos, used by the facade and the Router alike."""
from __future__ import annotations

from typing import Any

import orjson

from tokenyard.common.v1 import common_pb2
from tokenyard.inference.v1 import chat_pb2 as pb
from tokenyard.payload import loads

_KNOWN = frozenset({
    "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "n", "seed",
    "response_format", "tools", "tool_choice", "stream", "stream_options", "user", "presence_penalty",
    "frequency_penalty", "parallel_tool_calls",
})
_OPTIONAL_SCALARS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "seed",
                     "presence_penalty", "frequency_penalty", "parallel_tool_calls")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _part_to_pb(part: dict[str, Any]) -> pb.ContentPart:
    kind = part.get("type")
    if kind == "text":
        return pb.ContentPart(text=part.get("text") or "")
    if kind == "image_url":
        img = part.get("image_url") or {}
        if isinstance(img, str):
            img = {"url": img}
        return pb.ContentPart(image_url=pb.ImageUrl(url=img.get("url", ""), detail=img.get("detail") or ""))
    if kind == "video_url":
        vid = part.get("video_url") or {}
        if isinstance(vid, str):
            vid = {"url": vid}
        return pb.ContentPart(video_url=pb.VideoUrl(url=vid.get("url", "")))
    return pb.ContentPart(other_json=_dumps(part))


def _part_to_dict(part: pb.ContentPart, where: str) -> dict[str, Any]:
    which = part.WhichOneof("part")
    if which == "text":
        return {"type": "text", "text": part.text}
    if which == "image_url":
        img: dict[str, Any] = {"url": part.image_url.url}
        if part.image_url.detail:
            img["detail"] = part.image_url.detail
        return {"type": "image_url", "image_url": img}
    if which == "video_url":
        return {"type": "video_url", "video_url": {"url": part.video_url.url}}
    return loads(part.other_json, where) if part.other_json else {"type": "text", "text": ""}


def message_to_pb(m: dict[str, Any]) -> pb.ChatMessage:
    """One OpenAI message dict -> proto."""
    out = pb.ChatMessage(role=m.get("role") or "", name=m.get("name") or "",
                         tool_call_id=m.get("tool_call_id") or "",
                         reasoning=m.get("reasoning_content") or m.get("reasoning") or "")
    content = m.get("content")
    if content is None:
        out.content_is_null = True
    elif isinstance(content, str):
        out.content_is_text = True
        out.content.append(pb.ContentPart(text=content))
    else:
        out.content.extend(_part_to_pb(p) for p in content)
    for call in m.get("tool_calls") or ():
        fn = call.get("function") or {}
        out.tool_calls.append(pb.ToolCall(id=call.get("id") or "", type=call.get("type") or "function",
                                          name=fn.get("name") or "", arguments=fn.get("arguments") or ""))
    return out


def message_to_dict(m: pb.ChatMessage, where: str = "message") -> dict[str, Any]:
    """Proto -> one OpenAI message dict (`where` names it in errors)."""
    out: dict[str, Any] = {"role": m.role}
    if m.content_is_null:
        out["content"] = None
    elif m.content_is_text:
        out["content"] = m.content[0].text if m.content else ""
    else:
        out["content"] = [_part_to_dict(p, f"{where}.content[{i}]") for i, p in enumerate(m.content)]
    if m.name:
        out["name"] = m.name
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": c.type or "function",
                              "function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    if m.reasoning:
        out["reasoning_content"] = m.reasoning
    return out


def request_to_pb(d: dict[str, Any]) -> pb.ChatCompletionRequest:
    """A (validated) OpenAI chat request dict -> proto; unknown fields go to extra_json."""
    out = pb.ChatCompletionRequest(model=d.get("model") or "", stream=bool(d.get("stream")),
                                   user=d.get("user") or "")
    out.messages.extend(message_to_pb(m) for m in d.get("messages") or ())
    for name in _OPTIONAL_SCALARS:
        if d.get(name) is not None:
            setattr(out, name, d[name])
    stop = d.get("stop")
    if stop is not None:
        out.stop.extend([stop] if isinstance(stop, str) else stop)
    if d.get("response_format") is not None:
        out.response_format_json = _dumps(d["response_format"])
    if d.get("tool_choice") is not None:
        out.tool_choice_json = _dumps(d["tool_choice"])
    for tool in d.get("tools") or ():
        fn = tool.get("function") or {}
        t = pb.Tool(type=tool.get("type") or "function", name=fn.get("name") or "",
                    description=fn.get("description") or "",
                    parameters_json=_dumps(fn["parameters"]) if fn.get("parameters") is not None else "")
        if fn.get("strict") is not None:
            t.strict = bool(fn["strict"])
        out.tools.append(t)
    opts = d.get("stream_options") or {}
    out.include_usage = bool(opts.get("include_usage"))
    extra = {k: v for k, v in d.items() if k not in _KNOWN}
    if extra:
        out.extra_json = _dumps(extra)
    return out


def request_to_dict(r: pb.ChatCompletionRequest) -> dict[str, Any]:
    """Proto -> the OpenAI chat request dict (extra fields restored)."""
    out: dict[str, Any] = loads(r.extra_json) if r.extra_json else {}  # errors name the field itself
    out["model"] = r.model
    out["messages"] = [message_to_dict(m, f"messages[{i}]") for i, m in enumerate(r.messages)]
    for name in _OPTIONAL_SCALARS:
        if r.HasField(name):
            out[name] = getattr(r, name)
    if r.stop:
        out["stop"] = list(r.stop)
    if r.response_format_json:
        out["response_format"] = loads(r.response_format_json, "response_format")
    if r.tool_choice_json:
        out["tool_choice"] = loads(r.tool_choice_json, "tool_choice")
    if r.tools:
        tools = []
        for i, t in enumerate(r.tools):
            fn: dict[str, Any] = {"name": t.name}
            if t.description:
                fn["description"] = t.description
            if t.parameters_json:
                fn["parameters"] = loads(t.parameters_json, f"tools[{i}].function.parameters")
            if t.HasField("strict"):
                fn["strict"] = t.strict
            tools.append({"type": t.type or "function", "function": fn})
        out["tools"] = tools
    if r.stream:
        out["stream"] = True
        if r.include_usage:
            out["stream_options"] = {"include_usage": True}
    if r.user:
        out["user"] = r.user
    return out


def usage_to_pb(u: dict[str, Any] | None) -> common_pb2.Usage | None:
    """OpenAI usage dict -> proto."""
    if not u:
        return None
    p, c = int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
    return common_pb2.Usage(prompt_tokens=p, completion_tokens=c, total_tokens=int(u.get("total_tokens") or p + c),
                            estimated=bool(u.get("estimated")))


def usage_to_dict(u: common_pb2.Usage) -> dict[str, int]:
    """Proto -> OpenAI usage dict."""
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens}


def completion_to_pb(d: dict[str, Any]) -> pb.ChatCompletion:
    """OpenAI chat.completion dict -> proto."""
    out = pb.ChatCompletion(id=d.get("id") or "", model=d.get("model") or "", created=int(d.get("created") or 0),
                            system_fingerprint=d.get("system_fingerprint") or "")
    for ch in d.get("choices") or ():
        out.choices.append(pb.Choice(index=int(ch.get("index") or 0), message=message_to_pb(ch.get("message") or {}),
                                     finish_reason=ch.get("finish_reason") or ""))
    usage = usage_to_pb(d.get("usage"))
    if usage is not None:
        out.usage.CopyFrom(usage)
    return out


def completion_to_dict(c: pb.ChatCompletion) -> dict[str, Any]:
    """Proto -> OpenAI chat.completion dict."""
    out: dict[str, Any] = {
        "id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
        "choices": [{"index": ch.index, "message": message_to_dict(ch.message),
                     "logprobs": None, "finish_reason": ch.finish_reason or None} for ch in c.choices],
    }
    if c.HasField("usage"):
        out["usage"] = usage_to_dict(c.usage)
    if c.system_fingerprint:
        out["system_fingerprint"] = c.system_fingerprint
    return out


def chunk_to_pb(d: dict[str, Any]) -> pb.ChatCompletionChunk:
    """OpenAI chat.completion.chunk dict -> proto."""
    out = pb.ChatCompletionChunk(id=d.get("id") or "", model=d.get("model") or "", created=int(d.get("created") or 0),
                                 system_fingerprint=d.get("system_fingerprint") or "")
    for ch in d.get("choices") or ():
        delta = ch.get("delta") or {}
        pd = pb.Delta(role=delta.get("role") or "")
        if delta.get("content") is not None:
            pd.content = delta["content"]
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            pd.reasoning = reasoning
        for tc in delta.get("tool_calls") or ():
            fn = tc.get("function") or {}
            pd.tool_calls.append(pb.ToolCallDelta(index=int(tc.get("index") or 0), id=tc.get("id") or "",
                                                  type=tc.get("type") or "", name=fn.get("name") or "",
                                                  arguments=fn.get("arguments") or ""))
        out.choices.append(pb.ChunkChoice(index=int(ch.get("index") or 0), delta=pd,
                                          finish_reason=ch.get("finish_reason") or ""))
    usage = usage_to_pb(d.get("usage"))
    if usage is not None:
        out.usage.CopyFrom(usage)
    return out


def _delta_to_dict(d: pb.Delta) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.role:
        out["role"] = d.role
    if d.HasField("content"):
        out["content"] = d.content
    if d.HasField("reasoning"):
        out["reasoning_content"] = d.reasoning
    if d.tool_calls:
        calls = []
        for tc in d.tool_calls:
            call: dict[str, Any] = {"index": tc.index}
            if tc.id:
                call["id"] = tc.id
                call["type"] = tc.type or "function"
            fn: dict[str, Any] = {}
            if tc.name:
                fn["name"] = tc.name
            fn["arguments"] = tc.arguments
            call["function"] = fn
            calls.append(call)
        out["tool_calls"] = calls
    return out


def chunk_to_dict(c: pb.ChatCompletionChunk) -> dict[str, Any]:
    """Proto -> OpenAI chat.completion.chunk dict."""
    out: dict[str, Any] = {
        "id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
        "choices": [{"index": ch.index, "delta": _delta_to_dict(ch.delta), "logprobs": None,
                     "finish_reason": ch.finish_reason or None} for ch in c.choices],
    }
    if c.HasField("usage"):
        out["usage"] = usage_to_dict(c.usage)
    if c.system_fingerprint:
        out["system_fingerprint"] = c.system_fingerprint
    return out
