"""OpenTelemetry tracing: off by default (no hooks installed at all), console or OTLP export when enabled.

W3C trace context travels facade -> gRPC in call metadata (`traceparent`/`tracestate`), injected by a
client interceptor on every channel and extracted by a server interceptor on every server.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

EXPORTERS = ("none", "console", "otlp")
_state: dict[str, Any] = {"provider": None}


def setup(exporter: str, service_name: str) -> bool:
    """Install a tracer provider exporting to `exporter` (none|console|otlp); True when tracing is on."""
    exporter = (exporter or "none").lower()
    if exporter not in EXPORTERS:
        raise ValueError(f"TOKENYARD_OTEL_EXPORTER must be one of {', '.join(EXPORTERS)} (got {exporter!r})")
    if exporter == "none":
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter == "console":
        # One JSON object per line on stdout, exported as each span ends (a debugging aid).
        console = ConsoleSpanExporter(out=sys.stdout, formatter=lambda s: s.to_json(indent=None) + os.linesep)
        provider.add_span_processor(SimpleSpanProcessor(console))
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # OTEL_EXPORTER_OTLP_* env
    _state["provider"] = provider
    return True


def enabled() -> bool:
    """Whether this process traces."""
    return _state["provider"] is not None


def shutdown() -> None:
    """Flush and stop the exporter (end of process)."""
    provider = _state["provider"]
    if provider is not None:
        provider.shutdown()
        _state["provider"] = None


def tracer() -> trace.Tracer:
    """The tokenyard tracer (no-op when tracing is off)."""
    provider = _state["provider"]
    return provider.get_tracer("tokenyard") if provider is not None else trace.NoOpTracer()


@contextlib.contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL, context: Any = None,
         attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A current span when tracing is on; nothing at all when off."""
    if _state["provider"] is None:
        yield None
        return
    with tracer().start_as_current_span(name, context=context, kind=kind, attributes=attributes,
                                        record_exception=True, set_status_on_exception=True) as s:
        yield s


def _metadata(details: grpc.aio.ClientCallDetails) -> grpc.aio.Metadata:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    existing = details.metadata or ()
    return grpc.aio.Metadata(*tuple(existing), *carrier.items())


def _details(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(details.method, details.timeout, _metadata(details), details.credentials,
                                      details.wait_for_ready)


class ClientTracing(grpc.aio.UnaryUnaryClientInterceptor):
    """Puts the current trace context into the metadata of every outgoing unary call."""

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(_details(client_call_details), request)


class StreamClientTracing(grpc.aio.UnaryStreamClientInterceptor):
    """The same for server-streaming calls (grpc.aio files an interceptor under one call type only)."""

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(_details(client_call_details), request)


def _code_name(context: grpc.aio.ServicerContext) -> str:
    code = context.code()
    if code is None:
        return "OK"
    if isinstance(code, int):
        return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")
    return code.name


def _end(s: Span | None, context: grpc.aio.ServicerContext) -> None:
    if s is None:
        return
    code = _code_name(context)
    s.set_attribute("rpc.grpc.status_code", code)
    if code != "OK":
        s.set_status(Status(StatusCode.ERROR, code))


class ServerTracing(grpc.aio.ServerInterceptor):
    """One SERVER span per RPC, child of the caller's trace context when the metadata carries one."""

    async def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(handler_call_details)
        name = handler_call_details.method.lstrip("/")
        if handler is None or name.count("/") != 1:
            return handler
        service, method = name.split("/")
        attrs = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}
        kwargs = {"request_deserializer": handler.request_deserializer,
                  "response_serializer": handler.response_serializer}
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(self._unary(handler.unary_unary, name, attrs), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(self._stream(handler.unary_stream, name, attrs), **kwargs)
        return handler

    @staticmethod
    def _parent(context: grpc.aio.ServicerContext) -> Any:
        carrier = {k: (v if isinstance(v, str) else v.decode()) for k, v in context.invocation_metadata() or ()}
        return propagate.extract(carrier)

    def _unary(self, fn: Any, name: str, attrs: dict[str, str]) -> Any:
        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            with span(name, SpanKind.SERVER, self._parent(context), attrs) as s:
                try:
                    return await fn(request, context)
                finally:
                    _end(s, context)
        return handler

    def _stream(self, fn: Any, name: str, attrs: dict[str, str]) -> Any:
        async def handler(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            with span(name, SpanKind.SERVER, self._parent(context), attrs) as s:
                try:
                    async for item in fn(request, context):
                        yield item
                finally:
                    _end(s, context)
        return handler


def client_interceptors() -> list[Any]:
    """Interceptors for a new channel: none when tracing is off."""
    return [ClientTracing(), StreamClientTracing()] if enabled() else []


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """Interceptors for a new server: none when tracing is off."""
    return [ServerTracing()] if enabled() else []
