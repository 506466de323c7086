"""The key operations other services ask of Auth (in-process or over gRPC with the internal credential): Config
mints and revokes deployment keys and revokes the keys of an app it deletes."""
from __future__ import annotations

from typing import Protocol

import grpc

from tokenyard.auth.service import AuthService
from tokenyard.auth.v1 import auth_service_pb2 as pb
from tokenyard.auth.v1 import auth_service_pb2_grpc as pb_grpc
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import KEY_MINTER, internal_metadata

KEY_SCOPES = ["ai:gateway"]


class KeyIssuer(Protocol):
    """Creates keys bound to a deployment, revokes them and an app's keys (revocation reaches every process
    within ~1 s)."""

    async def create(self, owner: str, deployment_id: str, name: str) -> tuple[str, str, str]:
        """(key id, secret, prefix) of a new key of `owner` bound to the deployment."""
        ...

    async def revoke(self, key_id: str) -> None:
        """Revoke a key for good (unknown ids are ignored)."""
        ...

    async def revoke_app(self, app_id: str) -> int:
        """Revoke every live key of an app being deleted; returns how many this call revoked."""
        ...


class LocalKeyIssuer:
    """Uses the Auth service of this process."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    async def create(self, owner: str, deployment_id: str, name: str) -> tuple[str, str, str]:
        row, secret = await self._auth.create_key(KEY_MINTER, name=name, scopes=KEY_SCOPES, account_id=owner,
                                                  deployment_id=deployment_id)
        return row.id, secret, row.prefix

    async def revoke(self, key_id: str) -> None:
        try:
            await self._auth.revoke_key(KEY_MINTER, key_id, deployment_keys_only=True)
        except GatewayError as err:
            if err.kind is not ErrorKind.NOT_FOUND:
                raise

    async def revoke_app(self, app_id: str) -> int:
        return await self._auth.revoke_app_keys(app_id)


class RemoteKeyIssuer:
    """Uses a remote Auth service with the internal credential."""

    def __init__(self, channel: grpc.aio.Channel, internal_secret: str) -> None:
        self._stub = pb_grpc.AuthServiceStub(channel)
        self._md = internal_metadata(internal_secret)

    async def create(self, owner: str, deployment_id: str, name: str) -> tuple[str, str, str]:
        req = pb.CreateKeyRequest(name=name, scopes=KEY_SCOPES, deployment_id=deployment_id, account_id=owner)
        try:
            resp = await self._stub.CreateKey(req, metadata=self._md, timeout=10)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.key.id, resp.secret, resp.key.prefix

    async def revoke(self, key_id: str) -> None:
        try:
            await self._stub.RevokeKey(pb.RevokeKeyRequest(id=key_id), metadata=self._md, timeout=10)
        except grpc.RpcError as exc:
            err = from_rpc_error(exc)
            if err.kind is not ErrorKind.NOT_FOUND:
                raise err from None

    async def revoke_app(self, app_id: str) -> int:
        try:
            resp = await self._stub.RevokeAppKeys(pb.RevokeAppKeysRequest(app_id=app_id), metadata=self._md,
                                                  timeout=10)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.revoked
