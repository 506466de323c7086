"""ConfigService gRPC servicer: proto <-> domain, errors -> status."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.catalog import Catalog
from tokenyard.changefeed import watch
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.common.deployments import READY
from tokenyard.config.catalog_view import list_models, model_to_pb
from tokenyard.config.changes import ChangeFeed
from tokenyard.config.convert import app_to_pb, config_from_pb, config_to_pb
from tokenyard.config.model import AppSnapshot
from tokenyard.config.service import ConfigService
from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.config.v1 import config_service_pb2_grpc as pb_grpc
from tokenyard.deployments.service import DeploymentService
from tokenyard.deployments.servicer import DeploymentRpcs
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.internal import caller_of, is_internal, require_internal
from tokenyard.paging import page_size, split_page
from tokenyard.principal import Principal, bound_key_refused


class ConfigServicer(DeploymentRpcs, pb_grpc.ConfigServiceServicer):
    """The catalog (public) and, for authenticated callers, apps and their AI config, and deployments. The
    internal credential may read any app and its config, follow changes and resolve deployments."""

    def __init__(self, catalog: Catalog, authenticator: Authenticator, service: ConfigService | None = None,
                 feed: ChangeFeed | None = None, deployments: DeploymentService | None = None,
                 internal_secret: str = "") -> None:
        self._catalog = catalog
        self._auth = authenticator
        self._service = service
        self._feed = feed
        self._deployments = deployments
        self._internal = internal_secret

    async def _caller(self, context: grpc.aio.ServicerContext, *, internal: bool = False
                      ) -> tuple[Principal, ConfigService]:
        if self._service is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "apps are not served by this process")
        return await caller_of(context, self._auth, self._internal, internal=internal), self._service

    @staticmethod
    async def _any_app(svc: ConfigService, app_id: str) -> AppSnapshot:
        """Any app, unchecked: for the internal credential (the app caches of other processes)."""
        snap = await svc.snapshot(app_id)
        if snap is None:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}")
        return snap

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
        caller, svc = await self._caller(context, internal=True)
        if is_internal(caller):
            return pb.GetAppResponse(app=app_to_pb((await self._any_app(svc, request.id)).app))
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
        caller, svc = await self._caller(context, internal=True)
        if is_internal(caller):
            return pb.GetAppConfigResponse(config=config_to_pb((await self._any_app(svc, request.app_id)).config))
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
        require_internal(await caller_of(context, self._auth, self._internal, internal=True))
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
