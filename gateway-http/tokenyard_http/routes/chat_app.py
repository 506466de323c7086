"""The chat app API: POST /api/chat (typed SSE events), chats history, and apps' webhook tools."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from tokenyard.chats import convert
from tokenyard.chats.v1 import chats_service_pb2 as pb
from tokenyard.common.usage import correlation_id
from tokenyard.errors import GatewayError
from tokenyard.inference import convert as chat_convert
from tokenyard.monitoring.metrics import ACTIVE_STREAMS
from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_json
from tokenyard_http.chat_errors import chat_body, chat_error, chat_error_responses
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import rpc_error
from tokenyard_http.schemas.chat_app import ChatAppRequest, ToolRegistration
from tokenyard_http.sse import SSE_HEADERS, event

router = APIRouter(tags=["chat app"])
ERRORS = chat_error_responses(400, 401, 403, 404, 413, 429, 502, 503, 504)
_HEADERS = {"x-chat-id": "X-Chat-Id", "x-ratelimit-remaining": "X-RateLimit-Remaining"}


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


@router.post("/api/chat", responses=ERRORS, summary="Send a chat turn (typed SSE events)",
             openapi_extra=json_body(ChatAppRequest))
async def chat(request: Request, c: Clients = Depends(clients)) -> Response:
    """Streams `text-delta`, `tool-call`, `tool-result` and a final `finish` event; `X-Chat-Id` names it.

    Errors before the first event are plain JSON errors; later ones are one `error` event and a `finish`.
    """
    md = metadata(request)
    body = await read_json(request, ChatAppRequest)
    rid = correlation_id(request.headers.get("x-request-id"))
    turn = pb.StreamTurnRequest(request=chat_convert.request_to_pb(body.to_openai()),
                                chat_id=body.chatId or "", request_id=rid)
    call = c.chats.StreamTurn(turn, metadata=md)
    try:
        first = await call.read()
        initial = await call.initial_metadata()
    except grpc.RpcError as exc:
        return chat_error(rpc_error(exc))
    except BaseException:
        call.cancel()
        raise
    headers = {_HEADERS[k]: v for k, v in (initial or ()) if k in _HEADERS and isinstance(v, str)}
    return StreamingResponse(_events(call, first), media_type="text/event-stream",
                             headers={**SSE_HEADERS, **headers})


async def _events(call: Any, first: Any) -> AsyncIterator[bytes]:
    gauge = ACTIVE_STREAMS.labels("/api/chat")
    gauge.inc()
    try:
        msg = first
        while msg is not grpc.aio.EOF:
            yield event(_wire(convert.event_from_pb(msg)))
            msg = await call.read()
    except grpc.RpcError as exc:
        yield event(_wire({"type": "error", "error": rpc_error(exc)}))
        yield event({"type": "finish", "finishReason": "error"})
    finally:
        gauge.dec()
        call.cancel()


def _wire(ev: dict[str, Any]) -> dict[str, Any]:
    if ev["type"] != "error":
        return ev
    err: GatewayError = ev["error"]
    return {"type": "error", **chat_body(err)}


@router.get("/api/chats", responses=ERRORS, summary="List your chats, newest first")
async def list_chats(request: Request, c: Clients = Depends(clients)) -> Response:
    """`[{id, title, model, createdAt, updatedAt}]`; the title comes from the first user message."""
    resp = await c.chats.ListChats(pb.ListChatsRequest(), metadata=metadata(request))
    return _json([convert.chat_json(ch) for ch in resp.chats])


@router.get("/api/chats/{chat_id}/messages", responses=ERRORS, summary="Messages of one of your chats")
async def list_messages(chat_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """`[{id, chatId, role, content, createdAt}]` in order; tool turns carry toolCalls / toolCallId."""
    resp = await c.chats.ListMessages(pb.ListMessagesRequest(chat_id=chat_id), metadata=metadata(request))
    return _json([convert.message_json(m) for m in resp.messages])


@router.delete("/api/chats/{chat_id}", responses=ERRORS, summary="Delete one of your chats")
async def delete_chat(chat_id: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """`{"success": true}`; the chat and its messages are gone. Other users' chats are 404."""
    await c.chats.DeleteChat(pb.DeleteChatRequest(chat_id=chat_id), metadata=metadata(request))
    return _json({"success": True})


@router.post("/api/tools", status_code=201, responses=ERRORS, summary="Register a webhook tool",
             openapi_extra=json_body(ToolRegistration))
async def put_tool(request: Request, c: Clients = Depends(clients)) -> Response:
    """Registers (or replaces) a custom tool of the caller's app; needs apps:write. The URL must be public
    unless the operator allows its host with TOKENYARD_EGRESS_ALLOW."""
    body = await read_json(request, ToolRegistration)
    tool = pb.CustomTool(name=body.name, description=body.description, url=body.url, secret=body.secret,
                         parameters_json=orjson.dumps(body.parameters).decode() if body.parameters else "")
    resp = await c.chats.PutTool(pb.PutToolRequest(tool=tool), metadata=metadata(request))
    return _json(convert.tool_json(resp.tool), status=201)


@router.get("/api/tools", responses=ERRORS, summary="Tools available to your chats")
async def list_tools(request: Request, c: Clients = Depends(clients)) -> Response:
    """`{"builtin": [names], "tools": [webhook tools]}`."""
    resp = await c.chats.ListTools(pb.ListToolsRequest(), metadata=metadata(request))
    return _json({"builtin": list(resp.builtin), "tools": [convert.tool_json(t) for t in resp.tools]})


@router.delete("/api/tools/{name}", responses=ERRORS, summary="Delete a webhook tool")
async def delete_tool(name: str, request: Request, c: Clients = Depends(clients)) -> Response:
    """`{"success": true}`."""
    await c.chats.DeleteTool(pb.DeleteToolRequest(name=name), metadata=metadata(request))
    return _json({"success": True})
