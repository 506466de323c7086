"""Credit balances: monthly plan allowance + top-ups, reservations, and the ledger. Nano-USD integers throughout.

Every change is an atomic conditional UPDATE (`... WHERE spendable >= x`), never read-modify-write, so
concurrent requests on SQLite or PostgreSQL cannot overspend. Usage is charged in the same transaction
that stores the usage record (see MeteringService.record), one ledger entry per request id, so the
ledger always sums exactly to the usage records.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tokenyard.common.usage import lease_request_id, nanos_to_usd, usd_to_nanos
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.metering.holds import CachedAccount, MemoryHolds
from tokenyard.metering.tables import CreditAccountRow as A
from tokenyard.metering.tables import LedgerRow, ReservationRow
from tokenyard.storage.db import shielded
from tokenyard.storage.types import utcnow


def _short(amount_nanos: int) -> GatewayError:
    return GatewayError(ErrorKind.INSUFFICIENT_QUOTA,
                        "You exceeded your current quota: your credit balance cannot cover this request. "
                        "Top up your credits or wait for your plan's next monthly allowance.",
                        metadata={"required_usd": str(nanos_to_usd(amount_nanos))})


def period_of(now: dt.datetime) -> str:
    """The allowance period (calendar month, UTC) of a moment: 'YYYY-MM'."""
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m")


def dialect_insert(s: AsyncSession):  # type: ignore[no-untyped-def]
    """The dialect's INSERT (with on_conflict_* support)."""
    return postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class Balance:
    """An account's credits (nano-USD)."""

    account_id: str
    plan: str
    unlimited: bool
    period: str
    allowance_nanos: int
    topup_nanos: int
    reserved_nanos: int
    monthly_allowance_nanos: int

    @property
    def spendable_nanos(self) -> int:
        """What new requests may still reserve."""
        return self.allowance_nanos + self.topup_nanos - self.reserved_nanos


