"""Metering proto <-> domain conversions."""
from __future__ import annotations

import datetime as dt

from tokenyard.common.time import ts
from tokenyard.common.usage import UsageEvent
from tokenyard.common.v1 import common_pb2
from tokenyard.metering.credits import Balance
from tokenyard.metering.tables import UsageRecordRow
from tokenyard.metering.v1 import metering_service_pb2 as pb


def event_to_pb(e: UsageEvent) -> pb.UsageRecord:
    """Event -> proto."""
    return pb.UsageRecord(
        request_id=e.request_id, time=ts(e.time), account_id=e.account_id, app_id=e.app_id, key_id=e.key_id,
        model=e.model, target=e.target, kind=e.kind, status=e.status, cost_micros=e.cost_micros,
        cost_nanos=e.cost_nanos, latency_ms=e.latency_ms, ttft_ms=e.ttft_ms, reservation_id=e.reservation_id,
        client_request_id=e.client_request_id, reservation_share_nanos=e.reservation_share_nanos,
        usage=common_pb2.Usage(prompt_tokens=e.prompt_tokens, completion_tokens=e.completion_tokens,
                               total_tokens=e.prompt_tokens + e.completion_tokens, estimated=e.estimated))


def event_from_pb(m: pb.UsageRecord) -> UsageEvent:
    """Proto -> event."""
    return UsageEvent(
        request_id=m.request_id, time=m.time.ToDatetime(tzinfo=dt.timezone.utc), account_id=m.account_id,
        model=m.model, app_id=m.app_id, key_id=m.key_id, target=m.target, kind=m.kind or "chat",
        prompt_tokens=m.usage.prompt_tokens, completion_tokens=m.usage.completion_tokens,
        estimated=m.usage.estimated, cost_micros=m.cost_micros, cost_nanos=m.cost_nanos, latency_ms=m.latency_ms,
        ttft_ms=m.ttft_ms, status=m.status or "ok", reservation_id=m.reservation_id,
        client_request_id=m.client_request_id, reservation_share_nanos=max(0, m.reservation_share_nanos))


def row_to_pb(r: UsageRecordRow) -> pb.UsageRecord:
    """Stored record -> proto."""
    return pb.UsageRecord(
        request_id=r.request_id, time=ts(r.time), account_id=r.account_id, app_id=r.app_id or "",
        key_id=r.key_id or "", model=r.model, target=r.target, kind=r.kind, status=r.status,
        cost_micros=r.cost_micros, cost_nanos=r.cost_nanos, latency_ms=r.latency_ms, ttft_ms=r.ttft_ms,
        client_request_id=r.client_request_id or "",
        usage=common_pb2.Usage(prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                               total_tokens=r.prompt_tokens + r.completion_tokens, estimated=r.estimated))


def _model_usage(model: str, requests: int, prompt: int, completion: int, nanos: int) -> pb.ModelUsage:
    return pb.ModelUsage(model=model, requests=requests, prompt_tokens=prompt, completion_tokens=completion,
                         total_tokens=prompt + completion, cost_nanos=nanos, cost_micros=(nanos + 500) // 1000)


def usage_to_pb(rows: list[tuple[str, int, int, int, int]], start: dt.date, end: dt.date) -> pb.GetUsageResponse:
    """Per-model rows -> GetUsageResponse with totals."""
    total = [sum(r[i] for r in rows) for i in range(1, 5)]
    return pb.GetUsageResponse(total=_model_usage("", *total), by_model=[_model_usage(*r) for r in rows],
                               start_date=start.isoformat(), end_date=end.isoformat())


def balance_to_pb(b: Balance) -> pb.GetBalanceResponse:
    """Balance -> proto."""
    return pb.GetBalanceResponse(
        account_id=b.account_id, plan=b.plan, balance_nanos=b.spendable_nanos,
        allowance_remaining_nanos=b.allowance_nanos, reserved_nanos=b.reserved_nanos, topup_nanos=b.topup_nanos,
        monthly_allowance_nanos=b.monthly_allowance_nanos, unlimited=b.unlimited, period=b.period,
        balance_micros=b.spendable_nanos // 1000, allowance_remaining_micros=b.allowance_nanos // 1000,
        reserved_micros=b.reserved_nanos // 1000)
