"""Config service client over gRPC: what the Router and the Auth service need from a remote Config service."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.config.changes import ChangeEvent
from tokenyard.config.convert import app_from_pb, config_from_pb
from tokenyard.config.model import AppSnapshot
from tokenyard.config.v1 import config_service_pb2 as pb
from tokenyard.config.v1 import config_service_pb2_grpc as pb_grpc
from tokenyard.errors import ErrorKind
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import internal_metadata


class ConfigClient:
    """Reads apps with the internal credential."""

    def __init__(self, channel: grpc.aio.Channel, internal_secret: str) -> None:
        self.stub = pb_grpc.ConfigServiceStub(channel)
        self._md = internal_metadata(internal_secret)

    async def snapshot(self, app_id: str) -> AppSnapshot | None:
        """An app and its config; None when there is no such app."""
        try:
            app = await self.stub.GetApp(pb.GetAppRequest(id=app_id), metadata=self._md, timeout=10)
            cfg = await self.stub.GetAppConfig(pb.GetAppConfigRequest(app_id=app_id), metadata=self._md, timeout=10)
        except grpc.RpcError as exc:
            err = from_rpc_error(exc)
            if err.kind is ErrorKind.NOT_FOUND:
                return None
            raise err from None
        return AppSnapshot(app_from_pb(app.app), config_from_pb(cfg.config))

    async def watch_changes(self, after_sequence: int) -> AsyncIterator[ChangeEvent]:
        """Changes as they happen (sequence 0 = handshake/heartbeat); raises GatewayError when the stream breaks."""
        call = self.stub.WatchChanges(pb.WatchChangesRequest(after_sequence=after_sequence), metadata=self._md)
        try:
            async for msg in call:
                yield ChangeEvent(msg.sequence, msg.kind, msg.id)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()
