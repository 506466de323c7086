"""Balance leases: the Router admits credit holds locally against a slice of an account's balance that it
reserved from Metering, instead of one Metering round trip per request (split mode).

A lease is one ordinary Metering reservation (one `Reserve` RPC per slice). Every request's hold is taken
from the lease in this process's memory, synchronously, so no await sits between the check and the hold.
What happens to a hold:

- the call produced usage: its usage record names the lease and carries the hold as
  `reservation_share_nanos`; when Metering stores the record (exactly once per request id) it charges the
  real cost and takes exactly that share off the lease, in the same transaction;
- the call produced nothing: the hold goes back to the lease, locally (no RPC).

A lease stops taking new holds when it cannot fit one, when it is older than `max_age` (well inside
Metering's reservation expiry), after `idle_seconds` without a new hold, or when the Router stops; its
unused part is then returned with one partial `Release` once no hold of it is in flight (immediately on
stop, and before any refusal, see below). So an idle account holds nothing for long.

Leases are reserved under the request id `lease:<owner>`, the owner being the Router's usage spool file:
when a Router dies (SIGKILL) the next one adopts its spool, replays its usage records (their shares come off
the leases) and then releases every lease still held under that owner, so the credit returns at restart
instead of at Metering's reservation expiry.

No-overspend bound: every hold is covered by a Metering reservation until its record is stored (the lease's
share is taken off in the record's own transaction), so admission never exceeds the balance, exactly as
with one reservation per request: charges beyond the balance can only come from a hold's estimate being
below the real cost, as before. Two events can uncover a lease, each bounded by one slice per Router
replica: the Router dies (its leases are released at its successor's start or expire on Metering's TTL;
calls in flight at the crash are charged when the spool replays, uncovered), or Metering restarts with
memory holds (SQLite), which forgets the lease while this Router still admits against it until it retires
(at most `max_age`). While Metering is down, calls are still admitted against the current lease (they used
to be refused with 503: there is no per-request round trip any more); a new lease needs Metering.

Refusals are real: before a 402, the Router returns the unused part of every lease of the account, waits
until its usage records sent so far are stored (their shares leave the lease, the cost being usually below
the hold), and asks Metering for exactly the request's hold; it refuses only when Metering cannot cover that.

Slice size: `min_slice_nanos` or 8 holds, whichever is larger; doubled (up to `max_slice_nanos`) when the
previous lease ran out within `fast_seconds`, so a heavy spender makes fewer RPCs. When the balance cannot
cover the slice, half and then a quarter of it are asked for, then just the request's hold: a small balance
is never split into leases that refuse requests while credit sits idle (and the refusal path above returns
any idle part first). Issue 22's multi-replica
leases build on this: the same object per replica, with Metering's lease expiry as the crash bound.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.common.usage import lease_request_id

log = logging.getLogger(__name__)
NANOS_PER_USD = 1_000_000_000


class LeaseSource(Protocol):
    """Metering's reservation API as the Router sees it (the gRPC MeteringClient)."""

    async def reserve(self, account_id: str, amount_nanos: int, request_id: str = "") -> tuple[str, int]: ...

    async def release(self, reservation_id: str, amount_nanos: int = 0) -> int: ...

    async def release_leases(self, owner: str) -> int: ...


@dataclass
class Lease:
    """One slice of an account's balance, reserved at Metering as `reservation_id` (nano-USD)."""

    account_id: str
    reservation_id: str
    size: int
    taken_at: float
    used: int = 0
    """Holds whose usage records take their share off the lease at Metering."""
    active: int = 0
    """Holds of calls in flight."""
    returned: int = 0
    """Given back to Metering with partial releases."""
    retired: bool = False
    last_used: float = 0.0

    @property
    def free(self) -> int:
        """What new holds may still take (or what a retired lease has left to return)."""
        return self.size - self.used - self.active - self.returned


