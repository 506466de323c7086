"""Balance leases (tokenyard.inference.leases) over a real Metering CreditStore on SQLite and PostgreSQL, with
reservations in the database and in memory: no overspend under concurrency, one Metering call per slice, a
refusal only when the balance is really spent, and the unused part returned on close."""
from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.leases import BalanceLeases
from tokenyard.metering.credits import CreditStore
from tokenyard.common.usage import UsageEvent
from tokenyard.metering.service import MeteringService
from tokenyard.metering.tables import LedgerRow
from tokenyard.storage.db import create_engine, migrate, sessionmaker

NOW = dt.datetime(2025, 3, 15, 12, 0, tzinfo=dt.timezone.utc)
ALLOWANCE = 100_000  # nano-USD: the plan below


@pytest.fixture(params=["database", "memory"])
def holds(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def metering(database_url: str, holds: str):  # type: ignore[no-untyped-def]
    await migrate(database_url)
    engine = create_engine(database_url)
    credits = CreditStore(sessionmaker(engine), {"free": Decimal("0.0001")}, "free", clock=lambda: NOW,
                          holds=holds)
    yield MeteringService(sessionmaker(engine), credits)
    await engine.dispose()


class Source:
    """Metering's Reserve/Release as the Router calls them over gRPC, counting the calls."""

    def __init__(self, metering: MeteringService) -> None:
        self.metering = metering
        self.reserves = self.releases = 0

    async def reserve(self, account_id: str, amount_nanos: int, request_id: str = "") -> tuple[str, int]:
        self.reserves += 1
        return await self.metering.credits.reserve(account_id, amount_nanos, request_id)  # type: ignore[union-attr]

    async def release(self, reservation_id: str, amount_nanos: int = 0) -> int:
        self.releases += 1
        return await self.metering.release(reservation_id, amount_nanos=amount_nanos)

    async def release_leases(self, owner: str) -> int:
        return await self.metering.release_leases(owner)


async def _call(leases: BalanceLeases, metering: MeteringService, i: int, hold: int, cost: int) -> bool:
    """One request: hold, then record its usage (with the lease share) as the Router's sink would."""
    try:
        hid, _ = await leases.reserve("eve", hold, f"req_{i}")
    except GatewayError as err:
        assert err.kind is ErrorKind.INSUFFICIENT_QUOTA
        return False
    await asyncio.sleep(0)
    lease_id, share = await leases.consume(hid)
    assert share == hold
    await metering.record([UsageEvent(request_id=f"req_{i}", time=NOW, account_id="eve", model="m",
                                      cost_nanos=cost, reservation_id=lease_id, reservation_share_nanos=share)])
    return True


async def _ledger(metering: MeteringService, account: str) -> int:
    async with metering._sessions() as s:  # noqa: SLF001 - the test reads the ledger directly
        q = select(func.coalesce(func.sum(LedgerRow.amount_nanos), 0)).where(LedgerRow.account_id == account)
        return int((await s.execute(q)).scalar_one())


async def test_concurrent_calls_on_a_small_balance_never_overspend(metering: MeteringService) -> None:
    source = Source(metering)
    leases = BalanceLeases(source, min_slice_nanos=20_000)
    results = await asyncio.gather(*(_call(leases, metering, i, 7_000, 6_000) for i in range(64)))
    ok = sum(results)
    assert 0 < ok < 64
    assert ok * 6_000 <= ALLOWANCE  # every admitted hold was covered until charged: no overspend at all
    left = ALLOWANCE - ok * 6_000
    # what is left is not hoarded by a lease: the next call is admitted exactly when the balance covers it
    assert await _call(leases, metering, 99, 7_000, 6_000) is (left >= 7_000)
    ok += left >= 7_000
    await leases.close()
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 0  # every lease was taken down by its records or returned
    assert bal.allowance_nanos + bal.topup_nanos == ALLOWANCE - ok * 6_000 == await _ledger(metering, "eve")


async def test_one_reserve_per_slice_and_holds_returned_without_a_call(metering: MeteringService) -> None:
    source = Source(metering)
    leases = BalanceLeases(source, min_slice_nanos=50_000)
    for i in range(5):
        assert await _call(leases, metering, i, 1_000, 500)
    hid, _ = await leases.reserve("eve", 1_000)
    assert await leases.release(hid) == 1_000  # a call that produced nothing: back to the lease locally
    assert (source.reserves, source.releases) == (1, 0)
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 50_000 - 5 * 1_000  # the records took their shares off the lease
    await leases.close()
    assert source.releases == 1
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 0 and bal.spendable_nanos == ALLOWANCE - 5 * 500


async def test_a_refusal_comes_only_after_the_idle_part_of_old_leases_went_back(metering: MeteringService
                                                                               ) -> None:
    leases = BalanceLeases(Source(metering), min_slice_nanos=90_000)
    first, _ = await leases.reserve("eve", 10_000)  # lease of 90_000, 80_000 free
    with pytest.raises(GatewayError):
        await metering.credits.reserve("eve", 20_000)  # type: ignore[union-attr]  # the lease holds it
    big, _ = await leases.reserve("eve", 85_000)  # does not fit the lease: the idle part goes back first
    assert await leases.release(big) == 85_000
    await leases.release(first)
    await leases.close()
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 0 and bal.spendable_nanos == ALLOWANCE
    with pytest.raises(GatewayError) as info:
        await BalanceLeases(Source(metering)).reserve("eve", ALLOWANCE + 1)
    assert info.value.kind is ErrorKind.INSUFFICIENT_QUOTA


async def test_a_redelivered_record_takes_its_share_only_once(metering: MeteringService) -> None:
    leases = BalanceLeases(Source(metering), min_slice_nanos=30_000)
    hid, _ = await leases.reserve("eve", 3_500)
    lease_id, share = await leases.consume(hid)
    event = UsageEvent(request_id="req_x", time=NOW, account_id="eve", model="m", cost_nanos=3_000,
                       reservation_id=lease_id, reservation_share_nanos=share)
    assert await metering.record([event]) == 1
    assert await metering.record([event]) == 0
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 30_000 - 3_500
    await leases.close()
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 0 and bal.spendable_nanos == ALLOWANCE - 3_000


async def test_idle_leases_go_back_and_a_successor_frees_a_dead_routers_leases(metering: MeteringService) -> None:
    now = [100.0]
    leases = BalanceLeases(Source(metering), owner="spool-1", min_slice_nanos=40_000, idle_seconds=3.0,
                           clock=lambda: now[0])
    hid, _ = await leases.reserve("eve", 1_000)
    await leases.sweep()
    assert (await metering.credits.balance("eve")).reserved_nanos == 40_000  # type: ignore[union-attr]
    now[0] += 5
    await leases.sweep()  # in flight: kept
    assert (await metering.credits.balance("eve")).reserved_nanos == 40_000  # type: ignore[union-attr]
    await leases.release(hid)
    await leases.sweep()  # idle and empty: back to the account
    assert (await metering.credits.balance("eve")).reserved_nanos == 0  # type: ignore[union-attr]

    dead = BalanceLeases(Source(metering), owner="spool-2", min_slice_nanos=40_000)
    await dead.reserve("eve", 1_000)  # then the process dies without returning its lease
    assert (await metering.credits.balance("eve")).reserved_nanos == 40_000  # type: ignore[union-attr]
    successor = BalanceLeases(Source(metering), owner="spool-2")
    successor.start()
    hid, _ = await successor.reserve("eve", 1_000)  # waits until the predecessor's leases are released
    await successor.release(hid)
    await successor.close()
    bal = await metering.credits.balance("eve")  # type: ignore[union-attr]
    assert bal.reserved_nanos == 0 and bal.spendable_nanos == ALLOWANCE
