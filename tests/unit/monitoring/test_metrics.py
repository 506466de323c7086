"""Gateway metric helpers: bounded labels, rejections counted once where they originate, upstream timing."""
from __future__ import annotations

import asyncio

import grpc
import pytest
from prometheus_client import REGISTRY

from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.grpcutil import abort, from_rpc_error, to_status
from tokenyard.monitoring.metrics import BoundedLabel
from tokenyard.monitoring.upstream import InstrumentedProvider, start_clock
from tokenyard.telemetry import CURRENT_SERVICE


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_bounded_label_keeps_the_first_values_then_says_other() -> None:
    label = BoundedLabel(limit=2)
    assert [label(v) for v in ("a", "b", "a", "c", "", "b")] == ["a", "b", "a", "other", "none", "b"]


class _Context:
    async def abort_with_status(self, status: grpc.Status) -> None:
        raise grpc.aio.AbortError()


class _Failed(grpc.RpcError):
    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self) -> tuple:
        return self._status.trailing_metadata


async def test_a_rate_limit_is_counted_where_raised_not_again_where_relayed() -> None:
    CURRENT_SERVICE.set("tokenyard.metering.v1.MeteringService")
    before = _value("tokenyard_rejections_total", reason="rate_limit")
    err = GatewayError(ErrorKind.RATE_LIMITED, "slow down", retry_after=1)
    with pytest.raises(grpc.aio.AbortError):
        await abort(_Context(), err)
    relayed = from_rpc_error(_Failed(to_status(err)))
    assert relayed.kind is ErrorKind.RATE_LIMITED
    CURRENT_SERVICE.set("tokenyard.inference.v1.InferenceService")
    with pytest.raises(grpc.aio.AbortError):
        await abort(_Context(), relayed)
    assert _value("tokenyard_rejections_total", reason="rate_limit") == before + 1
    for service in ("tokenyard.metering.v1.MeteringService", "tokenyard.inference.v1.InferenceService"):
        assert _value("tokenyard_errors_total", grpc_service=service, reason="RATE_LIMITED") >= 1


class _SlowStream:
    kind = "fake"

    async def stream(self, target: object, request: dict) -> object:
        for i in range(3):
            await asyncio.sleep(0.05)
            yield {"i": i}


async def test_stream_upstream_time_excludes_the_consumers_time() -> None:
    from tokenyard.catalog import ProviderSpec
    from tokenyard.providers.base import UpstreamTarget

    target = UpstreamTarget(provider_id="fakeprov", spec=ProviderSpec(kind="local"), upstream_model="m")
    clock = start_clock()
    async for _ in InstrumentedProvider(_SlowStream()).stream(target, {}):
        await asyncio.sleep(0.1)  # a slow client
    assert 0.14 <= clock.seconds < 0.25
    assert _value("tokenyard_upstream_requests_total", provider="fakeprov", operation="stream", outcome="ok") == 1
