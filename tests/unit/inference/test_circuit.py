"""Circuit breakers: one account's failures open only its own breaker; the shared one needs several accounts."""
from __future__ import annotations

from tokenyard.catalog import ProviderSpec
from tokenyard.inference.circuit import Breakers, CircuitBreaker

SPEC = ProviderSpec(kind="openai", circuit_failures=5, circuit_reset_seconds=10, circuit_min_accounts=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_accounts_failures_open_only_its_own_breaker() -> None:
    breakers = Breakers(Clock())
    a = breakers.guard("p", SPEC, "A")
    for _ in range(50):
        assert a.allow() or breakers.of_account("p", SPEC, "A").state == "open"
        a.failure()
    assert not a.allow() and "this account" in a.refusal("p")
    assert breakers.get("p", SPEC).state == "closed"
    assert breakers.guard("p", SPEC, "B").allow(), "another account still reaches the provider"


def test_a_failure_run_over_three_accounts_opens_the_shared_breaker() -> None:
    breakers = Breakers(Clock())
    for account in ("A", "A", "A", "B", "C"):
        breakers.guard("p", SPEC, account).failure()
    assert breakers.get("p", SPEC).state == "open"
    assert not breakers.guard("p", SPEC, "D").allow()


def test_any_success_ends_the_failure_run() -> None:
    breakers = Breakers(Clock())
    for account in ("A", "A", "A", "B"):
        breakers.guard("p", SPEC, account).failure()
    breakers.guard("p", SPEC, "D").success()
    for account in ("C", "A"):
        breakers.guard("p", SPEC, account).failure()
    assert breakers.get("p", SPEC).state == "closed"


def test_connection_failures_open_the_shared_breaker_whoever_sends_them() -> None:
    breakers = Breakers(Clock())
    for _ in range(5):
        breakers.guard("p", SPEC, "A").failure(unreachable=True)
    assert breakers.get("p", SPEC).state == "open"


def test_half_open_needs_failed_probes_of_several_accounts_to_reopen() -> None:
    clock = Clock()
    shared = CircuitBreaker("p", failures=5, reset_seconds=10, clock=clock, min_accounts=3)
    for account in ("A", "B", "C", "A", "B"):
        shared.failure(account)
    assert shared.state == "open" and not shared.allow("A")
    clock.now += 10
    assert shared.allow("A") and not shared.allow("A"), "one probe per account"
    assert shared.allow("B") and shared.allow("C") and not shared.allow("D"), "at most 3 probes at a time"
    shared.failure("A")
    assert shared.state == "half_open", "one tenant's failed (maybe poisoned) probe does not reopen"
    shared.failure("B")
    shared.failure("C")
    assert shared.state == "open"
    clock.now += 10
    assert shared.allow("A")
    shared.failure("A")
    assert shared.allow("D")
    shared.success("D")
    assert shared.state == "closed" and shared.allow("A")


def test_a_probe_stopped_by_the_shared_breaker_frees_the_accounts_probe() -> None:
    clock = Clock()
    breakers = Breakers(clock)
    for account in ("A", "A", "A", "A", "A", "B", "C"):
        breakers.guard("p", SPEC, account).failure()
    assert breakers.of_account("p", SPEC, "A").state == "open" and breakers.get("p", SPEC).state == "open"
    clock.now += 10
    for account in ("B", "C", "D"):
        assert breakers.guard("p", SPEC, account).allow()
    assert not breakers.guard("p", SPEC, "A").allow(), "the shared probes are taken"
    breakers.guard("p", SPEC, "B").success()
    assert breakers.guard("p", SPEC, "A").allow(), "A's own half-open probe was not lost"


def test_per_account_breakers_are_bounded() -> None:
    breakers = Breakers(Clock(), max_accounts=10)
    for i in range(100):
        breakers.guard("p", SPEC, f"acc{i}").failure()
    assert len(breakers._by_account) <= 10
