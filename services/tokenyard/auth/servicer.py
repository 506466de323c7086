"""AuthService gRPC servicer: proto <-> domain, errors -> status. Thin by design."""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import grpc

from tokenyard.auth.convert import key_to_pb, principal_to_pb
from tokenyard.auth.revocations import RevocationFeed
from tokenyard.auth.service import AuthService
from tokenyard.auth.v1 import auth_service_pb2 as pb
from tokenyard.auth.v1 import auth_service_pb2_grpc as pb_grpc
from tokenyard.changefeed import watch
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.common.time import from_ts
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.grpcutil import handles_errors
from tokenyard.internal import KEY_MINTER, caller_of, is_internal, require_internal
from tokenyard.paging import page_size, split_page
from tokenyard.principal import Principal


class AuthServicer(pb_grpc.AuthServiceServicer):
    """Exposes AuthService over gRPC; callers are authenticated from metadata. The internal credential (see
    tokenyard.internal) may follow revocations, record key use, and mint and revoke deployment keys."""

    def __init__(self, service: AuthService, authenticator: Authenticator, cache_ttl_seconds: int = 30,
                 feed: RevocationFeed | None = None, internal_secret: str = "") -> None:
        self._service = service
        self._auth = authenticator
        self._ttl = cache_ttl_seconds
        self._feed = feed
        self._internal = internal_secret

    async def _caller(self, context: grpc.aio.ServicerContext, *, internal: bool = False) -> Principal:
        return await caller_of(context, self._auth, self._internal, internal=internal)

    async def _admin(self, context: grpc.aio.ServicerContext) -> None:
        require_internal(await self._caller(context, internal=True))

    @handles_errors
    async def Authenticate(self, request: pb.AuthenticateRequest, context: grpc.aio.ServicerContext
                           ) -> pb.AuthenticateResponse:
        principal = await self._service.authenticate(request.credential)
        return pb.AuthenticateResponse(principal=principal_to_pb(principal), cache_ttl_seconds=self._ttl)

    @handles_errors
    async def CreateKey(self, request: pb.CreateKeyRequest, context: grpc.aio.ServicerContext
                        ) -> pb.CreateKeyResponse:
        caller = await self._caller(context, internal=True)
        if is_internal(caller):
            caller = _deployment_key_request(request)
        row, secret = await self._service.create_key(
            caller, name=request.name, scopes=list(request.scopes), app_id=request.app_id,
            deployment_id=request.deployment_id, expires_at=from_ts(request, "expires_at"), rpm=request.rpm,
            tpm=request.tpm, account_id=request.account_id)
        return pb.CreateKeyResponse(key=key_to_pb(row), secret=secret)

    @handles_errors
    async def ListKeys(self, request: pb.ListKeysRequest, context: grpc.aio.ServicerContext
                       ) -> pb.ListKeysResponse:
        caller = await self._caller(context)
        size = page_size(request.page)
        rows = await self._service.list_keys(caller, app_id=request.app_id, deployment_id=request.deployment_id,
                                             include_revoked=request.include_revoked,
                                             after=request.page.page_token, limit=size + 1)
        rows, token = split_page(rows, size)
        return pb.ListKeysResponse(keys=[key_to_pb(r) for r in rows], next_page_token=token)

    @handles_errors
    async def RevokeKey(self, request: pb.RevokeKeyRequest, context: grpc.aio.ServicerContext
                        ) -> pb.RevokeKeyResponse:
        caller = await self._caller(context, internal=True)
        if is_internal(caller):  # a deployment's keys, when it ends
            row = await self._service.revoke_key(KEY_MINTER, request.id, deployment_keys_only=True)
        else:
            row = await self._service.revoke_key(caller, request.id)
        return pb.RevokeKeyResponse(key=key_to_pb(row))

    @handles_errors
    async def RevokeAppKeys(self, request: pb.RevokeAppKeysRequest, context: grpc.aio.ServicerContext
                            ) -> pb.RevokeAppKeysResponse:
        """The Config service deleting an app (internal credential; admins too, like RecordKeyUse)."""
        await self._admin(context)
        return pb.RevokeAppKeysResponse(revoked=await self._service.revoke_app_keys(request.app_id))

    @handles_errors
    async def WatchRevocations(self, request: pb.WatchRevocationsRequest, context: grpc.aio.ServicerContext
                               ) -> AsyncIterator[pb.WatchRevocationsResponse]:
        await self._admin(context)
        if self._feed is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "revocation feed not running")
        async for event in watch(self._feed.broadcaster, self._feed.history, request.after_sequence):
            if event is None:
                yield pb.WatchRevocationsResponse()
            else:
                yield pb.WatchRevocationsResponse(sequence=event.sequence, key_id=event.key_id,
                                                  key_hash=event.key_hash)

    @handles_errors
    async def RecordKeyUse(self, request: pb.RecordKeyUseRequest, context: grpc.aio.ServicerContext
                           ) -> pb.RecordKeyUseResponse:
        await self._admin(context)
        uses = {u.key_id: u.used_at.ToDatetime(tzinfo=dt.UTC) for u in request.uses}
        return pb.RecordKeyUseResponse(updated=await self._service.record_key_use(uses))


def _deployment_key_request(request: pb.CreateKeyRequest) -> Principal:
    """The acting principal for the internal credential's CreateKey: only a deployment's key for its owner."""
    if not request.deployment_id or not request.account_id or request.app_id:
        raise invalid("the internal credential only creates deployment keys (deployment_id and account_id)",
                      "deployment_id")
    if set(request.scopes) - {"ai:gateway"}:
        raise invalid("deployment keys hold only the ai:gateway scope", "scopes")
    return KEY_MINTER


def registrar(servicer: AuthServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_AuthServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["AuthService"].full_name
    return register
