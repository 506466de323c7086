"""Pre-bound children of labelled Prometheus metrics, so the request path does not call `labels()` per use.

`labels()` validates, stringifies and looks the label values up under a lock on every call; the hot path
observes a dozen series per request, always from a small set of label values (routes, models, providers,
statuses, app labels that TENANT already bounds). `Children(metric)(*values)` returns the same child
object `labels()` would, resolved once per distinct value tuple. Series are never removed in this code
base; a metric whose children get removed must not be wrapped.
"""
from __future__ import annotations

from typing import Any


class Children:
    """`metric.labels(*values)`, memoized by the value tuple."""

    __slots__ = ("_metric", "_cache")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._cache.get(values)
        if child is None:
            child = self._cache[values] = self._metric.labels(*values)
        return child
