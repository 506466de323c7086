"""Credits: POST /v1/billing/topups and /v1/billing/plan (admin), GET /v1/billing/balance (the caller's)."""
from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from tokenyard.common.usage import parse_usd
from tokenyard.metering.v1 import metering_service_pb2 as pb

from tokenyard_http.auth import metadata
from tokenyard_http.body import json_body, read_json
from tokenyard_http.clients import Clients, clients
from tokenyard_http.errors import error_responses
from tokenyard_http.schemas.billing import PlanBody, TopUpBody, usd

router = APIRouter(tags=["billing"])


def balance_json(b: pb.GetBalanceResponse) -> dict[str, object]:
    """A balance in the billing API's JSON (USD numbers)."""
    return {"object": "billing.balance", "account_id": b.account_id, "plan": b.plan, "period": b.period,
            "balance_usd": usd(b.balance_nanos), "allowance_remaining_usd": usd(b.allowance_remaining_nanos),
            "monthly_allowance_usd": usd(b.monthly_allowance_nanos), "topup_usd": usd(b.topup_nanos),
            "reserved_usd": usd(b.reserved_nanos), "unlimited": b.unlimited}


def _json(body: dict[str, object]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/v1/billing/balance", responses=error_responses(401, 403, 404), summary="The caller's credit balance")
async def get_balance(request: Request, account_id: str = "", c: Clients = Depends(clients)) -> Response:
    """Plan allowance left this month plus top-ups, minus what in-flight requests hold (admins: any account)."""
    resp = await c.metering.GetBalance(pb.GetBalanceRequest(account_id=account_id), metadata=metadata(request))
    return _json(balance_json(resp))


@router.post("/v1/billing/topups", responses=error_responses(400, 401, 403, 404), summary="Add credits (admin)",
             openapi_extra=json_body(TopUpBody))
async def top_up(request: Request, c: Clients = Depends(clients)) -> Response:
    """Credits an account with non-expiring credits; answers its new balance."""
    body = await read_json(request, TopUpBody)
    amount = parse_usd(body.amount_usd)
    resp = await c.metering.TopUp(pb.TopUpRequest(account_id=body.account_id, amount_usd=str(amount),
                                                  note=body.note), metadata=metadata(request))
    return _json({"object": "billing.topup", "account_id": body.account_id, "amount_usd": float(amount),
                  "balance": balance_json(resp.balance)})


@router.post("/v1/billing/plan", responses=error_responses(400, 401, 403, 404), summary="Change an account's plan",
             openapi_extra=json_body(PlanBody))
async def set_plan(request: Request, c: Clients = Depends(clients)) -> Response:
    """Moves an account to a plan of the config file (admin); the new allowance starts next month."""
    body = await read_json(request, PlanBody)
    resp = await c.metering.SetPlan(pb.SetPlanRequest(account_id=body.account_id, plan=body.plan),
                                    metadata=metadata(request))
    return _json(balance_json(resp.balance))
