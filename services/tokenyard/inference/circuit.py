"""Circuit breakers per provider and per (account, provider), so that one tenant cannot cut off the others.

A failure a request causes (a poisoned prompt the upstream always answers with a 500, a huge prompt that
times out) says little about the provider: it counts first against a breaker of that account alone. The
provider's shared breaker (the `tokenyard_circuit_state` gauge) opens only on a run of `circuit_failures`
consecutive failures, with no success from anyone in between, spread over at least `circuit_min_accounts`
distinct accounts (default 3; 1 gives the classic breaker). A failure to reach the provider at all (connection
refused, connect timeout) cannot come from a request's content, so each one counts as a witness of its own:
those open the shared breaker after `circuit_failures` in a row, whoever sent them. Timeouts after the
connection (read, total) and 5xx answers are counted per account, since a lone tenant can cause them.

After `circuit_reset_seconds` an open shared breaker goes half-open: up to `circuit_min_accounts` probes at a
time, at most one per account; one success closes it, and it opens again only when probes of that many
distinct accounts (or connection failures) failed, so one tenant cannot keep it open by timing its poisoned
probe. 429s and the request's own 4xx errors never count (see `dispatch._judge`). A tenant whose own breaker
is open gets fast 502s (with Retry-After) from that provider; fallbacks are still tried.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from tokenyard.catalog import ProviderSpec
from tokenyard.monitoring.metrics import set_circuit_state

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
MAX_ACCOUNT_BREAKERS = 100_000
"""Per-account breakers kept at most; idle (closed, no failures) ones are dropped first."""


class CircuitBreaker:
    """Opens after `failures` consecutive failures spread over `min_accounts` witnesses (distinct accounts, or
    connection failures, each its own); after `reset_seconds` it is half-open.

    Half-open lets through up to `min_accounts` probes at a time, one per account: a success closes the circuit,
    failures from `min_accounts` witnesses open it again for another `reset_seconds`. With `min_accounts=1` this
    is the classic breaker (one probe; a failed probe reopens). `gauge` publishes the state as
    `tokenyard_circuit_state{provider=name}`.
    """

    def __init__(self, name: str, failures: int, reset_seconds: float,
                 clock: Callable[[], float] = time.monotonic, *, min_accounts: int = 1, gauge: bool = True) -> None:
        self.name = name
        self._threshold = failures
        self._reset = reset_seconds
        self._clock = clock
        self._min_accounts = max(min_accounts, 1)
        self._gauge = gauge
        self._failures = 0
        self._accounts: set[str] = set()
        self._unreachable = 0
        self._opened_at = 0.0
        self._probes: set[str] = set()
        self.state = CLOSED
        if gauge:
            set_circuit_state(name, CLOSED)

    def _set(self, state: str) -> None:
        self.state = state
        self._forget_run()
        if self._gauge:
            set_circuit_state(self.name, state)

    def _forget_run(self) -> None:
        self._failures = 0
        self._accounts.clear()
        self._unreachable = 0

    def _witnesses(self) -> int:
        return len(self._accounts) + self._unreachable

    @property
    def idle(self) -> bool:
        """Closed with no failure pending: nothing to remember."""
        return self.state == CLOSED and self._failures == 0 and not self._probes

    def allow(self, account: str = "") -> bool:
        """May a request of `account` be sent now? (Half-open: only probes, at most one per account.)"""
        if self.state == OPEN and self._clock() - self._opened_at >= self._reset:
            self._set(HALF_OPEN)
            self._probes.clear()
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and account not in self._probes and len(self._probes) < self._min_accounts:
            self._probes.add(account)
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until the next probe may go out (0 when not open)."""
        if self.state != OPEN:
            return 0.0
        return max(self._reset - (self._clock() - self._opened_at), 0.0)

    def success(self, account: str = "") -> None:
        """The provider answered (a request of `account`)."""
        self._probes.discard(account)
        if self.state != CLOSED:
            self._probes.clear()
            self._set(CLOSED)
        self._forget_run()

    def failure(self, account: str = "", *, unreachable: bool = False) -> None:
        """A request of `account` failed (5xx, timeout, malformed answer); `unreachable`: the provider could not
        even be connected to."""
        self._probes.discard(account)
        self._failures += 1
        if unreachable:
            self._unreachable += 1
        elif len(self._accounts) < self._min_accounts:
            self._accounts.add(account)
        spread = self._witnesses() >= self._min_accounts
        if (self.state == HALF_OPEN and spread) or (self.state == CLOSED and spread
                                                    and self._failures >= self._threshold):
            self._probes.clear()
            self._set(OPEN)
            self._opened_at = self._clock()

    def release(self, account: str = "") -> None:
        """The attempt ended with no verdict on the provider (cancelled, 429): let another probe go."""
        self._probes.discard(account)


