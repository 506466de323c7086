"""tokenyard.inference.v1 protos <-> the typed core (tokenyard.protocol), used by the facade and the Router alike.

Opaque JSON (tool schemas, response_format, tool_choice, audio/file parts, unknown fields) crosses as raw bytes;
the Router checks each once (valid JSON, not nested too deep) and keeps it raw. The Router's results are typed
too (`Completion`, `Chunk`): `completion_to_pb` / `chunk_to_pb` map them to the protos, field by field.
"""
from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from tokenyard.common.v1 import common_pb2
from tokenyard.errors import invalid
from tokenyard.inference.v1 import chat_pb2 as pb
from tokenyard.payload import MAX_JSON_DEPTH, check_depth, loads
from tokenyard.protocol import models as m
from tokenyard.protocol.openai_chat import chat_request_from_dict, request_to_dict as typed_to_dict

_OPTIONAL_SCALARS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "seed",
                     "presence_penalty", "frequency_penalty", "parallel_tool_calls")
_SCALAR_SET = frozenset(_OPTIONAL_SCALARS)
_PART = msgspec.json.Decoder(type=m.ContentPart)
_ENCODER = msgspec.json.Encoder()
_VALID = msgspec.json.Decoder(type=Raw)  # checks JSON syntax, builds nothing


def _opaque(data: bytes, param: str, *, top_level: bool = False) -> Raw:
    """Raw JSON from a proto field, checked once: a 400 naming `param` when invalid or nested too deep
    (`top_level`: an unknown field, whose depth counts from the request object, as in the HTTP body). Small
    documents are only scanned: msgspec validates a Raw value when it decodes it or writes it out."""
    if data.count(b"[") + data.count(b"{") < MAX_JSON_DEPTH:
        try:
            _VALID.decode(data)
        except msgspec.DecodeError:
            raise invalid(f"'{param}' is not valid JSON", param) from None
        return Raw(data)
    doc = loads(data, param)
    if top_level:
        check_depth({param: doc}, param)
    return Raw(data)


def _part_to_pb(part: m.ContentPart) -> pb.ContentPart:
    if isinstance(part, m.TextPart):
        return pb.ContentPart(text=part.text)
    if isinstance(part, m.ImagePart):
        detail = part.image_url.detail
        return pb.ContentPart(image_url=pb.ImageUrl(url=part.image_url.url, detail=detail if detail else ""))
    if isinstance(part, m.VideoPart):
        return pb.ContentPart(video_url=pb.VideoUrl(url=part.video_url.url))
    return pb.ContentPart(other_json=_ENCODER.encode(part))


def _part_from_pb(part: pb.ContentPart, where: str) -> m.ContentPart:
    which = part.WhichOneof("part")
    if which == "text":
        return m.TextPart(text=part.text)
    if which == "image_url":
        return m.ImagePart(image_url=m.ImageUrl(url=part.image_url.url, detail=part.image_url.detail or UNSET))
    if which == "video_url":
        return m.VideoPart(video_url=m.VideoUrl(url=part.video_url.url))
    if not part.other_json:
        return m.TextPart(text="")
    _opaque(part.other_json, where)
    try:
        return _PART.decode(part.other_json)
    except msgspec.ValidationError as exc:
        raise invalid(f"Invalid value for '{where}': {exc}", where) from None


def message_to_pb(msg: m.Message) -> pb.ChatMessage:
    """One typed message -> proto."""
    out = pb.ChatMessage(role=msg.role, name=msg.name or "", tool_call_id=msg.tool_call_id or "",
                         reasoning=msg.reasoning_content or "")
    if msg.content is None:
        out.content_is_null = True
    elif isinstance(msg.content, str):
        out.content_is_text = True
        out.content.append(pb.ContentPart(text=msg.content))
    else:
        out.content.extend(_part_to_pb(p) for p in msg.content)
    for call in msg.tool_calls or ():
        out.tool_calls.append(pb.ToolCall(id=call.id, type=call.type, name=call.function.name,
                                          arguments=call.function.arguments))
    return out


