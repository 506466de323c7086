"""Metering as other services reach it: `MeteringClient` over gRPC, with the same record()/reserve()/release()
as the in-process objects, and Metering's rate limiter, which each Router process runs itself against the
shared store (memory in the all-in-one process, Redis when split)."""
from __future__ import annotations

from collections.abc import Sequence

import grpc

from tokenyard.common.usage import UsageEvent
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import internal_metadata
from tokenyard.metering.convert import event_to_pb
from tokenyard.metering.ratelimit import Decision, Limit, RateLimiter, duration
from tokenyard.metering.v1 import metering_service_pb2 as pb
from tokenyard.metering.v1 import metering_service_pb2_grpc as pb_grpc

__all__ = ["Decision", "Limit", "MeteringClient", "RateLimiter", "duration"]


class MeteringClient:
    """Talks to a remote Metering service with the internal credential."""

    def __init__(self, channel: grpc.aio.Channel, internal_secret: str, timeout: float = 10.0) -> None:
        self.stub = pb_grpc.MeteringServiceStub(channel)
        self._md = internal_metadata(internal_secret)
        self._timeout = timeout

    async def record(self, events: Sequence[UsageEvent]) -> int:
        """RecordUsage; idempotent per request id."""
        try:
            resp = await self.stub.RecordUsage(pb.RecordUsageRequest(records=[event_to_pb(e) for e in events]),
                                               metadata=self._md, timeout=30)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.stored

    async def reserve(self, account_id: str, amount_nanos: int, request_id: str = "") -> tuple[str, int]:
        """Reserve; (reservation id, spendable nano-USD left). INSUFFICIENT_QUOTA when it does not fit."""
        try:
            resp = await self.stub.Reserve(pb.ReserveRequest(account_id=account_id, amount_nanos=amount_nanos,
                                                             request_id=request_id),
                                           metadata=self._md, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.reservation_id, resp.remaining_nanos

    async def release_leases(self, owner: str) -> int:
        """Release every held balance lease of `owner`; nano-USD released."""
        try:
            resp = await self.stub.Release(pb.ReleaseRequest(lease_owner=owner), metadata=self._md,
                                           timeout=self._timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.remaining_nanos

    async def check_limit(self, key: str, rpm: int, tpm: int = 0, tokens: int = 0) -> pb.CheckLimitResponse:
        """CheckLimit: count one request (of `tokens`) in the scope `key` when it fits; the decision."""
        try:
            return await self.stub.CheckLimit(pb.CheckLimitRequest(key=key, rpm=rpm, tpm=tpm, tokens=tokens),
                                              metadata=self._md, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def release(self, reservation_id: str, amount_nanos: int = 0) -> int:
        """Release a held reservation (or `amount_nanos` of it); nano-USD released."""
        try:
            resp = await self.stub.Release(pb.ReleaseRequest(reservation_id=reservation_id, amount_nanos=amount_nanos),
                                           metadata=self._md, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.remaining_nanos
