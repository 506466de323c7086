"""Credits end to end: plan allowance, 402 insufficient_quota, top-ups, balances, and 64 concurrent requests
against a small balance on SQLite and PostgreSQL (overspend at most one reservation; ledger == usage records)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from tests.conftest import HAVE_POSTGRES
from tests.e2e.metering_helpers import PRICED_MODEL, create_key, database_url, priced_burst, query, wait_until
from tests.harness.gateway import Gateway

# test/priced reserves ~$0.0412 for max_tokens=200 (200 x $200/Mtok + prompt) and costs ~$0.0015 per call.


def config(allowance_usd: str) -> dict[str, object]:
    """The priced local model, and a free plan of `allowance_usd` a month."""
    return {"models": [PRICED_MODEL],
            "plans": [{"name": "free", "monthly_credits_usd": allowance_usd, "default": True}]}

NANOS = 1_000_000_000


@pytest.fixture(params=["sqlite", "postgres"])
def db_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Gateway env for each database backend (a fresh PostgreSQL database, dropped afterwards)."""
    if request.param == "sqlite":
        yield {}
        return
    if not HAVE_POSTGRES:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    from tests.integration.conftest import create_pg_database, drop_pg_database

    url = asyncio.run(create_pg_database())
    try:
        yield {"TOKENYARD_DATABASE_URL": url}
    finally:
        asyncio.run(drop_pg_database(url))


def _chat(gw: Gateway, key: str, content: str = "hello there", max_tokens: int | None = None) -> httpx.Response:
    body: dict[str, object] = {"model": "test/priced", "messages": [{"role": "user", "content": content}]}
    if max_tokens:
        body["max_tokens"] = max_tokens
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {key}"})


def _balance(gw: Gateway, account: str) -> dict[str, object]:
    with gw.http() as http:
        r = http.get("/v1/billing/balance", params={"account_id": account})
    assert r.status_code == 200, r.text
    return r.json()


def _money(gw: Gateway, account: str) -> tuple[int, int, int]:
    """(usage records' cost, usage ledger total, whole ledger total) in nano-USD."""
    url = database_url(gw)
    cost = query(url, "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE account_id = :a", a=account)
    usage = query(url, "SELECT COALESCE(SUM(amount_nanos), 0) FROM credit_ledger WHERE account_id = :a "
                       "AND kind = 'usage'", a=account)
    total = query(url, "SELECT COALESCE(SUM(amount_nanos), 0) FROM credit_ledger WHERE account_id = :a", a=account)
    return int(cost[0][0]), int(usage[0][0]), int(total[0][0])


def test_64_concurrent_requests_never_overspend_and_ledger_matches_usage(
        make_gateway: Callable[..., Gateway], db_env: dict[str, str]) -> None:
    gw = make_gateway(config=config("0.2"), env=db_env)
    _, key = create_key(gw, "tight")

    statuses = priced_burst(gw, key, 64)
    ok = statuses.count(200)
    assert ok >= 1 and statuses.count(402) >= 1
    url = database_url(gw)
    assert wait_until(lambda: query(url, "SELECT count(*) FROM usage_records WHERE account_id = 'tight'")[0][0]
                      == ok, 30)
    bal = wait_until(lambda: (b := _balance(gw, "tight"))["reserved_usd"] == 0 and b, 30)
    assert bal and bal["reserved_usd"] == 0
    cost, usage, total = _money(gw, "tight")
    assert usage == -cost  # one ledger entry per usage record, exactly
    allowance = 2 * NANOS // 10
    assert total == allowance - cost
    reservation = (3 + 3 + 4) * 100 * 1000 + 200 * 200 * 1000  # prompt tokens x input + max_tokens x output
    assert cost - allowance <= reservation  # overspend at most one reservation
    assert Decimal(str(bal["balance_usd"])) * NANOS == allowance - cost


def test_allowance_topup_and_402_in_openai_shape(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(config=config("0.041"))
    _, key = create_key(gw, "bob", scopes=("ai:gateway", "usage:read"))  # it reads its balance below
    assert _chat(gw, key, max_tokens=200).status_code == 200
    with pytest.raises(openai.APIStatusError) as info:
        gw.openai(key=key).chat.completions.create(model="test/priced", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 402  # default max tokens (the model's 200) no longer fit
    assert info.value.body["type"] == "insufficient_quota" and info.value.body["code"] == "insufficient_quota"
    assert wait_until(lambda: _balance(gw, "bob")["reserved_usd"] == 0)  # settled when its usage is recorded
    assert _chat(gw, key, max_tokens=5).status_code == 200  # a smaller request still fits
    with gw.http() as http:
        r = http.post("/v1/billing/topups", json={"account_id": "bob", "amount_usd": "1.5"})
        assert r.status_code == 200, r.text
        assert r.json()["balance"]["topup_usd"] == 1.5
        bad = http.post("/v1/billing/topups", json={"account_id": "bob", "amount_usd": "-1"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "amount_usd"
    assert _chat(gw, key, max_tokens=200).status_code == 200
    with httpx.Client(base_url=gw.url, headers={"authorization": f"Bearer {key}"}) as http:
        mine = http.get("/v1/billing/balance").json()
        assert mine["account_id"] == "bob" and mine["plan"] == "free" and mine["monthly_allowance_usd"] == 0.041
        assert http.get("/v1/billing/balance", params={"account_id": "admin"}).status_code == 403
        forbidden = http.post("/v1/billing/topups", json={"account_id": "bob", "amount_usd": 100})
        assert forbidden.status_code == 403
        remaining = http.get("/api/usage/remaining").json()
    assert remaining["userId"] == "bob" and remaining["plan"] == "free"
    assert Decimal(str(remaining["remainingUsd"])) == Decimal(str(mine["balance_usd"]))
    assert remaining["creditsUsd"] + remaining["allowanceRemainingUsd"] == pytest.approx(mine["balance_usd"])
    cost, usage, total = _money(gw, "bob")
    assert usage == -cost and total == 41 * NANOS // 1000 + 3 * NANOS // 2 - cost


def test_admin_is_unlimited_and_new_accounts_get_the_default_plan(gateway: Gateway) -> None:
    create_key(gateway, "someone-new")  # an account exists once it has a key (or signed in); see test_api19_routes
    with gateway.http() as http:
        admin = http.get("/v1/billing/balance").json()
        fresh = http.get("/v1/billing/balance", params={"account_id": "someone-new"}).json()
    assert admin["unlimited"] is True and admin["account_id"] == "admin"
    assert fresh["plan"] == "free" and fresh["balance_usd"] == 5 and fresh["unlimited"] is False
