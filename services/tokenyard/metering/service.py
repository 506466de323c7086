"""Metering logic: exactly-once usage recording (with its rollup and credit charge) and usage queries. No gRPC."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tokenyard.common.usage import UsageEvent
from tokenyard.metering.credits import CreditStore, add_usage_entries, dialect_insert
from tokenyard.metering.tables import UsageDailyRow, UsageRecordRow
from tokenyard.storage.db import shielded

CHUNK = 1000


class MeteringService:
    """Stores usage events exactly once per request id; charges credits in the same transaction."""

    def __init__(self, sessions: async_sessionmaker, credits: CreditStore | None = None) -> None:
        self._sessions = sessions
        self.credits = credits

    async def record(self, events: Sequence[UsageEvent]) -> int:
        """Insert events, ignoring request ids already stored; return how many were new.

        In one transaction: the records, their daily rollup and, for new records only, the settlement of
        their reservations and one ledger entry each. A redelivered event therefore changes nothing.
        """
        unique = sorted({e.request_id: e for e in events}.values(), key=lambda e: e.request_id)
        stored = 0
        for i in range(0, len(unique), CHUNK):
            stored += await self._record_chunk(unique[i:i + CHUNK])
        return stored

    @shielded
    async def _record_chunk(self, events: list[UsageEvent]) -> int:
        if not events:
            return 0
        rows = [{
            "request_id": e.request_id, "time": e.time, "account_id": e.account_id, "app_id": e.app_id or None,
            "key_id": e.key_id or None, "model": e.model, "target": e.target, "kind": e.kind,
            "prompt_tokens": e.prompt_tokens, "completion_tokens": e.completion_tokens, "estimated": e.estimated,
            "cost_micros": e.cost_micros, "cost_nanos": e.cost_nanos, "latency_ms": e.latency_ms,
            "ttft_ms": e.ttft_ms, "status": e.status, "client_request_id": e.client_request_id,
        } for e in events]
        async with self._sessions() as s, s.begin():
            # executemany form: compiled once and cached (a multi-row VALUES would be recompiled per size).
            # Core tables, not ORM entities: no ORM bulk machinery per batch.
            t = UsageRecordRow.__table__
            stmt = (dialect_insert(s)(t).on_conflict_do_nothing(index_elements=["request_id"])
                    .returning(t.c.request_id))
            new_ids = set((await s.execute(stmt, rows)).scalars())
            new = [e for e in events if e.request_id in new_ids]
            await _rollup(s, new)
            charges = await self._settle(s, new) if self.credits is not None else {}
        if self.credits is not None:
            self.credits.committed([e.reservation_id for e in events
                                    if e.reservation_id and not e.reservation_share_nanos],
                                   charges, _shares(new))
        return len(new)

    async def _settle(self, s: AsyncSession, new: list[UsageEvent]) -> dict[str, int]:
        """Settle reservations and charge the new records; returns nano-USD charged per account."""
        assert self.credits is not None
        released = await self.credits.settle_held(s, [e.reservation_id for e in new
                                                      if e.reservation_id and not e.reservation_share_nanos])
        for account, amount in (await self.credits.shrink_held(s, _shares(new))).items():
            released[account] = released.get(account, 0) + amount
        charged = await add_usage_entries(s, [
            {"account_id": e.account_id, "time": e.time, "kind": "usage", "amount_nanos": -e.cost_nanos,
             "request_id": e.request_id, "note": e.model[:200]} for e in new if e.cost_nanos > 0])
        costs: dict[str, int] = {}
        for e in new:
            if e.request_id in charged:
                costs[e.account_id] = costs.get(e.account_id, 0) + e.cost_nanos
        for account in sorted(set(released) | set(costs)):
            await self.credits.charge(s, account, costs.get(account, 0), released.get(account, 0))
        return costs

    # ----- reservations for in-process callers (e.g. VideoJobs' LocalCredits); amounts in micro- or nano-USD
    def _store(self) -> CreditStore:
        if self.credits is None:
            raise RuntimeError("credits are not enabled")
        return self.credits

    async def reserve(self, account_id: str, amount_micros: int = 0, request_id: str = "",
                      amount_nanos: int = 0) -> str:
        """Hold credits for one request; returns the reservation id (402 when the balance is short)."""
        rid, _ = await self._store().reserve(account_id, amount_nanos or amount_micros * 1000, request_id)
        return rid

    async def settle(self, reservation_id: str, amount_micros: int = 0, amount_nanos: int = 0) -> int:
        """Charge a reservation's real cost now (its usage record will not charge again)."""
        return await self._store().settle(reservation_id, amount_nanos or amount_micros * 1000)

    async def release(self, reservation_id: str, amount_nanos: int = 0) -> int:
        """Free a held reservation (or `amount_nanos` of it, for a balance lease) without charge."""
        return await self._store().release(reservation_id, amount_nanos=amount_nanos)

    async def release_leases(self, owner: str) -> int:
        """Free every held balance lease of `owner` (see tokenyard.inference.leases); nano-USD released."""
        return await self._store().release_leases(owner)

    async def usage_by_model(self, start: dt.date, end: dt.date, *, app_id: str | None = None,
                             account_id: str | None = None) -> list[tuple[str, int, int, int, int]]:
        """(model, requests, prompt, completion, cost_nanos) per model over days [start, end], from rollups."""
        d = UsageDailyRow
        q = (select(d.model, func.sum(d.requests), func.sum(d.prompt_tokens), func.sum(d.completion_tokens),
                    func.sum(d.cost_nanos))
             .where(d.day >= start.isoformat(), d.day <= end.isoformat()).group_by(d.model).order_by(d.model))
        if app_id is not None:
            q = q.where(d.app_id == app_id)
        if account_id is not None:
            q = q.where(d.account_id == account_id)
        async with self._sessions() as s:
            return [(m, int(r), int(p), int(c), int(n)) for m, r, p, c, n in (await s.execute(q)).all()]

    async def records_for(self, account_id: str, limit: int = 100, *, app_id: str | None = None,
                          start: dt.datetime | None = None, end: dt.datetime | None = None,
                          before: tuple[dt.datetime, str] | None = None) -> list[UsageRecordRow]:
        """The account's records, newest first, optionally within [start, end) and after a page cursor."""
        r = UsageRecordRow
        q = select(r).where(r.account_id == account_id)
        if app_id is not None:
            q = q.where(r.app_id == app_id)
        if start is not None:
            q = q.where(r.time >= start)
        if end is not None:
            q = q.where(r.time < end)
        if before is not None:
            q = q.where(or_(r.time < before[0], and_(r.time == before[0], r.request_id < before[1])))
        q = q.order_by(r.time.desc(), r.request_id.desc()).limit(limit)
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())


