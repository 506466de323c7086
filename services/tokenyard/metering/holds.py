"""Credit reservations held in the Metering process's memory, over cached account balances.

With `holds="memory"` a reservation costs no database write: the process keeps each hold and the sum held
per account, and checks new ones against the account's balance (allowance + top-ups) as last read from the
database. The database stays the record of money: charges are still written with the usage records, in
batches; a hold is dropped only after the charge that replaces it committed, and the account's cached
balance is read again after every change, so at no moment is more admitted than the balance covers.

Memory holds assume one Metering process per database, which is the case with SQLite (one host, one file).
With several Metering replicas on PostgreSQL, use `holds="database"`: each replica would otherwise admit up
to the full balance on its own. A crash loses the holds, which is the same as releasing them: the usage of
calls that ran is in the Router's spool and is charged when it is replayed.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CachedAccount:
    """An account's balance as last read from the database (nano-USD)."""

    period: str
    unlimited: bool
    allowance_nanos: int
    topup_nanos: int


@dataclass(frozen=True)
class Hold:
    """One reservation."""

    account_id: str
    amount_nanos: int
    request_id: str
    expires_at: dt.datetime


class MemoryHolds:
    """The holds and cached balances. Every method is synchronous, so a check-then-hold sequence cannot
    interleave with another coroutine's."""

    def __init__(self) -> None:
        self._holds: dict[str, Hold] = {}
        self._reserved: dict[str, int] = {}
        self._accounts: dict[str, CachedAccount] = {}
        self._epoch: dict[str, int] = {}

    # ----- cached balances --------------------------------------------------------------------------------
    def account(self, account_id: str, period: str) -> CachedAccount | None:
        """The cached balance, or None when absent or from an earlier allowance period."""
        acct = self._accounts.get(account_id)
        return acct if acct is not None and acct.period == period else None

    def epoch(self, account_id: str) -> int:
        """Changes every time the account's stored balance changes; take it before reading the database."""
        return self._epoch.get(account_id, 0)

    def remember(self, account_id: str, acct: CachedAccount, epoch: int) -> None:
        """Cache a balance read while the epoch was `epoch` (dropped if the balance changed since)."""
        if self.epoch(account_id) == epoch:
            self._accounts[account_id] = acct

    def charged(self, charges: Mapping[str, int]) -> None:
        """Charges of these accounts were stored: apply them to the cached balances the way the database did
        (allowance first, then top-ups, which may go negative), so no read is needed before the next hold.
        In-flight reads started before the charge are discarded (the epoch moves)."""
        for a, cost in charges.items():
            acct = self._accounts.get(a)
            self._epoch[a] = self._epoch.get(a, 0) + 1
            if acct is None or cost <= 0:
                continue
            if acct.allowance_nanos >= cost:
                acct = replace(acct, allowance_nanos=acct.allowance_nanos - cost)
            else:
                acct = replace(acct, allowance_nanos=0, topup_nanos=acct.topup_nanos - (cost - acct.allowance_nanos))
            self._accounts[a] = acct

    def changed(self, account_ids: Iterable[str]) -> None:
        """The stored balances of these accounts changed: read them again before the next hold."""
        for a in account_ids:
            self._accounts.pop(a, None)
            self._epoch[a] = self._epoch.get(a, 0) + 1

    # ----- holds --------------------------------------------------------------------------------------
    def reserved(self, account_id: str) -> int:
        """Nano-USD held for the account."""
        return self._reserved.get(account_id, 0)

    def try_hold(self, acct: CachedAccount, account_id: str, amount_nanos: int, request_id: str,
                 expires_at: dt.datetime) -> tuple[str, int] | None:
        """Hold `amount_nanos` when the balance covers it: (reservation id, spendable left), else None."""
        left = acct.allowance_nanos + acct.topup_nanos - self.reserved(account_id) - amount_nanos
        if left < 0 and not acct.unlimited:
            return None
        rid = f"rsv_{uuid.uuid4().hex}"
        self._holds[rid] = Hold(account_id, amount_nanos, request_id, expires_at)
        self._reserved[account_id] = self.reserved(account_id) + amount_nanos
        return rid, left

    def get(self, reservation_id: str) -> Hold | None:
        """A hold, if held."""
        return self._holds.get(reservation_id)

    def drop(self, reservation_id: str) -> Hold | None:
        """Remove a hold; the hold, or None when it was not held."""
        hold = self._holds.pop(reservation_id, None)
        if hold is not None:
            left = self._reserved.get(hold.account_id, 0) - hold.amount_nanos
            if left > 0:
                self._reserved[hold.account_id] = left
            else:
                self._reserved.pop(hold.account_id, None)
        return hold

    def shrink(self, reservation_id: str, amount_nanos: int) -> Hold | None:
        """Take up to `amount_nanos` off a hold (a balance lease's share; dropped at 0); the hold as it was
        with `amount_nanos` set to what was taken, or None when it was not held."""
        hold = self._holds.get(reservation_id)
        if hold is None:
            return None
        taken = min(amount_nanos, hold.amount_nanos)
        if taken >= hold.amount_nanos:
            return self.drop(reservation_id)
        self._holds[reservation_id] = replace(hold, amount_nanos=hold.amount_nanos - taken)
        self._reserved[hold.account_id] = self.reserved(hold.account_id) - taken
        return replace(hold, amount_nanos=taken)

    def held_for(self, request_id: str) -> list[str]:
        """Ids of the holds taken under `request_id`."""
        return [rid for rid, h in self._holds.items() if h.request_id == request_id]

    def expired(self, now: dt.datetime, limit: int) -> list[str]:
        """Ids of holds past their expiry."""
        return [rid for rid, h in self._holds.items() if h.expires_at < now][:limit]
