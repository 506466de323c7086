"""Fast handlers: chat completions (JSON or SSE) and embeddings, from body bytes to the answer on the wire.

Same calls, answers and errors as routes/chat.py and routes/embeddings.py; see fastpath/asgi.py.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import grpc
import orjson

from tokenyard.embeddings import convert as embed_convert
from tokenyard.inference import convert
from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.monitoring.metrics import ACTIVE_STREAMS
from tokenyard.protocol.openai_chat import encode_chunk, encode_completion
from tokenyard_http.errors import rpc_error
from tokenyard_http.fastpath.decode import decode_chat, decode_embeddings
from tokenyard_http.routes.chat import idempotency_key, response_headers
from tokenyard_http.sse import DONE, SSE_HEADERS, data_event

if TYPE_CHECKING:
    from tokenyard_http.fastpath.asgi import Request

Metadata = tuple[tuple[str, str], ...]
EOF = grpc.aio.EOF
SSE_HEAD = [(k.encode(), v.encode()) for k, v in SSE_HEADERS.items()]
SSE_TYPE = (b"content-type", b"text/event-stream; charset=utf-8")  # as Starlette's StreamingResponse set it
STREAMS = ACTIVE_STREAMS.labels("/v1/chat/completions")


async def chat(req: Request, md: Metadata, raw: bytes, app_id: str) -> None:
    """One chat completion through the Router, answered as JSON, or as SSE with `stream: true`."""
    payload = decode_chat(raw, req.settings)
    key = idempotency_key(req.idempotency_key, payload.stream)
    if payload.stream:
        return await _stream(req, pb.StreamChatRequest(request=payload, app_id=app_id, request_id=req.request_id),
                             md)
    call = req.clients.inference.Chat(pb.ChatRequest(request=payload, app_id=app_id, request_id=req.request_id,
                                                     idempotency_key=key), metadata=md)
    try:
        resp = await call
        headers = response_headers(await call.initial_metadata())
    except grpc.RpcError as exc:
        return await req.error(rpc_error(exc))
    await req.answer(200, encode_completion(convert.completion_from_pb(resp.completion)), extra=headers)


async def _stream(req: Request, sreq: pb.StreamChatRequest, md: Metadata) -> None:
    """Errors before the first chunk are plain HTTP errors; after it, one SSE error event and a clean end.
    Each chunk goes out as it arrives; a client that leaves cancels the Router's call."""
    call = req.clients.inference.StreamChat(sreq, metadata=md)
    try:
        first = await call.read()
        headers = response_headers(await call.initial_metadata())
    except grpc.RpcError as exc:
        return await req.error(rpc_error(exc))
    except BaseException:
        call.cancel()
        raise
    head = [*SSE_HEAD, *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()), SSE_TYPE]
    watch = _DisconnectWatch(req.receive)
    STREAMS.inc()
    send = req.send
    try:
        await req.start(200, head)
        msg = first
        try:
            while msg is not EOF:
                await send({"type": "http.response.body", "more_body": True,
                            "body": data_event(encode_chunk(convert.chunk_from_pb(msg.chunk)))})
                msg = await call.read()
            tail = DONE
        except grpc.RpcError as exc:
            tail = b"data: " + orjson.dumps(rpc_error(exc).openai_body()) + b"\n\n" + DONE
        watch.finish()
        await send({"type": "http.response.body", "body": tail, "more_body": False})
    except asyncio.CancelledError:
        if not watch.gone:
            raise
        watch.absorb()  # the client left: the stream ends here, as Starlette's did
    finally:
        watch.finish()
        STREAMS.dec()
        call.cancel()


class _DisconnectWatch:
    """Waits for the client to leave during a stream and cancels the streaming task then (the job Starlette's
    StreamingResponse did with a task group; uvicorn drops writes to a gone client silently)."""

    def __init__(self, receive: Any) -> None:
        self.gone = False
        self.task = asyncio.current_task()
        self.watcher: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if self.watcher is not None and self.task is not None:
            self.gone = True
            self.task.cancel()

    def finish(self) -> None:
        """The response is complete (or ending): stop watching."""
        if self.watcher is not None:
            self.watcher.cancel()
            self.watcher = None

    def absorb(self) -> None:
        """Take back the cancellation this watch caused (the task goes on to clean up and return)."""
        if self.task is not None:
            self.task.uncancel()


async def embeddings(req: Request, md: Metadata, raw: bytes, app_id: str) -> None:
    """One embeddings request through the Embeddings service, in input order."""
    request, encoding = decode_embeddings(raw, req.settings, app_id, req.request_id)
    call = req.clients.embeddings.Embed(request, metadata=md)
    try:
        resp = await call
        initial = await call.initial_metadata()
    except grpc.RpcError as exc:
        return await req.error(rpc_error(exc))
    headers = {k: v for k, v in (initial or ()) if k.startswith("x-") and isinstance(v, str)}
    await req.answer(200, orjson.dumps(embed_convert.response_to_dict(resp, encoding)), extra=headers)
