"""Credits in split mode (one process per service): the Router admits holds against a balance lease from
Metering instead of a Reserve round trip per request. Through the real processes: 64 concurrent requests on
a small balance never spend more than it, a 402 comes only when the balance is really spent, a larger balance
takes one reservation per lease rather than per request, and the lease's unused part returns to the account
when the Router stops, or, when it was killed, when its successor starts."""
from __future__ import annotations

import signal
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.e2e.metering_helpers import PRICED_MODEL, create_key, database_url, priced_burst, query, wait_until
from tests.harness.gateway import Gateway

NANOS = 1_000_000_000
ALLOWANCE = 2 * NANOS // 10  # $0.2
HOLD = (3 + 3 + 4) * 100 * 1000 + 200 * 200 * 1000  # prompt tokens x input + max_tokens x output (nano-USD)


def _balance(gw: Gateway, account: str) -> dict[str, object]:
    with gw.http() as http:
        r = http.get("/v1/billing/balance", params={"account_id": account})
    assert r.status_code == 200, r.text
    return r.json()


def _cost(gw: Gateway, account: str) -> int:
    rows = query(database_url(gw), "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE account_id = :a",
                 a=account)
    return int(rows[0][0])


def _ledger(gw: Gateway, account: str) -> int:
    rows = query(database_url(gw), "SELECT COALESCE(SUM(amount_nanos), 0) FROM credit_ledger WHERE account_id = :a",
                 a=account)
    return int(rows[0][0])


@pytest.mark.parametrize("holds", ["memory", "database"])
def test_split_mode_spends_a_small_balance_exactly_and_returns_the_lease_on_stop(
        make_gateway: Callable[..., Gateway], holds: str) -> None:
    gw = make_gateway(split=True, env={"TOKENYARD_CREDIT_HOLDS": holds}, config={
        "models": [PRICED_MODEL],
        "plans": [{"name": "free", "monthly_credits_usd": "0.2", "default": True}]})
    _, key = create_key(gw, "tight")
    statuses = priced_burst(gw, key, 64)
    ok = statuses.count(200)
    assert ok >= 1
    for _ in range(200):  # one at a time until refused: nothing else is in flight then
        if priced_burst(gw, key, 1) != [200]:
            break
        ok += 1
    assert wait_until(lambda: query(database_url(gw), "SELECT count(*) FROM usage_records "
                                                      "WHERE account_id = 'tight'")[0][0] == ok, 30)
    cost = _cost(gw, "tight")
    assert cost <= ALLOWANCE  # no overspend: every hold was covered by the lease until its record was charged
    assert ALLOWANCE - cost < HOLD  # the 402 was real: what is left cannot cover one more hold
    bal = _balance(gw, "tight")
    assert Decimal(str(bal["balance_usd"])) * NANOS == ALLOWANCE - cost

    with gw.http() as http:  # with room for many holds, one lease covers many requests
        assert http.post("/v1/billing/topups", json={"account_id": "tight", "amount_usd": "10"}).status_code == 200
    before = _reservations(gw)
    assert priced_burst(gw, key, 64) == [200] * 64
    if holds == "database":  # a reservation row per lease, not per request
        assert (_reservations(gw) - before) * 8 <= 64, (before, _reservations(gw))

    assert priced_burst(gw, key, 1) == [200]  # a fresh lease, not idle long enough to be returned by itself
    gw.kill("inference", signal.SIGTERM)  # a graceful stop returns the lease's unused part before exiting
    assert _balance(gw, "tight")["reserved_usd"] == 0

    gw.start_service("inference")
    assert priced_burst(gw, key, 1) == [200]
    gw.kill("inference", signal.SIGKILL)  # dies holding a lease ...
    assert _balance(gw, "tight")["reserved_usd"] > 0
    gw.start_service("inference")  # ... which its successor (adopting its spool) releases at start
    bal = wait_until(lambda: (b := _balance(gw, "tight"))["reserved_usd"] == 0 and b, 30)
    assert bal, _balance(gw, "tight")
    assert wait_until(lambda: query(database_url(gw), "SELECT count(*) FROM usage_records "
                                                      "WHERE account_id = 'tight'")[0][0] == ok + 66, 30)
    cost = _cost(gw, "tight")
    assert _ledger(gw, "tight") == ALLOWANCE + 10 * NANOS - cost  # the ledger matches the usage records exactly
    assert Decimal(str(_balance(gw, "tight")["balance_usd"])) * NANOS == ALLOWANCE + 10 * NANOS - cost


def _reservations(gw: Gateway) -> int:
    return int(query(database_url(gw), "SELECT count(*) FROM credit_reservations "
                                       "WHERE account_id = 'tight'")[0][0])
