"""Who may read which usage: the app's owner (checked with the Config service's GetApp), an app key with
`usage:read` on that app, or an admin."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc

from tokenyard.config.v1 import config_service_pb2 as config_pb
from tokenyard.config.v1 import config_service_pb2_grpc as config_grpc
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import auth_metadata, from_rpc_error
from tokenyard.principal import Principal, PrincipalKind

AppOwnerLookup = Callable[[str, str], Awaitable[str]]
"""(caller credential, app id) -> the app's owner account id; NOT_FOUND when the caller cannot see it."""


class ConfigAppOwners:
    """Asks the Config service (GetApp with the caller's own credential) who owns an app."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = config_grpc.ConfigServiceStub(channel)

    async def __call__(self, credential: str, app_id: str) -> str:
        try:
            resp = await self._stub.GetApp(config_pb.GetAppRequest(id=app_id), metadata=auth_metadata(credential),
                                           timeout=10)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED,
                              grpc.StatusCode.PERMISSION_DENIED):
                raise GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}") from None
            raise from_rpc_error(exc) from None
        return resp.app.owner


async def authorize_app_usage(caller: Principal, credential: str, app_id: str,
                              owners: AppOwnerLookup | None) -> None:
    """Raise unless `caller` may read the usage of `app_id`. An app the caller cannot see (unknown, another
    account's, or another app than an app key's own) is a 404, as on every other /v1/{app_id}/... route."""
    if caller.is_admin:
        if owners is not None:
            await owners(credential, app_id)  # NOT_FOUND for an app that does not exist
        return
    if caller.app_id:
        if caller.app_id != app_id:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}")
        if caller.has("usage:read"):
            return
        raise GatewayError(ErrorKind.PERMISSION_DENIED, "This key cannot read the usage of that app "
                                                        "(it needs usage:read on the app)")
    if caller.kind != PrincipalKind.USER and not caller.has("usage:read"):
        raise GatewayError(ErrorKind.PERMISSION_DENIED, "Reading usage needs the usage:read scope")
    if owners is None:
        raise GatewayError(ErrorKind.UNAVAILABLE, "app ownership cannot be checked (no Config service)")
    if await owners(credential, app_id) != caller.account_id:
        raise GatewayError(ErrorKind.NOT_FOUND, f"No app {app_id!r}")
