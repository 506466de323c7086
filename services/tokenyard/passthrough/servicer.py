"""The passthrough RPCs of the InferenceService (Forward, ResolveGatewayModel): proto <-> Passthrough, thin."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.inference.v1 import passthrough_pb2 as pb
from tokenyard.passthrough.service import Call, Passthrough, header_pairs


class PassthroughRpcs:
    """Mixed into the InferenceService servicer; `_passthrough` is None where the process has no passthrough."""

    _passthrough: Passthrough | None = None

    def _service(self) -> Passthrough:
        if self._passthrough is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "Passthrough is not served by this Router")
        return self._passthrough

    @handles_errors
    async def Forward(self, request: pb.ForwardRequest, context: grpc.aio.ServicerContext  # noqa: N802
                      ) -> AsyncIterator[pb.ForwardResponse]:
        answer = await self._service().forward(Call(
            method=request.method or "GET", account_id=request.account_id, gateway_id=request.gateway_id,
            provider=request.provider, path=request.path, query=request.query,
            headers=header_pairs(request.headers), body=request.body, token=credential_from(context),
            client_request_id=request.request_id))
        try:
            yield pb.ForwardResponse(head=pb.ForwardHead(
                status_code=answer.status_code, headers=[pb.Header(name=k, value=v) for k, v in answer.headers]))
            async for chunk in answer.body:
                yield pb.ForwardResponse(chunk=chunk)
        finally:
            await answer.aclose()

    @handles_errors
    async def ResolveGatewayModel(self, request: pb.ResolveGatewayModelRequest,  # noqa: N802
                                  context: grpc.aio.ServicerContext) -> pb.ResolveGatewayModelResponse:
        service = self._service()
        await service.gateway(request.account_id, request.gateway_id)
        return pb.ResolveGatewayModelResponse(model=service.compat_model(request.model) if request.model else "")
