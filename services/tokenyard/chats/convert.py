"""Chat app protos <-> domain rows, turn events and their JSON wire form (used by servicer and facade)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from google.protobuf import timestamp_pb2

from tokenyard.chats.tables import Chat, ChatMessage, CustomToolRow
from tokenyard.chats.v1 import chats_service_pb2 as pb
from tokenyard.errors import ErrorKind, GatewayError, kind_for_reason
from tokenyard.inference.v1 import chat_pb2


def _ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def iso(ts: timestamp_pb2.Timestamp) -> str:
    """RFC 3339 UTC time with milliseconds, e.g. 2025-01-02T03:04:05.678Z."""
    value = ts.ToDatetime(tzinfo=dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def chat_to_pb(c: Chat) -> pb.Chat:
    """A chat row as a proto."""
    return pb.Chat(id=c.id, title=c.title, model=c.model, created_at=_ts(c.created_at),
                   updated_at=_ts(c.updated_at), app_id=c.app_id)


def message_to_pb(m: ChatMessage) -> pb.Message:
    """A message row as a proto."""
    out = pb.Message(id=m.id, chat_id=m.chat_id, role=m.role, content_json=m.content,
                     created_at=_ts(m.created_at), tool_call_id=m.tool_call_id, tool_name=m.tool_name)
    for call in orjson.loads(m.tool_calls) if m.tool_calls else ():
        fn = call.get("function") or {}
        out.tool_calls.append(chat_pb2.ToolCall(
            id=call.get("id") or "", type="function", name=fn.get("name") or "",
            arguments=fn.get("arguments") or ""))
    return out


def tool_to_pb(t: CustomToolRow) -> pb.CustomTool:
    """A webhook tool row as a proto (without its secret)."""
    return pb.CustomTool(name=t.name, description=t.description, parameters_json=t.parameters, url=t.url,
                         app_id=t.app_id, created_at=_ts(t.created_at))


def event_to_pb(event: dict[str, Any]) -> pb.StreamTurnResponse:
    """A turn event (the wire dict, or an error event carrying a GatewayError) as a proto."""
    kind = event["type"]
    if kind == "text-delta":
        return pb.StreamTurnResponse(text_delta=pb.TextDelta(text=event["textDelta"]))
    if kind == "tool-call":
        return pb.StreamTurnResponse(tool_call=pb.ToolCallEvent(
            tool_call_id=event["toolCallId"], tool_name=event["toolName"], args_json=_dumps(event["args"])))
    if kind == "tool-result":
        return pb.StreamTurnResponse(tool_result=pb.ToolResultEvent(
            tool_call_id=event["toolCallId"], tool_name=event.get("toolName", ""),
            result_json=_dumps(event["result"]), is_error=bool(event.get("isError"))))
    if kind == "finish":
        return pb.StreamTurnResponse(finish=pb.FinishEvent(finish_reason=event["finishReason"]))
    err: GatewayError = event["error"]
    return pb.StreamTurnResponse(error=pb.ErrorEvent(reason=err.kind.reason, message=err.message,
                                                     metadata=err.metadata, retry_after=err.retry_after or 0))


def event_from_pb(msg: pb.StreamTurnResponse) -> dict[str, Any]:
    """A streamed proto as the chat API's JSON event (errors as {"type": "error", "error": GatewayError})."""
    which = msg.WhichOneof("event")
    if which == "text_delta":
        return {"type": "text-delta", "textDelta": msg.text_delta.text}
    if which == "tool_call":
        c = msg.tool_call
        return {"type": "tool-call", "toolCallId": c.tool_call_id, "toolName": c.tool_name,
                "args": orjson.loads(c.args_json or "{}")}
    if which == "tool_result":
        r = msg.tool_result
        out = {"type": "tool-result", "toolCallId": r.tool_call_id, "toolName": r.tool_name,
               "result": orjson.loads(r.result_json or "null")}
        if r.is_error:
            out["isError"] = True
        return out
    if which == "finish":
        return {"type": "finish", "finishReason": msg.finish.finish_reason}
    e = msg.error
    kind = kind_for_reason(e.reason) or ErrorKind.INTERNAL
    return {"type": "error", "error": GatewayError(kind, e.message, metadata=dict(e.metadata),
                                                   retry_after=e.retry_after or None)}


def chat_json(c: pb.Chat) -> dict[str, Any]:
    """GET /api/chats item."""
    return {"id": c.id, "title": c.title, "model": c.model, "createdAt": iso(c.created_at),
            "updatedAt": iso(c.updated_at)}


def message_json(m: pb.Message) -> dict[str, Any]:
    """GET /api/chats/{id}/messages item; tool turns carry their call ids and names."""
    content = orjson.loads(m.content_json) if m.content_json else ""
    out: dict[str, Any] = {"id": m.id, "chatId": m.chat_id, "role": m.role,
                           "content": "" if content is None else content, "createdAt": iso(m.created_at)}
    if m.tool_calls:
        out["toolCalls"] = [{"toolCallId": c.id, "toolName": c.name, "args": _args(c.arguments)}
                            for c in m.tool_calls]
    if m.tool_call_id:
        out["toolCallId"] = m.tool_call_id
    if m.tool_name:
        out["toolName"] = m.tool_name
    return out


def tool_json(t: pb.CustomTool) -> dict[str, Any]:
    """A webhook tool as the chat API shows it."""
    return {"name": t.name, "description": t.description,
            "parameters": orjson.loads(t.parameters_json or "{}"), "url": t.url, "appId": t.app_id or None,
            "createdAt": iso(t.created_at)}


def _args(text: str) -> Any:
    try:
        return orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return text