def message_from_pb(msg: pb.ChatMessage, where: str = "message", *, answer: bool = False) -> m.Message:
    """Proto -> one typed message (`where` names it in errors). An `answer`'s other parts are whatever the
    upstream sent: carried raw, not checked."""
    content: Any
    parts = msg.content
    if msg.content_is_null:
        content = None
    elif msg.content_is_text:
        content = parts[0].text if parts else ""
    else:
        content = [Raw(p.other_json) if answer and p.WhichOneof("part") == "other_json"
                   else _part_from_pb(p, f"{where}.content[{i}]") for i, p in enumerate(parts)]
    calls = msg.tool_calls
    return m.Message(role=msg.role, content=content, name=msg.name or UNSET,
                     tool_calls=[m.ToolCall(id=c.id, function=m.FunctionCall(name=c.name, arguments=c.arguments))
                                 for c in calls] if calls else UNSET,
                     tool_call_id=msg.tool_call_id or UNSET, reasoning_content=msg.reasoning or UNSET)


def request_to_pb(req: m.ChatRequest | dict[str, Any]) -> pb.ChatCompletionRequest:
    """A decoded chat request (or an OpenAI-format dict, checked the same way) -> proto; raw JSON stays raw."""
    if isinstance(req, dict):
        req = chat_request_from_dict(req)
    out = pb.ChatCompletionRequest(model=req.model or "", stream=bool(req.stream), user=req.user or "",
                                   include_usage=req.include_usage)
    out.messages.extend(message_to_pb(msg) for msg in req.messages)
    for name in _OPTIONAL_SCALARS:
        value = getattr(req, name)
        if value is not None and value is not UNSET:
            setattr(out, name, value)
    if req.stop is not None and req.stop is not UNSET:
        out.stop.extend([req.stop] if isinstance(req.stop, str) else req.stop)
    if req.response_format is not UNSET:
        out.response_format_json = bytes(req.response_format)
    if req.tool_choice is not UNSET:
        out.tool_choice_json = bytes(req.tool_choice)
    for tool in req.tools or ():
        fn = tool.function
        t = pb.Tool(type=tool.type, name=fn.name, description=fn.description or "",
                    parameters_json=bytes(fn.parameters) if fn.parameters is not UNSET else b"")
        if fn.strict is not None and fn.strict is not UNSET:
            t.strict = fn.strict
        out.tools.append(t)
    for key in ("logprobs", "top_logprobs"):  # no proto field of their own: carried with the unknown fields
        value = getattr(req, key)
        if value is not None and value is not UNSET:
            out.extra[key] = _ENCODER.encode(value)
    for key, raw in req.extra.items():
        out.extra[key] = bytes(raw)
    return out


def request_from_pb(r: pb.ChatCompletionRequest) -> m.ChatRequest:
    """Proto -> the typed request; every raw JSON field checked once (a 400 naming it when broken)."""
    kw: dict[str, Any] = {f.name: v for f, v in r.ListFields() if f.name in _SCALAR_SET}
    if r.stop:
        kw["stop"] = list(r.stop)
    if r.response_format_json:
        kw["response_format"] = _opaque(r.response_format_json, "response_format")
    if r.tool_choice_json:
        kw["tool_choice"] = _opaque(r.tool_choice_json, "tool_choice")
    if r.tools:
        kw["tools"] = [m.Tool(type=t.type or "function", function=m.FunctionDef(  # type: ignore[arg-type]
            name=t.name, description=t.description or UNSET,
            parameters=_opaque(t.parameters_json, f"tools[{i}].function.parameters") if t.parameters_json else UNSET,
            strict=t.strict if t.HasField("strict") else UNSET)) for i, t in enumerate(r.tools)]
    if r.stream:
        kw["stream"] = True
        if r.include_usage:
            kw["stream_options"] = m.StreamOptions(include_usage=True)
    extra = {key: _opaque(value, key, top_level=True) for key, value in r.extra.items()}
    return m.ChatRequest(messages=[message_from_pb(msg, f"messages[{i}]") for i, msg in enumerate(r.messages)],
                         model=r.model, user=r.user or UNSET, extra=extra, **kw)


def request_to_dict(r: pb.ChatCompletionRequest) -> dict[str, Any]:
    """Proto -> the OpenAI-format request dict the Router and adapters take today."""
    return typed_to_dict(request_from_pb(r))


def usage_to_pb(u: m.Usage | None | UnsetType) -> common_pb2.Usage | None:
    """Typed usage (the Router's result) -> proto."""
    if not u:
        return None
    p, c = u.prompt_tokens or 0, u.completion_tokens or 0
    return common_pb2.Usage(prompt_tokens=p, completion_tokens=c, total_tokens=u.total_tokens or p + c)


def usage_from_pb(u: common_pb2.Usage) -> m.Usage:
    """Proto -> typed usage."""
    return m.Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens, total_tokens=u.total_tokens)


