"""Embeddings client over gRPC, speaking the same OpenAI-format dicts as the in-process service."""
from __future__ import annotations

from typing import Any

import grpc

from tokenyard.embeddings import convert
from tokenyard.embeddings.v1 import embeddings_service_pb2_grpc as pb_grpc
from tokenyard.grpcutil import auth_metadata, from_rpc_error


class EmbeddingsClient:
    """Calls a (remote or all-in-one) Embeddings service on behalf of a caller's credential."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 120.0) -> None:
        self.stub = pb_grpc.EmbeddingsServiceStub(channel)
        self._timeout = timeout

    async def embed(self, credential: str, request: dict[str, Any], *, app_id: str = "", request_id: str = "",
                    encoding_format: str = "float") -> dict[str, Any]:
        """An OpenAI embeddings list for an OpenAI embeddings request; raises GatewayError on failure."""
        req = convert.request_to_pb(request, app_id=app_id, request_id=request_id)
        try:
            resp = await self.stub.Embed(req, metadata=auth_metadata(credential), timeout=self._timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return convert.response_to_dict(resp, encoding_format)
