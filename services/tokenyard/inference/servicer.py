"""InferenceService gRPC servicer: proto <-> OpenAI dicts around the Router."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.inference import convert
from tokenyard.inference.service import Router
from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.inference.v1 import inference_service_pb2_grpc as pb_grpc


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    """Chat and StreamChat. Response metadata (target, rate limits) goes out as initial metadata."""

    def __init__(self, router: Router) -> None:
        self._router = router

    @handles_errors
    async def Chat(self, request: pb.ChatRequest, context: grpc.aio.ServicerContext) -> pb.ChatResponse:
        body = convert.request_to_dict(request.request)
        body.pop("stream", None)
        body.pop("stream_options", None)
        ctx = await self._router.begin(credential_from(context), body, app_id=request.app_id,
                                       client_request_id=request.request_id)
        result = await self._router.chat(ctx)
        await context.send_initial_metadata(tuple(ctx.response_metadata.items()))
        return pb.ChatResponse(completion=convert.completion_to_pb(result), target=ctx.target)

    @handles_errors
    async def StreamChat(self, request: pb.StreamChatRequest, context: grpc.aio.ServicerContext
                         ) -> AsyncIterator[pb.StreamChatResponse]:
        body = convert.request_to_dict(request.request)
        ctx = await self._router.begin(credential_from(context), body, app_id=request.app_id,
                                       client_request_id=request.request_id)
        sent_metadata = False
        async for chunk in self._router.stream(ctx):
            if not sent_metadata:
                await context.send_initial_metadata(tuple(ctx.response_metadata.items()))
                sent_metadata = True
            yield pb.StreamChatResponse(chunk=convert.chunk_to_pb(chunk))


def registrar(servicer: InferenceServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
    return register
