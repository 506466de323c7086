"""gRPC has the HTTP facade's limits: the servers' message cap, and the body caps checked before any work."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import abort
from tokenyard.inference.v1 import chat_pb2
from tokenyard.payload import loads, media_bytes

ENVELOPE_BYTES = 64 * 1024
"""Room for the protobuf fields around a body that passed the HTTP cap (ids, app id, framing)."""

BODY_METHODS = {
    "/tokenyard.inference.v1.InferenceService/Chat": True,
    "/tokenyard.inference.v1.InferenceService/StreamChat": True,
    "/tokenyard.chats.v1.ChatsService/StreamTurn": True,
    "/tokenyard.embeddings.v1.EmbeddingsService/Embed": False,
}
"""The RPCs whose request is a client's request body, and whether its media parts may exceed the plain cap
(the gRPC twins of the facade's MEDIA_ROUTES). Other RPCs are internal or small: the server cap applies."""


def max_message_bytes(max_body_bytes: int, max_media_body_bytes: int) -> int:
    """The largest gRPC message a server accepts: the larger HTTP cap plus the protobuf envelope."""
    return max(max_body_bytes, max_media_body_bytes) + ENVELOPE_BYTES


def _request_media(request: Any) -> int:
    """Bytes of the media parts of the ChatCompletionRequest a body RPC carries."""
    chat = getattr(request, "request", None)
    if not isinstance(chat, chat_pb2.ChatCompletionRequest):
        return 0
    total = 0
    for message in chat.messages:
        for part in message.content:
            which = part.WhichOneof("part")
            if which == "image_url":
                total += len(part.image_url.url) if part.image_url.url.startswith("data:") else 0
            elif which == "video_url":
                total += len(part.video_url.url) if part.video_url.url.startswith("data:") else 0
            elif which == "other_json" and len(part.other_json) > 1024:  # audio, file: measured once parsed
                total += _other_media(part.other_json)
    return total


def _other_media(text: bytes) -> int:
    try:
        return media_bytes({"messages": [{"content": [loads(text)]}]})
    except GatewayError:
        return 0


class _Oversized:
    """Stands in for a request refused by size before it was parsed."""

    def __init__(self, size: int) -> None:
        self.size = size


class BodyLimits(grpc.aio.ServerInterceptor):
    """Refuse a body RPC whose request exceeds `max_body_bytes` outside media parts, as the facade does:
    INVALID_ARGUMENT with reason PAYLOAD_TOO_LARGE, decided from the raw size before parsing when possible."""

    def __init__(self, max_body_bytes: int, methods: dict[str, bool] | None = None) -> None:
        self.max_body_bytes = max_body_bytes
        self.methods = BODY_METHODS if methods is None else methods

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
                                details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(details)
        media = self.methods.get(details.method)
        if handler is None or media is None or handler.request_streaming:
            return handler
        deserializer = self._deserializer(handler.request_deserializer, media)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary), request_deserializer=deserializer,
                response_serializer=handler.response_serializer)
        return grpc.unary_stream_rpc_method_handler(
            self._stream(handler.unary_stream), request_deserializer=deserializer,
            response_serializer=handler.response_serializer)

    def _deserializer(self, parse: Callable[[bytes], Any], media: bool) -> Callable[[bytes], Any]:
        cap = self.max_body_bytes

        def deserialize(raw: bytes) -> Any:
            if len(raw) <= cap:
                return parse(raw)
            if not media:
                return _Oversized(len(raw))
            request = parse(raw)
            return request if len(raw) - _request_media(request) <= cap else _Oversized(len(raw))
        return deserialize

    def _error(self, request: _Oversized) -> GatewayError:
        return GatewayError(ErrorKind.PAYLOAD_TOO_LARGE, f"Request message of {request.size} bytes exceeds "
                            f"{self.max_body_bytes} bytes outside media parts")

    def _unary(self, fn: Any) -> Any:
        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Oversized):
                await abort(context, self._error(request))
            return await fn(request, context)
        return handler

    def _stream(self, fn: Any) -> Any:
        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Oversized):
                await abort(context, self._error(request))
            async for item in fn(request, context):
                yield item
        return handler
