"""Retries of one upstream target: exponential backoff with jitter (tenacity), Retry-After honoured up to a cap."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tokenyard.catalog import ProviderSpec
from tokenyard.providers.base import UpstreamError


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, connection errors and timeouts may succeed on another try."""
    return isinstance(exc, UpstreamError) and exc.retryable


def _retry_after(state: RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc.retry_after if isinstance(exc, UpstreamError) else None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff `initial * 2**n + jitter` capped at `max_backoff` seconds; a Retry-After up to `max_retry_after`
    seconds is waited exactly, a longer one ends the retries of that target (the fallbacks come next)."""

    initial: float = 0.25
    max_backoff: float = 4.0
    max_retry_after: float = 20.0

    def _wait(self) -> Callable[[RetryCallState], float]:
        backoff = wait_exponential_jitter(initial=self.initial, max=self.max_backoff, jitter=self.initial)

        def wait(state: RetryCallState) -> float:
            after = _retry_after(state)
            return after if after is not None else backoff(state)
        return wait

    def _too_long(self, state: RetryCallState) -> bool:
        after = _retry_after(state)
        return after is not None and after > self.max_retry_after

    def retrying(self, spec: ProviderSpec, *, on_retry: Callable[[RetryCallState], Any],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> AsyncRetrying:
        """A tenacity controller for one target: `spec.max_retries` retries of retryable errors."""
        return AsyncRetrying(retry=retry_if_exception(is_retryable),
                             stop=stop_after_attempt(spec.max_retries + 1) | self._too_long,
                             wait=self._wait(), sleep=sleep, before_sleep=on_retry, reraise=True)
