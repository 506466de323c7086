"""Auth as other services reach it: `AuthClient` over gRPC (same authenticate() as the in-process service,
revocation feed, key-use reports) and `account_exists`, which Metering asks before crediting an account."""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.auth.convert import principal_from_pb
from tokenyard.auth.revocations import RevocationEvent
from tokenyard.auth.tables import Account
from tokenyard.auth.v1 import auth_service_pb2 as pb
from tokenyard.auth.v1 import auth_service_pb2_grpc as pb_grpc
from tokenyard.common.time import ts
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import internal_metadata
from tokenyard.principal import Principal


class AuthClient:
    """Resolves credentials through a remote Auth service; internal RPCs present `internal_secret`."""

    def __init__(self, channel: grpc.aio.Channel, internal_secret: str = "") -> None:
        self.stub = pb_grpc.AuthServiceStub(channel)
        self._md = internal_metadata(internal_secret) if internal_secret else ()

    async def authenticate(self, credential: str) -> Principal:
        """Remote Authenticate; errors come back as GatewayError."""
        try:
            resp = await self.stub.Authenticate(pb.AuthenticateRequest(credential=credential), timeout=10)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return principal_from_pb(resp.principal)

    async def watch_revocations(self, after_sequence: int) -> AsyncIterator[RevocationEvent]:
        """Revocations as they happen (sequence 0 = handshake/heartbeat); raises GatewayError when the stream
        breaks."""
        call = self.stub.WatchRevocations(pb.WatchRevocationsRequest(after_sequence=after_sequence),
                                          metadata=self._md)
        try:
            async for msg in call:
                yield RevocationEvent(msg.sequence, msg.key_id, msg.key_hash)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()

    async def record_key_use(self, uses: dict[str, dt.datetime]) -> int:
        """Report the latest use of keys (batched `last_used_at`)."""
        req = pb.RecordKeyUseRequest(uses=[pb.KeyUse(key_id=k, used_at=ts(t)) for k, t in uses.items()])
        try:
            resp = await self.stub.RecordKeyUse(req, metadata=self._md, timeout=10)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.updated


async def account_exists(sessions: async_sessionmaker, account_id: str) -> bool:
    """True when the platform knows the account: its user signed in with a JWT at least once, or it was given an
    API key (the bootstrap admin included). Both leave its row in `accounts`."""
    async with sessions() as s:
        return await s.get(Account, account_id) is not None
