"""Usage: GET /v1/{app_id}/ai/usage (per-app totals by model), and the chat-app's /api/usage and
/api/usage/remaining (the caller's own records, totals and remaining credits; chat-app error format)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

import grpc
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from tokenyard.common.time import date_range
from tokenyard.common.v1 import common_pb2
from tokenyard.errors import GatewayError
from tokenyard.metering.v1 import metering_service_pb2 as pb

from tokenyard_http.auth import metadata
from tokenyard_http.clients import Clients, clients
from tokenyard_http.error_headers import error_headers
from tokenyard_http.errors import error_responses, rpc_error
from tokenyard_http.schemas.billing import usd

router = APIRouter(tags=["usage"])
Day = Annotated[str, Query(description="YYYY-MM-DD (UTC), inclusive; default: the last 30 days.")]


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _totals(m: pb.ModelUsage) -> dict[str, object]:
    return {"requests": m.requests, "promptTokens": m.prompt_tokens, "completionTokens": m.completion_tokens,
            "totalTokens": m.total_tokens, "costUsd": usd(m.cost_nanos)}


def usage_json(resp: pb.GetUsageResponse) -> dict[str, object]:
    """GetUsage as the app usage JSON."""
    return {"startDate": resp.start_date, "endDate": resp.end_date, **_totals(resp.total),
            "byModel": [{"model": m.model, **_totals(m)} for m in resp.by_model]}


@router.get("/v1/{app_id}/ai/usage", responses=error_responses(400, 401, 403, 404),
            summary="An app's usage over a date range")
async def app_usage(app_id: str, request: Request, startDate: Day = "", endDate: Day = "",
                    c: Clients = Depends(clients)) -> Response:
    """Totals and per-model totals of an app; needs the app's owner or a key with usage:read on the app."""
    date_range(startDate, endDate)
    resp = await c.metering.GetUsage(pb.GetUsageRequest(app_id=app_id, start_date=startDate, end_date=endDate),
                                     metadata=metadata(request))
    return _json(usage_json(resp))


def chat_error(err: GatewayError) -> Response:
    """The chat-app error body `{"error", "code", "details"}`."""
    return Response(orjson.dumps(err.chat_body()), status_code=err.kind.value.http_status,
                     media_type="application/json", headers=error_headers(err))


def _record(r: pb.UsageRecord) -> dict[str, object]:
    return {"id": r.request_id, "userId": r.account_id, "model": r.model, "promptTokens": r.usage.prompt_tokens,
            "completionTokens": r.usage.completion_tokens, "totalTokens": r.usage.total_tokens,
            "timestamp": r.time.ToDatetime(tzinfo=dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "costUsd": usd(r.cost_nanos), "appId": r.app_id or None, "estimated": r.usage.estimated,
            "status": r.status, "clientRequestId": r.client_request_id or None}


@router.get("/api/usage", summary="The caller's usage records and totals (chat-app API)")
async def my_usage(request: Request, startDate: Day = "", endDate: Day = "",
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100, cursor: str = "",
                   c: Clients = Depends(clients)) -> Response:
    """Newest records first (page with `cursor`), and totals over the date range."""
    try:
        md = metadata(request)
        start, end = date_range(startDate, endDate)
        page = common_pb2.PageRequest(page_size=limit, page_token=cursor)
        records = await c.metering.ListUsageRecords(pb.ListUsageRecordsRequest(
            page=page, start_date=start.isoformat(), end_date=end.isoformat()), metadata=md)
        totals = await c.metering.GetUsage(pb.GetUsageRequest(start_date=start.isoformat(),
                                                              end_date=end.isoformat()), metadata=md)
    except GatewayError as err:
        return chat_error(err)
    except grpc.RpcError as exc:
        return chat_error(rpc_error(exc))
    rows = [_record(r) for r in records.records]
    return _json({"userId": rows[0]["userId"] if rows else None, "startDate": totals.start_date,
                  "endDate": totals.end_date, "usage": rows, "totals": _totals(totals.total),
                  "nextCursor": records.next_page_token or None})


@router.get("/api/usage/remaining", summary="The caller's remaining allowance and credits (chat-app API)")
async def remaining(request: Request, c: Clients = Depends(clients)) -> Response:
    """Monthly allowance left, top-up credits, reserved, and the total still spendable, in USD."""
    try:
        b = await c.metering.GetBalance(pb.GetBalanceRequest(), metadata=metadata(request))
    except GatewayError as err:
        return chat_error(err)
    except grpc.RpcError as exc:
        return chat_error(rpc_error(exc))
    year, month = (int(x) for x in b.period.split("-"))
    resets = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.timezone.utc)
    return _json({"userId": b.account_id, "plan": b.plan, "period": b.period, "unlimited": b.unlimited,
                  "monthlyAllowanceUsd": usd(b.monthly_allowance_nanos),
                  "allowanceRemainingUsd": usd(b.allowance_remaining_nanos), "creditsUsd": usd(b.topup_nanos),
                  "reservedUsd": usd(b.reserved_nanos), "remainingUsd": usd(b.balance_nanos),
                  "resetsAt": resets.isoformat().replace("+00:00", "Z")})
