"""The gRPC server interceptor that feeds the grpc_server_* metrics (defined in monitoring/metrics.py)."""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc

from tokenyard.monitoring.metrics import GRPC_HANDLED, GRPC_MSG_SENT, GRPC_SECONDS, GRPC_STARTED

CURRENT_SERVICE: ContextVar[str] = ContextVar("tokenyard_grpc_service", default="")
"""Full name of the gRPC service whose RPC this task is handling (set by MetricsInterceptor)."""

log = logging.getLogger(__name__)


def _split(full_method: str) -> tuple[str, str]:
    _, service, method = full_method.split("/", 2)
    return service, method


def _handled(cache: dict[str, Any], labels: tuple[str, str, str], code: str) -> Any:
    """The grpc_server_handled_total child of one method and code, bound once (labels() is not free)."""
    child = cache.get(code)
    if child is None:
        child = cache[code] = GRPC_HANDLED.labels(*labels, code)
    return child


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every RPC (grpc_server_* metrics, after go-grpc-prometheus)."""

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
                                handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.count("/") == 2:
            return handler
        service, method = _split(handler_call_details.method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, service, method),
                request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._server_stream(handler.unary_stream, service, method),
                request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)
        return handler

    @staticmethod
    def _code(context: grpc.aio.ServicerContext, exc: BaseException | None) -> str:
        code = context.code() if hasattr(context, "code") else None
        if code is None:
            code = grpc.StatusCode.UNKNOWN if exc is not None and not isinstance(exc, grpc.aio.AbortError) \
                else grpc.StatusCode.OK
        if isinstance(code, int):
            code = next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
        return code.name

    def _unary(self, fn: Any, service: str, method: str) -> Any:
        labels = ("unary", service, method)
        started, seconds, handled = GRPC_STARTED.labels(*labels), GRPC_SECONDS.labels(*labels), {}

        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            CURRENT_SERVICE.set(service)
            started.inc()
            start = time.perf_counter()
            exc: BaseException | None = None
            try:
                return await fn(request, context)
            except BaseException as e:
                exc = e
                raise
            finally:
                seconds.observe(time.perf_counter() - start)
                _handled(handled, labels, self._code(context, exc)).inc()
        return handler

    def _server_stream(self, fn: Any, service: str, method: str) -> Any:
        labels = ("server_stream", service, method)
        started, seconds, handled = GRPC_STARTED.labels(*labels), GRPC_SECONDS.labels(*labels), {}
        sent = GRPC_MSG_SENT.labels(*labels)

        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            CURRENT_SERVICE.set(service)
            started.inc()
            start = time.perf_counter()
            exc: BaseException | None = None
            try:
                async for item in fn(request, context):
                    sent.inc()
                    yield item
            except BaseException as e:
                exc = e
                raise
            finally:
                seconds.observe(time.perf_counter() - start)
                _handled(handled, labels, self._code(context, exc)).inc()
        return handler