def _answer_message_to_pb(d: m.Message) -> pb.ChatMessage:
    """An upstream's answer message -> proto; its content is not checked, only carried."""
    reasoning = d.reasoning_content or getattr(d, "reasoning", None) or ""
    out = pb.ChatMessage(role=d.role or "", name=d.name or "", tool_call_id=d.tool_call_id or "",
                         reasoning=reasoning)
    content = d.content
    if content is None:
        out.content_is_null = True
    elif isinstance(content, str):
        out.content_is_text = True
        out.content.append(pb.ContentPart(text=content))
    else:
        out.content.extend(pb.ContentPart(text=p.text) if isinstance(p, m.TextPart)
                           else pb.ContentPart(other_json=_ENCODER.encode(p)) for p in content)
    for call in d.tool_calls or ():
        fn = call.function
        out.tool_calls.append(pb.ToolCall(id=call.id or "", type=call.type or "function", name=fn.name or "",
                                          arguments=fn.arguments or ""))
    return out


def completion_to_pb(d: m.Completion) -> pb.ChatCompletion:
    """The Router's typed chat.completion -> proto."""
    out = pb.ChatCompletion(id=d.id, model=d.model, created=d.created, system_fingerprint=d.system_fingerprint or "")
    for ch in d.choices:
        out.choices.append(pb.Choice(index=ch.index, message=_answer_message_to_pb(ch.message),
                                     finish_reason=ch.finish_reason or ""))
    usage = usage_to_pb(d.usage)
    if usage is not None:
        out.usage.CopyFrom(usage)
    return out


def completion_from_pb(c: pb.ChatCompletion) -> m.Completion:
    """Proto -> the typed chat.completion the facade writes out."""
    return m.Completion(id=c.id, created=c.created, model=c.model, choices=[
        m.Choice(index=ch.index, message=message_from_pb(ch.message, answer=True), finish_reason=ch.finish_reason or None)
        for ch in c.choices], usage=usage_from_pb(c.usage) if c.HasField("usage") else UNSET,
        system_fingerprint=c.system_fingerprint or UNSET)


def chunk_to_pb(d: m.Chunk) -> pb.ChatCompletionChunk:
    """The Router's typed chat.completion.chunk -> proto."""
    out = pb.ChatCompletionChunk(id=d.id, model=d.model, created=d.created,
                                 system_fingerprint=d.system_fingerprint or "")
    for ch in d.choices:
        delta = ch.delta
        pd = pb.Delta(role=delta.role or "")
        if isinstance(delta.content, str):
            pd.content = delta.content
        reasoning = delta.reasoning_content or delta.reasoning
        if reasoning:
            pd.reasoning = reasoning
        for tc in delta.tool_calls or ():
            fn = tc.function
            pd.tool_calls.append(pb.ToolCallDelta(index=tc.index, id=tc.id or "", type=tc.type or "",
                                                  name=fn.name or "", arguments=fn.arguments or ""))
        out.choices.append(pb.ChunkChoice(index=ch.index, delta=pd, finish_reason=ch.finish_reason or ""))
    usage = usage_to_pb(d.usage)
    if usage is not None:
        out.usage.CopyFrom(usage)
    return out


def _delta_from_pb(d: pb.Delta) -> m.Delta:
    calls = d.tool_calls  # per chunk: each proto access costs, so each field is read once
    return m.Delta(role=d.role or UNSET, content=d.content if d.HasField("content") else UNSET,
                   reasoning_content=d.reasoning if d.HasField("reasoning") else UNSET, tool_calls=[
                       m.ToolCallDelta(index=tc.index, id=tc.id or UNSET, type=(tc.type or "function") if tc.id
                                       else UNSET, function=m.ToolCallFunctionDelta(name=tc.name or UNSET,
                                                                                   arguments=tc.arguments))
                       for tc in calls] if calls else UNSET)


def chunk_from_pb(c: pb.ChatCompletionChunk) -> m.Chunk:
    """Proto -> the typed chat.completion.chunk the facade writes out."""
    return m.Chunk(id=c.id, created=c.created, model=c.model, choices=[
        m.ChunkChoice(index=ch.index, delta=_delta_from_pb(ch.delta), finish_reason=ch.finish_reason or None)
        for ch in c.choices], usage=usage_from_pb(c.usage) if c.HasField("usage") else UNSET,
        system_fingerprint=c.system_fingerprint or UNSET)
