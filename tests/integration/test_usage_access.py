"""Who may read an app's usage, with the owner looked up through a real gRPC Config service (GetApp)."""
from __future__ import annotations

import grpc
import pytest
from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.config.v1 import config_service_pb2_grpc as pb_grpc
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import channel, credential_from
from tokenyard.metering.access import ConfigAppOwners, authorize_app_usage
from tokenyard.principal import Principal, PrincipalKind


class FakeConfig(pb_grpc.ConfigServiceServicer):
    """GetApp as the Config service answers it: the caller's own apps only (an admin: every app)."""

    OWNERS = {"cred-ua": "ua", "cred-ub": "ub", "cred-admin": "admin"}

    async def GetApp(self, request: pb.GetAppRequest, context: grpc.aio.ServicerContext) -> pb.GetAppResponse:
        caller = self.OWNERS.get(credential_from(context))
        if request.id != "app_1" or caller not in ("ua", "admin"):
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such app")
        return pb.GetAppResponse(app=pb.App(id="app_1", name="one", owner="ua"))


@pytest.fixture
async def owners():  # type: ignore[no-untyped-def]
    server = grpc.aio.server()
    pb_grpc.add_ConfigServiceServicer_to_server(FakeConfig(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    ch = channel(f"127.0.0.1:{port}")
    yield ConfigAppOwners(ch)
    await ch.close()
    await server.stop(0)


def _p(account: str, kind: PrincipalKind, scopes: set[str], app_id: str = "") -> Principal:
    return Principal(account, kind, frozenset(scopes), key_id="k", app_id=app_id)


async def test_owner_reads_usage_others_do_not(owners: ConfigAppOwners) -> None:
    await authorize_app_usage(_p("ua", PrincipalKind.USER, set()), "cred-ua", "app_1", owners)
    await authorize_app_usage(_p("ua", PrincipalKind.PERSONAL_KEY, {"usage:read"}), "cred-ua", "app_1", owners)
    with pytest.raises(GatewayError) as info:
        await authorize_app_usage(_p("ub", PrincipalKind.USER, set()), "cred-ub", "app_1", owners)
    assert info.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(GatewayError) as info:
        await authorize_app_usage(_p("ua", PrincipalKind.PERSONAL_KEY, {"ai:gateway"}), "cred-ua", "app_1", owners)
    assert info.value.kind is ErrorKind.PERMISSION_DENIED


async def test_app_keys_need_usage_read_on_that_very_app(owners: ConfigAppOwners) -> None:
    await authorize_app_usage(_p("ua", PrincipalKind.APP_KEY, {"usage:read"}, "app_1"), "x", "app_1", owners)
    for p, kind in ((_p("ua", PrincipalKind.APP_KEY, {"usage:read"}, "app_2"), ErrorKind.NOT_FOUND),
                    (_p("ua", PrincipalKind.APP_KEY, {"ai:gateway"}, "app_1"), ErrorKind.PERMISSION_DENIED)):
        with pytest.raises(GatewayError) as info:
            await authorize_app_usage(p, "cred-ua", "app_1", owners)
        assert info.value.kind is kind  # another app is not found, as on every /v1/{app_id}/... route
    admin = _p("admin", PrincipalKind.PERSONAL_KEY, {"admin"})
    await authorize_app_usage(admin, "cred-admin", "app_1", owners)
    with pytest.raises(GatewayError) as info:  # an app that does not exist, even for the admin
        await authorize_app_usage(admin, "cred-admin", "app_9", owners)
    assert info.value.kind is ErrorKind.NOT_FOUND