def _shares(new: list[UsageEvent]) -> dict[str, int]:
    """Nano-USD the new records take off each balance lease (see tokenyard.inference.leases)."""
    out: dict[str, int] = {}
    for e in new:
        if e.reservation_id and e.reservation_share_nanos > 0:
            out[e.reservation_id] = out.get(e.reservation_id, 0) + e.reservation_share_nanos
    return out


async def _rollup(s: AsyncSession, events: list[UsageEvent]) -> None:
    """Add events to the daily per-(account, app, model) totals (sorted keys: no lock-order deadlocks)."""
    totals: dict[tuple[str, str, str, str], list[int]] = {}
    for e in events:
        key = (e.time.astimezone(dt.timezone.utc).date().isoformat(), e.account_id, e.app_id or "", e.model)
        t = totals.setdefault(key, [0, 0, 0, 0])
        t[0] += 1
        t[1] += e.prompt_tokens
        t[2] += e.completion_tokens
        t[3] += e.cost_nanos
    if not totals:
        return
    rows = [{"day": k[0], "account_id": k[1], "app_id": k[2], "model": k[3], "requests": v[0],
             "prompt_tokens": v[1], "completion_tokens": v[2], "cost_nanos": v[3]} for k, v in sorted(totals.items())]
    d = UsageDailyRow.__table__.c
    stmt = dialect_insert(s)(UsageDailyRow.__table__)
    ex = stmt.excluded
    await s.execute(stmt.on_conflict_do_update(
        index_elements=["day", "account_id", "app_id", "model"],
        set_={"requests": d.requests + ex.requests, "prompt_tokens": d.prompt_tokens + ex.prompt_tokens,
              "completion_tokens": d.completion_tokens + ex.completion_tokens,
              "cost_nanos": d.cost_nanos + ex.cost_nanos}), rows)
