"""Credits and usage recording on real databases: atomic reservations, exactly-once charging, rollups."""
from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tokenyard.common.usage import UsageEvent
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.metering.credits import CreditStore
from tokenyard.metering.service import MeteringService
from tokenyard.metering.tables import LedgerRow, UsageRecordRow
from tokenyard.storage.db import create_engine, migrate, sessionmaker

PLANS = {"free": Decimal("0.001"), "pro": Decimal("50")}
NOW = dt.datetime(2025, 3, 31, 23, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["database", "memory"])
def holds(request: pytest.FixtureRequest) -> str:
    """Where reservations live: rows in the database, or the Metering process's memory."""
    return str(request.param)


@pytest.fixture
async def sessions(database_url: str):  # type: ignore[no-untyped-def]
    await migrate(database_url)
    engine = create_engine(database_url)
    yield sessionmaker(engine)
    await engine.dispose()


def _event(rid: str, account: str, cost: int, reservation: str = "", app: str = "", model: str = "m/a",
           time: dt.datetime = NOW) -> UsageEvent:
    return UsageEvent(request_id=rid, time=time, account_id=account, model=model, app_id=app, prompt_tokens=10,
                      completion_tokens=5, cost_nanos=cost, reservation_id=reservation)


async def _ledger(sessions, account: str, kind: str | None = None) -> int:  # type: ignore[no-untyped-def]
    q = select(func.coalesce(func.sum(LedgerRow.amount_nanos), 0)).where(LedgerRow.account_id == account)
    if kind:
        q = q.where(LedgerRow.kind == kind)
    async with sessions() as s:
        return int((await s.execute(q)).scalar_one())