class CreditStore:
    """Balances of accounts. `plans` maps plan name -> monthly allowance in USD; `default_plan` is given to
    new accounts; accounts in `unlimited` (the bootstrap admin) are never refused, but still charged.
    `holds`: where reservations live, "database" (rows, any number of Metering replicas) or "memory"
    (no write per request; one Metering process per database, see tokenyard.metering.holds)."""

    def __init__(self, sessions: async_sessionmaker, plans: Mapping[str, Decimal], default_plan: str = "",
                 unlimited: Iterable[str] = ("admin",), reservation_ttl: float = 1800.0,
                 clock: Callable[[], dt.datetime] = utcnow, holds: str = "database") -> None:
        if holds not in ("database", "memory"):
            raise ValueError(f"holds must be 'database' or 'memory', not {holds!r}")
        self._mem = MemoryHolds() if holds == "memory" else None
        self._sessions = sessions
        self._plans = {k: usd_to_nanos(v) for k, v in plans.items()}
        self._default = default_plan
        self._unlimited = frozenset(unlimited)
        self._ttl = dt.timedelta(seconds=reservation_ttl)
        self._clock = clock

    def allowance_of(self, plan: str) -> int:
        """Monthly allowance of a plan in nano-USD (0 for an unknown plan)."""
        return self._plans.get(plan, 0)

    # ----- account provisioning and the monthly allowance -----------------------------------------------
    async def ensure(self, s: AsyncSession, account_id: str) -> None:
        """Create the account on first sight (default plan, this month's allowance) and roll a stale period."""
        now = self._clock()
        period = period_of(now)
        grant = self.allowance_of(self._default)
        stmt = dialect_insert(s)(A).values(
            account_id=account_id, plan=self._default, unlimited=account_id in self._unlimited, period=period,
            allowance_nanos=grant, topup_nanos=0, reserved_nanos=0,
        ).on_conflict_do_nothing(index_elements=["account_id"]).returning(A.account_id)
        if (await s.execute(stmt)).first() is not None:
            if grant:
                s.add(LedgerRow(account_id=account_id, time=now, kind="grant", amount_nanos=grant,
                                note=f"{self._default} allowance {period}"))
            return
        # Claim the roll with a conditional update: only one transaction sees the stale period.
        row = (await s.execute(update(A).where(A.account_id == account_id, A.period != period)
                               .values(period=period).returning(A.allowance_nanos, A.plan))).first()
        if row is None:
            return
        old, plan = row
        new = self.allowance_of(plan)
        await s.execute(update(A).where(A.account_id == account_id).values(allowance_nanos=new))
        if old:
            s.add(LedgerRow(account_id=account_id, time=now, kind="expire", amount_nanos=-old,
                            note="unused allowance expired"))
        if new:
            s.add(LedgerRow(account_id=account_id, time=now, kind="grant", amount_nanos=new,
                            note=f"{plan} allowance {period}"))

    async def _provision(self, account_id: str) -> None:
        async with self._sessions() as s, s.begin():
            await self.ensure(s, account_id)

    # ----- reservations ---------------------------------------------------------------------------------
    async def reserve(self, account_id: str, amount_nanos: int, request_id: str = "") -> tuple[str, int]:
        """Hold `amount_nanos` for one request; returns (reservation id, spendable left).
        INSUFFICIENT_QUOTA (402) when the balance cannot cover it."""
        if amount_nanos < 0:
            raise invalid("amount must not be negative", "amount")
        if self._mem is not None:
            return await self._reserve_in_memory(self._mem, account_id, amount_nanos, request_id)
        return await self._reserve_row(account_id, amount_nanos, request_id)

    @shielded
    async def _reserve_row(self, account_id: str, amount_nanos: int, request_id: str) -> tuple[str, int]:
        rid = f"rsv_{uuid.uuid4().hex}"
        for attempt in (1, 2):
            async with self._sessions() as s, s.begin():
                held = await s.execute(update(A).where(
                    A.account_id == account_id, A.period == period_of(self._clock()),
                    A.unlimited | (A.allowance_nanos + A.topup_nanos - A.reserved_nanos >= amount_nanos),
                ).values(reserved_nanos=A.reserved_nanos + amount_nanos).returning(
                    A.allowance_nanos + A.topup_nanos - A.reserved_nanos))
                left = held.scalar()
                if left is not None:
                    now = self._clock()
                    s.add(ReservationRow(id=rid, account_id=account_id, request_id=request_id,
                                         amount_nanos=amount_nanos, state="held", created_at=now,
                                         expires_at=now + self._ttl))
                    return rid, int(left)
            if attempt == 1:
                await self._provision(account_id)
        raise _short(amount_nanos)

    async def _reserve_in_memory(self, mem: MemoryHolds, account_id: str, amount_nanos: int,
                                 request_id: str) -> tuple[str, int]:
        now = self._clock()
        for fresh in (False, True):  # when short, read the balance again once (a top-up may have landed)
            acct = None if fresh else mem.account(account_id, period_of(now))
            if acct is None:
                acct = await self._read_account(mem, account_id)
            held = mem.try_hold(acct, account_id, amount_nanos, request_id, now + self._ttl)
            if held is not None:
                return held
        raise _short(amount_nanos)

    async def _read_account(self, mem: MemoryHolds, account_id: str) -> CachedAccount:
        """The account's stored balance, read again when a charge was stored during the read: a balance from
        before a charge, next to holds already dropped by it, would count that money twice."""
        for _ in range(4):
            epoch = mem.epoch(account_id)
            acct = await self._read_account_once(mem, account_id, epoch)
            if mem.epoch(account_id) == epoch:
                break
        return acct

    @shielded  # may provision the account (a write); only on a cache miss
    async def _read_account_once(self, mem: MemoryHolds, account_id: str, epoch: int) -> CachedAccount:
        """The account's stored balance (provisioning it or rolling its period when needed), cached."""
        period = period_of(self._clock())
        async with self._sessions() as s:
            row = (await s.execute(select(A.period, A.unlimited, A.allowance_nanos, A.topup_nanos)
                                   .where(A.account_id == account_id))).first()
        if row is None or row.period != period:
            b = await self.balance(account_id)
            acct = CachedAccount(b.period, b.unlimited, b.allowance_nanos, b.topup_nanos)
        else:
            acct = CachedAccount(row.period, bool(row.unlimited), int(row.allowance_nanos), int(row.topup_nanos))
        mem.remember(account_id, acct, epoch)
        return acct

    def committed(self, reservation_ids: Iterable[str], charges: Mapping[str, int],
                  shares: Mapping[str, int] | None = None) -> None:
        """After a usage transaction committed: drop its memory holds, take the new records' `shares` (lease
        id -> nano-USD) off balance leases, and apply its charges (account -> nano-USD) to the cached
        balances."""
        if self._mem is not None:
            for rid in reservation_ids:
                self._mem.drop(rid)
            for rid, amount in (shares or {}).items():
                self._mem.shrink(rid, amount)
            self._mem.charged(charges)

    async def release(self, reservation_id: str, state: str = "released", amount_nanos: int = 0) -> int:
        """Give a held reservation back without charge, or only `amount_nanos` of it (a balance lease
        returning its unused part); returns the amount released (0 if not held)."""
        if amount_nanos < 0:
            raise invalid("amount must not be negative", "amount_nanos")
        if self._mem is not None:
            hold = self._mem.shrink(reservation_id, amount_nanos) if amount_nanos else self._mem.drop(reservation_id)
            return hold.amount_nanos if hold is not None else 0
        if amount_nanos:
            async with self._sessions() as s, s.begin():
                released = await self.shrink_held(s, {reservation_id: amount_nanos})
                for account, amount in released.items():
                    await self.charge(s, account, 0, amount)
                return sum(released.values())
        return await self._release_row(reservation_id, state)

    async def release_leases(self, owner: str) -> int:
        """Release every held balance lease of `owner` (a dead Router's, see tokenyard.inference.leases);
        nano-USD released."""
        request_id = lease_request_id(owner)
        if self._mem is not None:
            return sum(self._mem.drop(rid).amount_nanos for rid in self._mem.held_for(request_id))  # type: ignore[union-attr]
        async with self._sessions() as s:
            ids = list((await s.execute(select(ReservationRow.id).where(
                ReservationRow.request_id == request_id, ReservationRow.state == "held"))).scalars())
        return sum([await self._release_row(rid, "released") for rid in ids])

    @shielded
    async def _release_row(self, reservation_id: str, state: str) -> int:
        async with self._sessions() as s, s.begin():
            row = (await s.execute(update(ReservationRow).where(
                ReservationRow.id == reservation_id, ReservationRow.state == "held",
            ).values(state=state).returning(ReservationRow.account_id, ReservationRow.amount_nanos))).first()
            if row is None:
                return 0
            await s.execute(update(A).where(A.account_id == row[0])
                            .values(reserved_nanos=A.reserved_nanos - row[1]))
            return int(row[1])

    async def expire(self, limit: int = 500) -> int:
        """Release reservations past their expiry (their Router died before reporting); returns how many."""
        if self._mem is not None:
            expired = self._mem.expired(self._clock(), limit)
            for rid in expired:
                self._mem.drop(rid)
            return len(expired)
        q = (select(ReservationRow.id).where(ReservationRow.state == "held",
                                             ReservationRow.expires_at < self._clock()).limit(limit))
        async with self._sessions() as s:
            ids = list((await s.execute(q)).scalars())
        for rid in ids:
            await self.release(rid, state="expired")
        return len(ids)

    @shielded
    async def settle(self, reservation_id: str, cost_nanos: int) -> int:
        """Settle a held reservation to `cost_nanos` without a usage record (the record for the same request
        id will not charge again); returns the spendable balance after it."""
        if self._mem is not None:
            return await self._settle_in_memory(self._mem, reservation_id, cost_nanos)
        async with self._sessions() as s, s.begin():
            row = (await s.execute(update(ReservationRow).where(
                ReservationRow.id == reservation_id, ReservationRow.state == "held",
            ).values(state="settled").returning(ReservationRow.account_id, ReservationRow.amount_nanos,
                                                ReservationRow.request_id))).first()
            if row is None:
                raise GatewayError(ErrorKind.CONFLICT, f"reservation {reservation_id!r} is not held")
            account, held, request_id = row
            await self._charge_settled(s, account, request_id or reservation_id, cost_nanos, int(held))
        return (await self.balance(account)).spendable_nanos

    async def _charge_settled(self, s: AsyncSession, account_id: str, request_id: str, cost_nanos: int,
                              released_nanos: int) -> int:
        """A settlement's `usage` ledger entry (once per request id) and its charge; nano-USD charged."""
        entry = {"account_id": account_id, "time": self._clock(), "kind": "usage", "amount_nanos": -cost_nanos,
                 "request_id": request_id, "note": "settled"}
        charged = cost_nanos if cost_nanos > 0 and await add_usage_entries(s, [entry]) else 0
        await self.charge(s, account_id, charged, released_nanos)
        return charged

    def _changed(self, account_id: str) -> None:
        if self._mem is not None:
            self._mem.changed([account_id])

    async def _settle_in_memory(self, mem: MemoryHolds, reservation_id: str, cost_nanos: int) -> int:
        hold = mem.get(reservation_id)
        if hold is None:
            raise GatewayError(ErrorKind.CONFLICT, f"reservation {reservation_id!r} is not held")
        async with self._sessions() as s, s.begin():
            charged = await self._charge_settled(s, hold.account_id, hold.request_id or reservation_id,
                                                 cost_nanos, 0)
        self.committed([reservation_id], {hold.account_id: charged})  # the hold goes only once the charge is stored
        return (await self.balance(hold.account_id)).spendable_nanos

    # ----- charging (inside the usage-record transaction) -------------------------------------------------
    async def settle_held(self, s: AsyncSession, reservation_ids: list[str]) -> dict[str, int]:
        """Mark held reservations settled; returns nanos released per account (memory holds are dropped by
        `committed` instead, once the transaction is stored)."""
        if not reservation_ids or self._mem is not None:
            return {}
        rows = (await s.execute(update(ReservationRow).where(
            ReservationRow.id.in_(sorted(reservation_ids)), ReservationRow.state == "held",
        ).values(state="settled").returning(ReservationRow.account_id, ReservationRow.amount_nanos))).all()
        out: dict[str, int] = {}
        for account, amount in rows:
            out[account] = out.get(account, 0) + int(amount)
        return out

    async def shrink_held(self, s: AsyncSession, shares: Mapping[str, int]) -> dict[str, int]:
        """Take `shares` (reservation id -> nano-USD, at most what is held) off held balance-lease rows;
        returns nano-USD taken per account, for `charge` to drop from the reserved amount. Memory holds
        are shrunk by `committed` instead, once the transaction is stored."""
        out: dict[str, int] = {}
        if self._mem is not None:
            return out
        for rid in sorted(shares):
            r = ReservationRow
            row = (await s.execute(select(r.account_id, r.amount_nanos).where(r.id == rid, r.state == "held")
                                   .with_for_update())).first()
            if row is None:
                continue
            taken = min(int(shares[rid]), int(row.amount_nanos))
            await s.execute(update(r).where(r.id == rid).values(amount_nanos=r.amount_nanos - taken))
            out[row.account_id] = out.get(row.account_id, 0) + taken
        return out

    async def charge(self, s: AsyncSession, account_id: str, cost_nanos: int, released_nanos: int) -> None:
        """Spend `cost_nanos` (allowance first, then top-ups, which may go negative) and drop
        `released_nanos` from the reserved amount, in one atomic UPDATE."""
        stmt = update(A).where(A.account_id == account_id).values(
            reserved_nanos=A.reserved_nanos - released_nanos,
            allowance_nanos=case((A.allowance_nanos >= cost_nanos, A.allowance_nanos - cost_nanos), else_=0),
            topup_nanos=case((A.allowance_nanos >= cost_nanos, A.topup_nanos),
                             else_=A.topup_nanos - (cost_nanos - A.allowance_nanos)),
        ).execution_options(synchronize_session=False)
        if (await s.execute(stmt)).rowcount == 0:
            await self.ensure(s, account_id)
            await s.execute(stmt)

    # ----- top-ups, plans and balances --------------------------------------------------------------------
    async def top_up(self, account_id: str, amount_nanos: int, note: str = "") -> Balance:
        """Add credits that do not expire."""
        if amount_nanos <= 0:
            raise invalid("amount_usd must be positive", "amount_usd")
        async with self._sessions() as s, s.begin():
            await self.ensure(s, account_id)
            await s.execute(update(A).where(A.account_id == account_id)
                            .values(topup_nanos=A.topup_nanos + amount_nanos))
            s.add(LedgerRow(account_id=account_id, time=self._clock(), kind="topup", amount_nanos=amount_nanos,
                            note=note[:200]))
        self._changed(account_id)
        return await self.balance(account_id)

    async def set_plan(self, account_id: str, plan: str) -> Balance:
        """Move an account to another plan; the new allowance applies from the next period."""
        if plan not in self._plans:
            raise invalid(f"unknown plan {plan!r}; plans: {sorted(self._plans)}", "plan")
        async with self._sessions() as s, s.begin():
            await self.ensure(s, account_id)
            await s.execute(update(A).where(A.account_id == account_id).values(plan=plan))
        self._changed(account_id)
        return await self.balance(account_id)

    async def has_account(self, account_id: str) -> bool:
        """True when the account has credits here (it was billed, topped up or read before)."""
        async with self._sessions() as s:
            return await s.get(A, account_id) is not None

    async def balance(self, account_id: str) -> Balance:
        """The account's credits now (provisioning it on first sight)."""
        async with self._sessions() as s, s.begin():
            await self.ensure(s, account_id)
            row = (await s.execute(select(A).where(A.account_id == account_id))).scalar_one()
            return Balance(account_id=row.account_id, plan=row.plan, unlimited=row.unlimited, period=row.period,
                           allowance_nanos=row.allowance_nanos, topup_nanos=row.topup_nanos,
                           reserved_nanos=row.reserved_nanos if self._mem is None else self._mem.reserved(account_id),
                           monthly_allowance_nanos=self.allowance_of(row.plan))


async def add_usage_entries(s: AsyncSession, entries: list[dict]) -> set[str]:
    """Insert usage ledger entries, skipping request ids already charged; returns the newly charged ids."""
    if not entries:
        return set()
    t = LedgerRow.__table__
    stmt = dialect_insert(s)(t).on_conflict_do_nothing(index_elements=["request_id"]).returning(t.c.request_id)
    return set((await s.execute(stmt, sorted(entries, key=lambda e: e["request_id"]))).scalars())