class Guard:
    """The two breakers one call passes: its account's with the provider, then the provider's shared one."""

    def __init__(self, account: str, own: CircuitBreaker, shared: CircuitBreaker) -> None:
        self.account = account
        self.own = own
        self.shared = shared

    def allow(self) -> bool:
        """May this call go out? A tenant's open breaker stops only that tenant."""
        if not self.own.allow(self.account):
            return False
        if not self.shared.allow(self.account):
            self.own.release(self.account)
            return False
        return True

    def refusal(self, provider: str) -> str:
        """The message of a call the breakers stopped."""
        if self.own.state != CLOSED:
            return f"upstream {provider} keeps failing on this account's requests (circuit open for this account)"
        return f"upstream {provider} is failing (circuit open)"

    def retry_in(self) -> float:
        """Seconds until whichever breaker stopped the call lets a probe through."""
        return max(self.own.retry_in(), self.shared.retry_in())

    def success(self) -> None:
        """The provider answered."""
        self.own.success(self.account)
        self.shared.success(self.account)

    def failure(self, *, unreachable: bool = False) -> None:
        """The call failed in a way that counts against the provider."""
        self.own.failure(self.account, unreachable=unreachable)
        self.shared.failure(self.account, unreachable=unreachable)

    def release(self) -> None:
        """No verdict (cancelled, rate limited)."""
        self.own.release(self.account)
        self.shared.release(self.account)


class Breakers:
    """One shared breaker per provider id and one per (provider, account), built on first use from the spec."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_accounts: int = MAX_ACCOUNT_BREAKERS) -> None:
        self._clock = clock
        self._max_accounts = max_accounts
        self._by_provider: dict[str, CircuitBreaker] = {}
        self._by_account: dict[tuple[str, str], CircuitBreaker] = {}

    def get(self, provider_id: str, spec: ProviderSpec) -> CircuitBreaker:
        """The shared breaker of a provider."""
        breaker = self._by_provider.get(provider_id)
        if breaker is None:
            breaker = CircuitBreaker(provider_id, spec.circuit_failures, spec.circuit_reset_seconds, self._clock,
                                     min_accounts=spec.circuit_min_accounts)
            self._by_provider[provider_id] = breaker
        return breaker

    def of_account(self, provider_id: str, spec: ProviderSpec, account: str) -> CircuitBreaker:
        """The breaker of one account's calls to a provider (same thresholds, no gauge)."""
        key = (provider_id, account)
        breaker = self._by_account.get(key)
        if breaker is None:
            self._prune()
            breaker = CircuitBreaker(f"{provider_id}@{account}", spec.circuit_failures, spec.circuit_reset_seconds,
                                     self._clock, gauge=False)
            self._by_account[key] = breaker
        return breaker

    def guard(self, provider_id: str, spec: ProviderSpec, account: str) -> Guard:
        """The breakers a call of `account` to `provider_id` passes."""
        return Guard(account, self.of_account(provider_id, spec, account), self.get(provider_id, spec))

    def _prune(self) -> None:
        """Bound the per-account breakers: drop idle ones, then (only if still full) the oldest."""
        if len(self._by_account) < self._max_accounts:
            return
        for key in [k for k, b in self._by_account.items() if b.idle]:
            del self._by_account[key]
        while len(self._by_account) >= self._max_accounts:
            del self._by_account[next(iter(self._by_account))]