async def test_new_account_gets_default_allowance_and_is_refused_beyond_it(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    credits = CreditStore(sessions, PLANS, "free", clock=lambda: NOW, holds=holds)
    bal = await credits.balance("bob")
    assert (bal.plan, bal.allowance_nanos, bal.spendable_nanos, bal.unlimited) == ("free", 1_000_000, 1_000_000, False)
    rid, left = await credits.reserve("bob", 600_000, "r1")
    assert left == 400_000
    with pytest.raises(GatewayError) as info:
        await credits.reserve("bob", 500_000, "r2")
    assert info.value.kind is ErrorKind.INSUFFICIENT_QUOTA
    assert await credits.release(rid) == 600_000
    assert await credits.release(rid) == 0
    assert (await credits.balance("bob")).spendable_nanos == 1_000_000
    admin = await credits.reserve("admin", 10**15, "r3")
    assert admin[0].startswith("rsv_")


async def test_record_settles_reservation_once_and_ledger_matches_records(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    credits = CreditStore(sessions, PLANS, "free", clock=lambda: NOW, holds=holds)
    metering = MeteringService(sessions, credits)
    await credits.top_up("carol", 2_000_000)
    rid, _ = await credits.reserve("carol", 900_000, "req_1")
    events = [_event("req_1", "carol", 250_000, rid, app="app_x"), _event("req_2", "carol", 1_234, app="app_x"),
              _event("req_3", "carol", 0, model="m/b")]
    assert await metering.record(events) == 3
    assert await metering.record(events + [_event("req_1", "carol", 999_999)]) == 0  # redelivery: no change
    bal = await credits.balance("carol")
    assert bal.reserved_nanos == 0
    assert bal.allowance_nanos + bal.topup_nanos == 1_000_000 + 2_000_000 - 251_234
    assert bal.allowance_nanos == 748_766 and bal.topup_nanos == 2_000_000  # allowance is spent first
    async with sessions() as s:
        records = int((await s.execute(select(func.sum(UsageRecordRow.cost_nanos))
                                       .where(UsageRecordRow.account_id == "carol"))).scalar_one())
    assert await _ledger(sessions, "carol", "usage") == -records
    assert await _ledger(sessions, "carol") == bal.allowance_nanos + bal.topup_nanos
    rows = await metering.usage_by_model(NOW.date(), NOW.date(), app_id="app_x")
    assert rows == [("m/a", 2, 20, 10, 251_234)]
    assert [r[0] for r in await metering.usage_by_model(NOW.date(), NOW.date(), account_id="carol")] == ["m/a", "m/b"]


async def test_monthly_roll_expires_unused_allowance_and_grants_the_plan(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    now = [NOW]
    credits = CreditStore(sessions, PLANS, "free", clock=lambda: now[0], holds=holds)
    await credits.set_plan("dan", "pro")
    bal = await credits.balance("dan")
    assert bal.allowance_nanos == 1_000_000  # the new plan applies from the next period
    now[0] = NOW + dt.timedelta(hours=2)
    await asyncio.gather(*(credits.balance("dan") for _ in range(5)))
    bal = await credits.balance("dan")
    assert (bal.period, bal.allowance_nanos) == ("2025-04", 50_000_000_000)
    assert await _ledger(sessions, "dan") == 50_000_000_000
    assert await _ledger(sessions, "dan", "grant") == 50_001_000_000


async def test_concurrent_reservations_never_overspend(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    credits = CreditStore(sessions, {"free": Decimal("0.0001")}, "free", clock=lambda: NOW, holds=holds)
    metering = MeteringService(sessions, credits)

    async def one(i: int) -> bool:
        try:
            rid, _ = await credits.reserve("eve", 7_000, f"req_{i}")
        except GatewayError:
            return False
        await metering.record([_event(f"req_{i}", "eve", 6_000 + i, rid)])
        return True

    results = await asyncio.gather(*(one(i) for i in range(64)))
    bal = await credits.balance("eve")
    assert 0 < sum(results) < 64
    assert bal.reserved_nanos == 0
    assert bal.allowance_nanos + bal.topup_nanos >= -7_000
    async with sessions() as s:
        records = int((await s.execute(select(func.sum(UsageRecordRow.cost_nanos))
                                       .where(UsageRecordRow.account_id == "eve"))).scalar_one())
    assert await _ledger(sessions, "eve", "usage") == -records
    assert await _ledger(sessions, "eve") == bal.allowance_nanos + bal.topup_nanos


async def test_expired_reservations_are_released(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    now = [NOW]
    credits = CreditStore(sessions, PLANS, "free", reservation_ttl=60, clock=lambda: now[0], holds=holds)
    await credits.reserve("fay", 800_000, "r")
    assert (await credits.balance("fay")).spendable_nanos == 200_000
    now[0] = NOW + dt.timedelta(minutes=2)
    assert await credits.expire() == 1
    assert (await credits.balance("fay")).spendable_nanos == 1_000_000


async def test_explicit_settle_then_record_charges_once(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    credits = CreditStore(sessions, PLANS, "free", clock=lambda: NOW, holds=holds)
    metering = MeteringService(sessions, credits)
    rid, _ = await credits.reserve("gus", 500_000, "req_s")
    assert await credits.settle(rid, 120_000) == 880_000
    with pytest.raises(GatewayError) as info:
        await credits.settle(rid, 120_000)
    assert info.value.kind is ErrorKind.CONFLICT
    assert await metering.record([_event("req_s", "gus", 120_000, rid)]) == 1
    bal = await credits.balance("gus")
    assert (bal.spendable_nanos, bal.reserved_nanos) == (880_000, 0)
    assert await _ledger(sessions, "gus", "usage") == -120_000


async def test_charges_and_top_ups_are_seen_by_the_next_reservation(sessions, holds) -> None:  # type: ignore[no-untyped-def]
    credits = CreditStore(sessions, PLANS, "free", clock=lambda: NOW, holds=holds)
    metering = MeteringService(sessions, credits)
    rid, left = await credits.reserve("hal", 900_000, "req_h1")
    assert left == 100_000
    with pytest.raises(GatewayError):  # the hold counts until its usage is stored
        await credits.reserve("hal", 200_000, "req_h2")
    assert await metering.record([_event("req_h1", "hal", 700_000, rid)]) == 1
    _, left = await credits.reserve("hal", 250_000, "req_h3")  # 1_000_000 - 700_000 charged - 250_000 held
    assert left == 50_000
    with pytest.raises(GatewayError):
        await credits.reserve("hal", 100_000, "req_h4")
    await credits.top_up("hal", 1_000_000)
    _, left = await credits.reserve("hal", 100_000, "req_h5")
    assert left == 950_000
    assert (await credits.balance("hal")).reserved_nanos == 350_000
