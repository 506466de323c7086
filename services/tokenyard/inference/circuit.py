"""Per-provider circuit breakers: stop sending to a provider that keeps failing, probe it again later."""
from __future__ import annotations

import time
from collections.abc import Callable

from tokenyard.catalog import ProviderSpec
from tokenyard.monitoring.metrics import set_circuit_state

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `reset_seconds` lets one probe through (half-open).

    A successful probe closes the circuit, a failed one opens it again for another `reset_seconds`.
    """

    def __init__(self, name: str, failures: int, reset_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._threshold = failures
        self._reset = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self.state = CLOSED
        set_circuit_state(name, "closed")

    def _set(self, state: str) -> None:
        self.state = state
        set_circuit_state(self.name, state)

    def allow(self) -> bool:
        """May a request be sent now? (In half-open state, only the one probe.)"""
        if self.state == OPEN and self._clock() - self._opened_at >= self._reset:
            self._set(HALF_OPEN)
            self._probing = False
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until the next probe may go out (0 when closed)."""
        if self.state != OPEN:
            return 0.0
        return max(self._reset - (self._clock() - self._opened_at), 0.0)

    def success(self) -> None:
        """The provider answered."""
        self._failures = 0
        self._probing = False
        if self.state != CLOSED:
            self._set(CLOSED)

    def failure(self) -> None:
        """The provider failed (5xx, connection error, timeout)."""
        self._failures += 1
        self._probing = False
        if self.state == HALF_OPEN or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set(OPEN)

    def release(self) -> None:
        """The attempt ended with no verdict on the provider (cancelled): let another probe go."""
        self._probing = False


class Breakers:
    """One breaker per provider id, built on first use from the provider's spec."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_provider: dict[str, CircuitBreaker] = {}

    def get(self, provider_id: str, spec: ProviderSpec) -> CircuitBreaker:
        """The breaker of a provider."""
        breaker = self._by_provider.get(provider_id)
        if breaker is None:
            breaker = CircuitBreaker(provider_id, spec.circuit_failures, spec.circuit_reset_seconds, self._clock)
            self._by_provider[provider_id] = breaker
        return breaker
