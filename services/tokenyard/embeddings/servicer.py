"""EmbeddingsService gRPC servicer: proto <-> OpenAI dicts around the EmbeddingsService."""
from __future__ import annotations

import grpc

from tokenyard.embeddings import convert
from tokenyard.embeddings.service import EmbeddingsService
from tokenyard.embeddings.v1 import embeddings_service_pb2 as pb
from tokenyard.embeddings.v1 import embeddings_service_pb2_grpc as pb_grpc
from tokenyard.grpcutil import credential_from, handles_errors, metadata_value


class EmbeddingsServicer(pb_grpc.EmbeddingsServiceServicer):
    """Embed. Response metadata (target, rate limits) goes out as initial metadata."""

    def __init__(self, service: EmbeddingsService) -> None:
        self._service = service

    @handles_errors
    async def Embed(self, request: pb.EmbedRequest, context: grpc.aio.ServicerContext) -> pb.EmbedResponse:
        request_id = request.request_id or metadata_value(context, "x-request-id")
        ctx = await self._service.begin(credential_from(context), convert.request_to_dict(request),
                                        app_id=request.app_id, request_id=request_id)
        result = await self._service.embed(ctx)
        await context.send_initial_metadata(tuple(ctx.response_metadata.items()))
        return convert.response_to_pb(result, estimated=ctx.usage_estimated, target=ctx.target)


def registrar(servicer: EmbeddingsServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_EmbeddingsServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["EmbeddingsService"].full_name
    return register
