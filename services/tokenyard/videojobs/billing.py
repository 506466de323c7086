"""Video pricing (per call and per second of video, from the catalog) and the credits adapter to Metering.

Metering owns balances: Reserve on submit, Settle on completion, Release when a job fails or is
cancelled. `Credits` is the small interface this service needs; `LocalCredits` wraps an in-process
Metering service, `GrpcCredits` the gRPC client. Until Metering implements reservations (an
in-process service without `reserve`, or a server answering UNIMPLEMENTED) videos are not limited
by credits, but they are still priced and recorded.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Protocol

import grpc

from tokenyard.catalog import ModelSpec
from tokenyard.common.usage import usd_to_micros
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import from_rpc_error
from tokenyard.internal import internal_metadata
from tokenyard.metering.v1 import metering_service_pb2 as mpb
from tokenyard.metering.v1 import metering_service_pb2_grpc as mpb_grpc

log = logging.getLogger(__name__)


def video_cost_usd(spec: ModelSpec, seconds: float) -> Decimal:
    """Exact list price of one video: per-call price plus per-second price times its length."""
    p = spec.pricing
    return p.per_call_usd + p.per_second_usd * Decimal(str(seconds))


def video_cost_micros(spec: ModelSpec, seconds: float) -> int:
    """The same in integer micro-USD."""
    return usd_to_micros(video_cost_usd(spec, seconds))


class Credits(Protocol):
    """Credit reservations, keyed by the job's request id (idempotent on the Metering side)."""

    async def reserve(self, account_id: str, amount_micros: int, request_id: str) -> str:
        """Hold `amount_micros`; return the reservation id ('' when not metered). 402 when short."""
        ...

    async def settle(self, reservation_id: str, amount_micros: int) -> None:
        """Charge the real cost and free the rest of the hold."""
        ...

    async def release(self, reservation_id: str) -> None:
        """Free the hold without charge."""
        ...


class LocalCredits:
    """Calls an in-process Metering service's reserve/settle/release when it has them."""

    def __init__(self, metering: Any) -> None:
        self._m = metering
        self.enabled = all(hasattr(metering, n) for n in ("reserve", "settle", "release"))
        if not self.enabled:
            log.info("metering has no credit reservations yet; videos are priced but not credit-limited")

    async def reserve(self, account_id: str, amount_micros: int, request_id: str) -> str:
        if not self.enabled or amount_micros <= 0:
            return ""
        result = await self._m.reserve(account_id=account_id, amount_micros=amount_micros,
                                       request_id=request_id)
        return str(getattr(result, "reservation_id", result) or "")

    async def settle(self, reservation_id: str, amount_micros: int) -> None:
        if self.enabled and reservation_id:
            await self._m.settle(reservation_id=reservation_id, amount_micros=amount_micros)

    async def release(self, reservation_id: str) -> None:
        if self.enabled and reservation_id:
            await self._m.release(reservation_id=reservation_id)


class GrpcCredits:
    """Calls Metering's Reserve/Settle/Release RPCs with the internal credential."""

    def __init__(self, channel: grpc.aio.Channel, internal_secret: str) -> None:
        self._stub = mpb_grpc.MeteringServiceStub(channel)
        self._md = internal_metadata(internal_secret)
        self.enabled = True

    async def _rpc(self, name: str, request: Any) -> Any:
        if not self.enabled:
            return None
        try:
            return await getattr(self._stub, name)(request, metadata=self._md, timeout=30)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                log.info("metering has no credit reservations yet; videos are priced but not credit-limited")
                self.enabled = False
                return None
            raise from_rpc_error(exc) from None

    async def reserve(self, account_id: str, amount_micros: int, request_id: str) -> str:
        if amount_micros <= 0:
            return ""
        req = mpb.ReserveRequest(account_id=account_id, amount_micros=amount_micros, request_id=request_id)
        resp = await self._rpc("Reserve", req)
        return resp.reservation_id if resp is not None else ""

    async def settle(self, reservation_id: str, amount_micros: int) -> None:
        if reservation_id:
            req = mpb.SettleRequest(reservation_id=reservation_id, amount_micros=amount_micros)
            await self._rpc("Settle", req)

    async def release(self, reservation_id: str) -> None:
        if reservation_id:
            await self._rpc("Release", mpb.ReleaseRequest(reservation_id=reservation_id))


def finished_reservation(err: GatewayError) -> bool:
    """True when Metering says the reservation is already gone (a retried settle/release is then done)."""
    return err.kind in (ErrorKind.NOT_FOUND, ErrorKind.CONFLICT)
