"""Config's deployments as other services reach them: `DeploymentClient` resolves one over gRPC (internal
credential), `DeploymentCache` keeps the Router's answers for a second (in-process resolve or the client)."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import grpc

from tokenyard.common.deployments import Deployment
from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.config.v1 import config_service_pb2_grpc as pb_grpc
from tokenyard.deployments.convert import deployment_from_pb
from tokenyard.errors import ErrorKind
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import internal_metadata

Resolve = Callable[[str], Awaitable[Deployment | None]]


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


class DeploymentCache:
    """Deployments by id for `ttl` seconds (a state change is seen within that time; revoked keys are dropped
    sooner by the revocation feed)."""

    def __init__(self, resolve: Resolve, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._resolve = resolve
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Deployment | None]] = {}

    async def get(self, deployment_id: str) -> Deployment | None:
        """The deployment, or None when unknown."""
        now = self._clock()
        hit = self._entries.get(deployment_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        dep = await self._resolve(deployment_id)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[deployment_id] = (now + self._ttl, dep)
        return dep
