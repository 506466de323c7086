"""What the Router needs from a remote Config service about deployments (internal credential)."""
from __future__ import annotations

import grpc

from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.config.v1 import config_service_pb2_grpc as pb_grpc
from tokenyard.deployments.convert import deployment_from_pb
from tokenyard.deployments.model import Deployment
from tokenyard.errors import ErrorKind
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import internal_metadata


class DeploymentClient:
    """ResolveDeployment over gRPC with the internal credential."""

    def __init__(self, channel: grpc.aio.Channel, internal_secret: str) -> None:
        self._stub = pb_grpc.ConfigServiceStub(channel)
        self._md = internal_metadata(internal_secret)

    async def resolve(self, deployment_id: str) -> Deployment | None:
        """The deployment, or None when unknown."""
        try:
            resp = await self._stub.ResolveDeployment(pb.ResolveDeploymentRequest(id=deployment_id),
                                                      metadata=self._md, timeout=10)
        except grpc.RpcError as exc:
            err = from_rpc_error(exc)
            if err.kind is ErrorKind.NOT_FOUND:
                return None
            raise err from None
        return deployment_from_pb(resp.deployment, resp.upstream_api_key)
