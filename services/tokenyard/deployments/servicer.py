"""The deployment RPCs of ConfigService (a mixin of ConfigServicer): proto <-> values, errors -> status."""
from __future__ import annotations

import grpc

from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.deployments.convert import deployment_to_pb
from tokenyard.deployments.service import DeploymentService
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import handles_errors
from tokenyard.internal import caller_of, require_internal
from tokenyard.principal import Principal


class DeploymentRpcs:
    """Needs `self._auth` (an Authenticator), `self._internal` (the internal secret) and `self._deployments` (a
    DeploymentService or None). Only ResolveDeployment is open to the internal credential, and only to it."""

    _auth: object
    _internal: str
    _deployments: DeploymentService | None

    async def _deployment_caller(self, context: grpc.aio.ServicerContext, *, internal: bool = False
                                 ) -> tuple[Principal, DeploymentService]:
        if self._deployments is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "deployments are not served by this process")
        caller = await caller_of(context, self._auth, self._internal, internal=internal)  # type: ignore[arg-type]
        return caller, self._deployments

    @handles_errors
    async def CreateDeployment(self, request: pb.CreateDeploymentRequest, context: grpc.aio.ServicerContext
                               ) -> pb.CreateDeploymentResponse:
        caller, svc = await self._deployment_caller(context)
        dep = await svc.create(caller, model=request.model, upstream_kind=request.upstream_kind,
                               base_url=request.base_url, api_key_env=request.api_key_env, hours=request.hours,
                               api_key=request.api_key)
        return pb.CreateDeploymentResponse(deployment=deployment_to_pb(dep))

    @handles_errors
    async def GetDeployment(self, request: pb.GetDeploymentRequest, context: grpc.aio.ServicerContext
                            ) -> pb.GetDeploymentResponse:
        caller, svc = await self._deployment_caller(context)
        dep, secret = await svc.get(caller, request.id)
        return pb.GetDeploymentResponse(deployment=deployment_to_pb(dep), default_key_secret=secret)

    @handles_errors
    async def ListDeployments(self, request: pb.ListDeploymentsRequest, context: grpc.aio.ServicerContext
                              ) -> pb.ListDeploymentsResponse:
        caller, svc = await self._deployment_caller(context)
        return pb.ListDeploymentsResponse(deployments=[deployment_to_pb(d) for d in await svc.list(caller)])

    @handles_errors
    async def ExtendDeployment(self, request: pb.ExtendDeploymentRequest, context: grpc.aio.ServicerContext
                               ) -> pb.ExtendDeploymentResponse:
        caller, svc = await self._deployment_caller(context)
        return pb.ExtendDeploymentResponse(deployment=deployment_to_pb(await svc.extend(caller, request.id,
                                                                                        request.hours)))

    @handles_errors
    async def StopDeployment(self, request: pb.StopDeploymentRequest, context: grpc.aio.ServicerContext
                             ) -> pb.StopDeploymentResponse:
        caller, svc = await self._deployment_caller(context)
        return pb.StopDeploymentResponse(deployment=deployment_to_pb(await svc.stop(caller, request.id)))

    @handles_errors
    async def CreateDeploymentKey(self, request: pb.CreateDeploymentKeyRequest, context: grpc.aio.ServicerContext
                                  ) -> pb.CreateDeploymentKeyResponse:
        caller, svc = await self._deployment_caller(context)
        key_id, secret, prefix = await svc.create_key(caller, request.id, request.name)
        return pb.CreateDeploymentKeyResponse(key_id=key_id, secret=secret, prefix=prefix)

    @handles_errors
    async def ResolveDeployment(self, request: pb.ResolveDeploymentRequest, context: grpc.aio.ServicerContext
                                ) -> pb.ResolveDeploymentResponse:
        caller, svc = await self._deployment_caller(context, internal=True)
        require_internal(caller, admin=False)  # the answer carries the upstream key: no one else sees it
        dep = await svc.resolve(request.id)
        if dep is None:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No deployment {request.id!r}")
        return pb.ResolveDeploymentResponse(deployment=deployment_to_pb(dep), upstream_api_key=dep.api_key)
