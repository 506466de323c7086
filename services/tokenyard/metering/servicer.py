"""MeteringService gRPC servicer: proto <-> domain, access rules, errors -> status."""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Awaitable, Callable

import grpc

from tokenyard.clients.auth_cache import Authenticator
from tokenyard.common.time import date_range, parse_day
from tokenyard.common.usage import parse_usd, usd_to_nanos
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.internal import caller_of, require_internal
from tokenyard.metering import convert
from tokenyard.metering.access import AppOwnerLookup, authorize_app_usage
from tokenyard.metering.credits import CreditStore
from tokenyard.metering.ratelimit import Limit, RateLimiter
from tokenyard.metering.service import MeteringService
from tokenyard.metering.v1 import metering_service_pb2 as pb
from tokenyard.metering.v1 import metering_service_pb2_grpc as pb_grpc
from tokenyard.principal import Principal

MAX_PAGE = 1000
AccountLookup = Callable[[str], Awaitable[bool]]
"""account id -> whether the platform knows the account (the Auth tables)."""


class MeteringServicer(pb_grpc.MeteringServiceServicer):
    """Exposes MeteringService over gRPC. Recording usage and credit reservations are for the internal credential
    (and admins); limits, top-ups and plans for admins; usage and balances are readable by their owners."""

    def __init__(self, service: MeteringService, authenticator: Authenticator, *,
                 app_owners: AppOwnerLookup | None = None, limiter: RateLimiter | None = None,
                 internal_secret: str = "",
                 accounts: AccountLookup | None = None) -> None:
        self._service = service
        self._auth = authenticator
        self._owners = app_owners
        self._limiter = limiter
        self._internal = internal_secret
        self._accounts = accounts

    async def _existing(self, account_id: str) -> str:
        """The account id, or NOT_FOUND when no such account exists (a mistyped id must not create one)."""
        if not account_id:
            raise invalid("`account_id` is required", "account_id")
        if self._accounts is None or await self._credits.has_account(account_id) \
                or await self._accounts(account_id):
            return account_id
        raise GatewayError(ErrorKind.NOT_FOUND, f"No account {account_id!r} (an account exists once its user has "
                           "signed in with a JWT or been given an API key)", param="account_id")

    @property
    def _credits(self) -> CreditStore:
        if self._service.credits is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "credits are not enabled")
        return self._service.credits

    async def _internal_caller(self, context: grpc.aio.ServicerContext) -> None:
        """The internal credential or an admin (what other services call)."""
        require_internal(await caller_of(context, self._auth, self._internal, internal=True))

    async def _caller(self, context: grpc.aio.ServicerContext, *, admin: bool = False) -> Principal:
        caller = await caller_of(context, self._auth, self._internal)
        if admin and not caller.is_admin:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "this call needs the admin scope")
        return caller

    @staticmethod
    def _account(caller: Principal, requested: str) -> str:
        """The account whose usage or balance the caller reads: needs usage:read; others' only for admins."""
        if not caller.has("usage:read"):
            raise GatewayError(ErrorKind.PERMISSION_DENIED,
                               "Reading usage and balances needs the usage:read scope")
        if requested and requested != caller.account_id and not caller.is_admin:
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "only admins read other accounts")
        return requested or caller.account_id

    @handles_errors
    async def RecordUsage(self, request: pb.RecordUsageRequest, context: grpc.aio.ServicerContext
                          ) -> pb.RecordUsageResponse:
        await self._internal_caller(context)
        stored = await self._service.record([convert.event_from_pb(r) for r in request.records])
        return pb.RecordUsageResponse(stored=stored)

    @handles_errors
    async def GetUsage(self, request: pb.GetUsageRequest, context: grpc.aio.ServicerContext
                       ) -> pb.GetUsageResponse:
        caller = await self._caller(context)
        start, end = date_range(request.start_date, request.end_date)
        if request.app_id:
            await authorize_app_usage(caller, credential_from(context), request.app_id, self._owners)
            rows = await self._service.usage_by_model(start, end, app_id=request.app_id)
        else:
            account = self._account(caller, request.account_id)
            rows = await self._service.usage_by_model(start, end, account_id=account,
                                                      app_id=caller.app_id or None)
        return convert.usage_to_pb(rows, start, end)

    @handles_errors
    async def ListUsageRecords(self, request: pb.ListUsageRecordsRequest, context: grpc.aio.ServicerContext
                               ) -> pb.ListUsageRecordsResponse:
        caller = await self._caller(context)
        account = self._account(caller, request.account_id)
        size = min(request.page.page_size or 100, MAX_PAGE)
        start = parse_day(request.start_date, "startDate") if request.start_date else None
        end = parse_day(request.end_date, "endDate") if request.end_date else None
        rows = await self._service.records_for(
            account, size + 1, app_id=caller.app_id or None, before=_cursor(request.page.page_token),
            start=_midnight(start), end=_midnight(end + dt.timedelta(days=1)) if end else None)
        token = _token(rows[size - 1]) if len(rows) > size else ""
        return pb.ListUsageRecordsResponse(records=[convert.row_to_pb(r) for r in rows[:size]],
                                           next_page_token=token)

    @handles_errors
    async def Reserve(self, request: pb.ReserveRequest, context: grpc.aio.ServicerContext) -> pb.ReserveResponse:
        await self._internal_caller(context)
        amount = request.amount_nanos or request.amount_micros * 1000
        rid, left = await self._credits.reserve(request.account_id, amount, request.request_id)
        return pb.ReserveResponse(reservation_id=rid, remaining_nanos=left, remaining_micros=left // 1000)

    @handles_errors
    async def Settle(self, request: pb.SettleRequest, context: grpc.aio.ServicerContext) -> pb.SettleResponse:
        await self._internal_caller(context)
        left = await self._credits.settle(request.reservation_id,
                                          request.amount_nanos or request.amount_micros * 1000)
        return pb.SettleResponse(remaining_nanos=left, remaining_micros=left // 1000)

    @handles_errors
    async def Release(self, request: pb.ReleaseRequest, context: grpc.aio.ServicerContext) -> pb.ReleaseResponse:
        await self._internal_caller(context)
        if not request.reservation_id and request.lease_owner:
            released = await self._credits.release_leases(request.lease_owner)
        else:
            released = await self._credits.release(request.reservation_id, amount_nanos=request.amount_nanos)
        return pb.ReleaseResponse(remaining_nanos=released, remaining_micros=released // 1000)

    @handles_errors
    async def CheckLimit(self, request: pb.CheckLimitRequest, context: grpc.aio.ServicerContext
                         ) -> pb.CheckLimitResponse:
        await self._internal_caller(context)  # services (or an admin); passthrough uses the Router's limiter
        if self._limiter is None:
            raise GatewayError(ErrorKind.UNAVAILABLE, "no rate limiter configured")
        if not request.key:
            raise invalid("`key` is required", "key")
        d = await self._limiter.acquire([Limit(request.key, request.rpm, request.tpm)], request.tokens)
        return pb.CheckLimitResponse(allowed=d.allowed, remaining_requests=d.remaining_requests,
                                     remaining_tokens=d.remaining_tokens,
                                     reset_seconds=max(d.reset_requests, d.reset_tokens),
                                     retry_after_seconds=d.retry_after)

    @handles_errors
    async def GetBalance(self, request: pb.GetBalanceRequest, context: grpc.aio.ServicerContext
                         ) -> pb.GetBalanceResponse:
        caller = await self._caller(context)
        account = self._account(caller, request.account_id)
        if account != caller.account_id:
            await self._existing(account)
        return convert.balance_to_pb(await self._credits.balance(account))

    @handles_errors
    async def TopUp(self, request: pb.TopUpRequest, context: grpc.aio.ServicerContext) -> pb.TopUpResponse:
        await self._caller(context, admin=True)
        await self._existing(request.account_id)
        amount = usd_to_nanos(parse_usd(request.amount_usd)) if request.amount_usd \
            else request.amount_micros * 1000
        bal = await self._credits.top_up(request.account_id, amount, request.note)
        return pb.TopUpResponse(balance=convert.balance_to_pb(bal), balance_micros=bal.spendable_nanos // 1000)

    @handles_errors
    async def SetPlan(self, request: pb.SetPlanRequest, context: grpc.aio.ServicerContext) -> pb.SetPlanResponse:
        await self._caller(context, admin=True)
        await self._existing(request.account_id)
        return pb.SetPlanResponse(balance=convert.balance_to_pb(
            await self._credits.set_plan(request.account_id, request.plan)))


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), dt.timezone.utc) if day else None


def _token(row) -> str:  # type: ignore[no-untyped-def]
    return base64.urlsafe_b64encode(f"{row.time.isoformat()}|{row.request_id}".encode()).decode()


def _cursor(token: str) -> tuple[dt.datetime, str] | None:
    if not token:
        return None
    try:
        when, rid = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(when), rid
    except ValueError:
        raise invalid("invalid page token", "page_token") from None


def registrar(servicer: MeteringServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_MeteringServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["MeteringService"].full_name
    return register
