"""ConfigService gRPC servicer: proto <-> domain, errors -> status."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.auth.cache import Authenticator
from tokenyard.catalog import Catalog
from tokenyard.changefeed import watch
from tokenyard.config.catalog_view import list_models, model_to_pb
from tokenyard.config.changes import ChangeFeed
from tokenyard.config.convert import app_to_pb, config_from_pb, config_to_pb
from tokenyard.config.service import ConfigService
from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.config.v1 import config_service_pb2_grpc as pb_grpc
from tokenyard.deployments.model import READY
from tokenyard.deployments.service import DeploymentService
from tokenyard.deployments.servicer import DeploymentRpcs
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.paging import page_size, split_page
from tokenyard.principal import Principal, bound_key_refused


class ConfigServicer(DeploymentRpcs, pb_grpc.ConfigServiceServicer):
    """The catalog (public) and, for authenticated callers, apps and their AI config, and deployments."""

    def __init__(self, catalog: Catalog, authenticator: Authenticator, service: ConfigService | None = None,
                 feed: ChangeFeed | None = None, deployments: DeploymentService | None = None) -> None:
        self._catalog = catalog
        self._auth = authenticator
        self._service = service
        self._feed = feed
        self._deployments = deployments

    async def _caller(self, context: grpc.aio.ServicerContext) -> tuple[Principal, ConfigService]:
        if self._service is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "apps are not served by this process")
        return await self._auth.authenticate(credential_from(context)), self._service

    @handles_errors
    async def ListModels(self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ListModelsResponse:
        """Public without a credential; with one, it must be valid, app keys see their app's models and a
        deployment-bound key only its deployment's model."""
        credential = credential_from(context)
        caller = await self._auth.authenticate(credential, inference=True) if credential else None
        if caller is not None and caller.bound:
            return pb.ListModelsResponse(models=await self._deployment_models(caller, request))
        app_id = request.app_id or (caller.app_id if caller is not None else "")
        allowed: tuple[str, ...] = ()
        if app_id:
            if self._service is None:
                raise GatewayError(ErrorKind.UNAVAILABLE, "apps are not served by this process")
            allowed = await self._service.models_for(caller, app_id)
        models = list_models(self._catalog, type_=request.type, allowed=list(allowed))
        return pb.ListModelsResponse(models=[model_to_pb(m, self._catalog) for m in models])

    async def _deployment_models(self, caller: Principal, request: pb.ListModelsRequest) -> list[pb.Model]:
        if request.app_id:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, bound_key_refused(caller))
        dep = await self._deployments.resolve(caller.deployment_id) if self._deployments is not None else None
        if dep is None or request.type not in ("", "chat"):
            return []
        return [pb.Model(id=dep.model, type="chat", provider=f"deployment/{dep.id}", owned_by=dep.owner,
                         available=dep.state == READY)]

    @handles_errors
    async def CreateApp(self, request: pb.CreateAppRequest, context: grpc.aio.ServicerContext
                        ) -> pb.CreateAppResponse:
        caller, svc = await self._caller(context)
        return pb.CreateAppResponse(app=app_to_pb(await svc.create_app(caller, request.name)))

    @handles_errors
    async def GetApp(self, request: pb.GetAppRequest, context: grpc.aio.ServicerContext) -> pb.GetAppResponse:
        caller, svc = await self._caller(context)
        return pb.GetAppResponse(app=app_to_pb(await svc.get_app(caller, request.id)))

    @handles_errors
    async def ListApps(self, request: pb.ListAppsRequest, context: grpc.aio.ServicerContext
                       ) -> pb.ListAppsResponse:
        caller, svc = await self._caller(context)
        size = page_size(request.page)
        apps, token = split_page(await svc.list_apps(caller, after=request.page.page_token, limit=size + 1), size)
        return pb.ListAppsResponse(apps=[app_to_pb(a) for a in apps], next_page_token=token)

    @handles_errors
    async def DeleteApp(self, request: pb.DeleteAppRequest, context: grpc.aio.ServicerContext
                        ) -> pb.DeleteAppResponse:
        caller, svc = await self._caller(context)
        return pb.DeleteAppResponse(app=app_to_pb(await svc.delete_app(caller, request.id)))

    @handles_errors
    async def GetAppConfig(self, request: pb.GetAppConfigRequest, context: grpc.aio.ServicerContext
                           ) -> pb.GetAppConfigResponse:
        caller, svc = await self._caller(context)
        return pb.GetAppConfigResponse(config=config_to_pb(await svc.get_app_config(caller, request.app_id)))

    @handles_errors
    async def PutAppConfig(self, request: pb.PutAppConfigRequest, context: grpc.aio.ServicerContext
                           ) -> pb.PutAppConfigResponse:
        caller, svc = await self._caller(context)
        cfg = await svc.put_app_config(caller, request.app_id, config_from_pb(request.config))
        return pb.PutAppConfigResponse(config=config_to_pb(cfg))

    @handles_errors
    async def WatchChanges(self, request: pb.WatchChangesRequest, context: grpc.aio.ServicerContext
                           ) -> AsyncIterator[pb.WatchChangesResponse]:
        caller = await self._auth.authenticate(credential_from(context))
        if not caller.is_admin:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "internal RPC: needs the admin scope")
        if self._feed is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "change feed not running")
        async for event in watch(self._feed.broadcaster, self._feed.history, request.after_sequence):
            if event is None:
                yield pb.WatchChangesResponse()
            else:
                yield pb.WatchChangesResponse(sequence=event.sequence, kind=event.kind, id=event.id)


def registrar(servicer: ConfigServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_ConfigServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["ConfigService"].full_name
    return register