class BalanceLeases:
    """Credit holds (the CreditPolicy's `Credits`) admitted locally against leases from Metering."""

    def __init__(self, source: LeaseSource, *, owner: str = "", min_slice_nanos: int = NANOS_PER_USD // 100,
                 max_slice_nanos: int = NANOS_PER_USD, max_age: float = 60.0, idle_seconds: float = 3.0,
                 fast_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 delivered: Callable[[], Awaitable[object]] | None = None) -> None:
        self._source = source
        self._owner = owner
        self._idle = idle_seconds
        self._ready = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None
        self._delivered = delivered
        self._min, self._max = min_slice_nanos, max(max_slice_nanos, min_slice_nanos)
        self._max_age, self._fast = max_age, fast_seconds
        self._clock = clock
        self._current: dict[str, Lease] = {}
        self._retired: list[Lease] = []
        self._holds: dict[str, tuple[Lease, int]] = {}
        self._slice: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._ids = itertools.count(1)
        self._last_use: dict[str, float] = {}

    def start(self) -> None:
        """Free the leases a dead predecessor with the same owner left (after its spooled usage records were
        delivered, so their shares came off first), then return idle leases every second."""
        self._sweeper = asyncio.get_running_loop().create_task(self._run(), name="balance-leases")

    async def _run(self) -> None:
        try:
            if self._owner:
                if self._delivered is not None:
                    await self._delivered()
                with contextlib.suppress(Exception):
                    freed = await self._source.release_leases(self._owner)
                    if freed:
                        log.info("released %d nano-USD of leases a previous process left", freed)
        finally:
            self._ready.set()
        while True:
            await asyncio.sleep(min(1.0, self._idle))
            await self.sweep()

    async def sweep(self) -> None:
        """Retire leases idle for `idle_seconds` with nothing in flight, and return what retired leases hold
        unused (retrying returns Metering did not take), so an idle account holds nothing."""
        now = self._clock()
        for lease in list(self._current.values()):
            if lease.active == 0 and now - lease.last_used >= self._idle:
                self._retire(lease)
        for lease in list(self._retired):
            await self._trim(lease)

    # ----- the Credits interface -------------------------------------------------------------------------
    async def reserve(self, account_id: str, amount_nanos: int, request_id: str = "") -> tuple[str, int]:
        """Hold `amount_nanos` for one call: (local hold id, free left in the lease). 402 when Metering cannot
        cover it even after every unused lease part went back."""
        lease = self._current.get(account_id)
        if lease is None or not self._fits(lease, amount_nanos):
            lease = await self._renew(account_id, amount_nanos)
        lease.active += amount_nanos
        lease.last_used = self._clock()
        hold_id = f"lh_{next(self._ids)}"
        self._holds[hold_id] = (lease, amount_nanos)
        return hold_id, lease.free

    async def release(self, hold_id: str) -> int:
        """The call produced nothing: its hold goes back to the lease; nano-USD released."""
        return await self._end_hold(hold_id, used=False)

    async def consume(self, hold_id: str) -> tuple[str, int]:
        """The call produced usage: (lease reservation id, share) for its usage record to take off the lease."""
        held = self._holds.get(hold_id)
        if held is None:
            return "", 0
        await self._end_hold(hold_id, used=True)
        self._last_use[held[0].account_id] = self._clock()
        return held[0].reservation_id, held[1]

    async def close(self) -> None:
        """Return every lease's unused part (the Router is stopping; no new holds are taken after this)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(BaseException):
                await self._sweeper
        for lease in list(self._current.values()):
            self._retire(lease)
        for lease in list(self._retired):
            await self._trim(lease)

    # ----- internals -------------------------------------------------------------------------------------
    def _fits(self, lease: Lease, amount: int) -> bool:
        return (not lease.retired and lease.free >= amount
                and self._clock() - lease.taken_at < self._max_age)

    async def _end_hold(self, hold_id: str, *, used: bool) -> int:
        held = self._holds.pop(hold_id, None)
        if held is None:
            return 0
        lease, amount = held
        lease.active -= amount
        if used:
            lease.used += amount
        if lease.retired and lease.active == 0:
            await self._trim(lease)
        return amount

    def _retire(self, lease: Lease) -> None:
        if not lease.retired:
            lease.retired = True
            self._retired.append(lease)
            if self._current.get(lease.account_id) is lease:
                del self._current[lease.account_id]

    async def _trim(self, lease: Lease) -> None:
        """Give a retired lease's free part back to Metering (all that is left once nothing is in flight)."""
        amount = lease.free
        if amount > 0:
            lease.returned += amount  # before the await: a concurrent trim must not return it twice
            try:
                await self._source.release(lease.reservation_id, amount_nanos=amount)
            except Exception:  # noqa: BLE001 - kept retired: the sweeper tries again
                lease.returned -= amount
                log.warning("could not return %d nano-USD of lease %s yet", amount, lease.reservation_id)
                return
        if lease.active == 0 and lease in self._retired:
            self._retired.remove(lease)

    def _next_size(self, account_id: str, amount: int, old: Lease | None) -> int:
        size = self._slice.get(account_id, self._min)
        if old is not None and self._clock() - old.taken_at < self._fast:
            size = min(size * 2, self._max)
        self._slice[account_id] = size
        return max(size, 8 * amount)

    async def _renew(self, account_id: str, amount: int) -> Lease:
        if self._sweeper is not None and not self._ready.is_set():
            await self._ready.wait()  # a predecessor's leases go first (same owner)
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            lease = self._current.get(account_id)
            if lease is not None and self._fits(lease, amount):
                return lease  # another call renewed it while this one waited
            if lease is not None:
                self._retire(lease)
                if lease.active == 0:
                    await self._trim(lease)
            size = self._next_size(account_id, amount, lease)
            lease = await self._take(account_id, amount, size)
            self._current[account_id] = lease
            return lease

    async def _take(self, account_id: str, amount: int, size: int) -> Lease:
        """A new lease of `size`, else half or a quarter of it, else of just `amount`; before refusing, return every unused part and ask
        once more, so a 402 means Metering really cannot cover the hold."""
        asks = [a for a in (size, size // 2, size // 4) if a > amount] + [amount]
        for ask in asks:  # a small balance still gets a lease of a few holds, not one per request
            try:
                return await self._reserve(account_id, ask)
            except GatewayError as err:
                if err.kind is not ErrorKind.INSUFFICIENT_QUOTA:
                    raise
                refusal = err
        idle = [x for x in self._retired if x.account_id == account_id and x.free > 0]
        for old in idle:
            await self._trim(old)
        recent = self._clock() - self._last_use.get(account_id, -1e9) < 30.0
        if recent and self._delivered is not None:
            await self._delivered()  # records in flight still hold their shares of a lease until stored
        elif not idle:
            raise refusal
        return await self._reserve(account_id, amount)

    async def _reserve(self, account_id: str, amount: int) -> Lease:
        rid, _ = await self._source.reserve(account_id, amount, lease_request_id(self._owner))
        now = self._clock()
        return Lease(account_id, rid, amount, now, last_used=now)
