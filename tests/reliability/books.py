"""Accounting checks shared by the reliability tests: usage records vs client responses, balances vs ledger."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tests.e2e.metering_helpers import database_url, query, wait_until
from tests.harness.gateway import Gateway


def usage_ids(gw: Gateway) -> list[str]:
    """Every client request id (x-request-id) in usage_records: the tests send unique ones, so a doubled
    record shows twice (the records' own ids are the gateway's)."""
    return [r[0] for r in query(database_url(gw), "SELECT client_request_id FROM usage_records")]


def assert_usage_exact(gw: Gateway, ok: Iterable[str], sent: Iterable[str], timeout: float = 30.0) -> None:
    """Every successful response has its usage record (none lost), none twice, none for unsent ids."""
    ok_set, sent_set = set(ok), set(sent)
    assert wait_until(lambda: ok_set <= set(usage_ids(gw)), timeout), \
        f"lost usage records: {sorted(ok_set - set(usage_ids(gw)))[:5]}"
    ids = usage_ids(gw)
    doubled = [rid for rid, n in Counter(ids).items() if n > 1]
    assert not doubled, f"doubled usage records: {doubled[:5]}"
    mine = {rid for rid in ids if rid in sent_set or rid.startswith("rel_")}
    assert mine <= sent_set, f"records for requests never sent: {sorted(mine - sent_set)[:5]}"


def books(gw: Gateway, account: str) -> dict[str, int]:
    """The account's balance row, ledger sums, usage costs and held reservations (nano-USD)."""
    url = database_url(gw)

    def one(sql: str) -> int:
        return int(query(url, sql, a=account)[0][0] or 0)

    return {
        "balance": one("SELECT COALESCE(SUM(allowance_nanos + topup_nanos), 0) FROM credit_accounts "
                       "WHERE account_id = :a"),
        "reserved": one("SELECT COALESCE(SUM(reserved_nanos), 0) FROM credit_accounts WHERE account_id = :a"),
        "ledger": one("SELECT COALESCE(SUM(amount_nanos), 0) FROM credit_ledger WHERE account_id = :a"),
        "usage_ledger": one("SELECT COALESCE(SUM(amount_nanos), 0) FROM credit_ledger WHERE account_id = :a "
                            "AND kind = 'usage'"),
        "usage_cost": one("SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE account_id = :a"),
        "held": one("SELECT COALESCE(SUM(amount_nanos), 0) FROM credit_reservations WHERE account_id = :a "
                    "AND state = 'held'"),
    }


def assert_books_balance(gw: Gateway, account: str, timeout: float = 30.0) -> dict[str, int]:
    """Balance == ledger, usage ledger == -(usage costs), nothing left reserved once the load is over."""
    def settled() -> dict[str, int] | None:
        b = books(gw, account)
        good = (b["balance"] == b["ledger"] and b["usage_ledger"] == -b["usage_cost"]
                and b["reserved"] == b["held"] == 0)
        return b if good else None

    got = wait_until(settled, timeout)
    assert got, f"books of {account} do not balance: {books(gw, account)}"
    return got
