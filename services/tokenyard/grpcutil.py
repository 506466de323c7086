"""gRPC plumbing shared by every service: server creation, error <-> google.rpc.Status, metadata helpers."""
from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from tokenyard.errors import ERROR_DOMAIN, ErrorKind, GatewayError, kind_for_grpc_code, kind_for_reason
from tokenyard.listen import ListenError
from tokenyard.monitoring import tracing
from tokenyard.monitoring.metrics import ERRORS, record_rejection
from tokenyard.outage import is_outage
from tokenyard.telemetry import CURRENT_SERVICE

log = logging.getLogger(__name__)

GRPC_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.so_reuseport", 0),
]
CHANNEL_OPTIONS = [
    *GRPC_OPTIONS,
    # Clients take whatever tokenyard's servers send; each server caps its own messages (grpclimits).
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
]
DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024


def to_status(err: GatewayError) -> grpc.Status:
    """A GatewayError as a grpc.Status carrying google.rpc.Status with ErrorInfo."""
    meta = dict(err.metadata)
    if err.param:
        meta["param"] = err.param
    if err.retry_after is not None:
        meta["retry_after"] = f"{err.retry_after:g}"
    info = error_details_pb2.ErrorInfo(reason=err.kind.reason, domain=ERROR_DOMAIN, metadata=meta)
    detail = any_pb2.Any()
    detail.Pack(info)
    code = err.kind.value.grpc_code
    status = status_pb2.Status(code=code.value[0], message=err.message, details=[detail])
    return rpc_status.to_status(status)


def from_rpc_error(exc: grpc.RpcError) -> GatewayError:
    """Read a GatewayError back from a failed call (ErrorInfo when present, else the status code).

    The result is marked `relayed`: it was already counted by the service that raised it."""
    err = _from_rpc_error(exc)
    err.relayed = True  # type: ignore[attr-defined]
    return err


def _from_rpc_error(exc: grpc.RpcError) -> GatewayError:
    try:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    except ValueError:
        status = None
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    message = (exc.details() if hasattr(exc, "details") else None) or "request failed"
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                kind = kind_for_reason(info.reason) or kind_for_grpc_code(code)
                meta = dict(info.metadata)
                param = meta.pop("param", None)
                retry = meta.pop("retry_after", None)
                return GatewayError(kind, status.message, param=param,
                                    retry_after=float(retry) if retry else None, metadata=meta)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in message:  # grpc's own message cap
        return GatewayError(ErrorKind.PAYLOAD_TOO_LARGE, f"gRPC message too large: {message}")
    if code == grpc.StatusCode.UNAVAILABLE:
        return GatewayError(ErrorKind.UNAVAILABLE, "a tokenyard service is unavailable")
    if code == grpc.StatusCode.CANCELLED:
        return GatewayError(ErrorKind.UNAVAILABLE, "request cancelled")
    kind = kind_for_grpc_code(code)
    if kind is ErrorKind.INTERNAL:
        message = "internal error"
    return GatewayError(kind, message)


async def abort(context: grpc.aio.ServicerContext, err: GatewayError) -> None:
    """End an RPC with the error's status (raises); counts it, and limit rejections where they originate."""
    ERRORS.labels(CURRENT_SERVICE.get() or "unknown", err.kind.reason).inc()
    if not getattr(err, "relayed", False):
        record_rejection(err.kind.name)
    await context.abort_with_status(to_status(err))


def _internal(exc: BaseException) -> GatewayError:
    if is_outage(exc):  # a dependency (database, Redis) is down: a retryable 503, not a 500
        log.warning("dependency unavailable: %s", type(exc).__name__)
        return GatewayError(ErrorKind.UNAVAILABLE, "A backing service is temporarily unavailable; retry shortly.",
                            retry_after=1)
    log.exception("unhandled error in servicer", exc_info=exc)
    return GatewayError(ErrorKind.INTERNAL, "internal error")


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a servicer method: GatewayError -> its status; anything else -> INTERNAL without details."""
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def gen_wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                async for item in fn(self, request, context):
                    yield item
            except GatewayError as err:
                await abort(context, err)
            except (grpc.aio.AbortError, GeneratorExit):
                raise
            except Exception as exc:  # noqa: BLE001 - the boundary that hides internals
                await abort(context, _internal(exc))
        return gen_wrapper

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await fn(self, request, context)
        except GatewayError as err:
            await abort(context, err)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            await abort(context, _internal(exc))
    return wrapper


def credential_from(context: grpc.aio.ServicerContext) -> str:
    """The bearer credential from `authorization` metadata ('' when absent)."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            v = value if isinstance(value, str) else value.decode()
            return v[7:].strip() if v[:7].lower() == "bearer " else v.strip()
    return ""


def metadata_value(context: grpc.aio.ServicerContext, name: str) -> str:
    """One invocation metadata value ('' when absent)."""
    for key, value in context.invocation_metadata() or ():
        if key == name:
            return value if isinstance(value, str) else value.decode()
    return ""


Registrar = Callable[[grpc.aio.Server], str]
"""Adds one servicer to a server and returns its full service name (for health and reflection)."""


def bind_server(listen: str, interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
                max_message: int = DEFAULT_MAX_MESSAGE) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server bound to `listen` (not started yet) and the port it got: with port 0 the OS picks one,
    and whoever calls this server's services must be told that port, never `:0`.

    A message larger than `max_message` bytes, either way, is refused by grpc itself (RESOURCE_EXHAUSTED)."""
    options = [*GRPC_OPTIONS, ("grpc.max_receive_message_length", max_message),
               ("grpc.max_send_message_length", max_message)]
    server = grpc.aio.server(interceptors=list(interceptors), options=options)
    try:
        port = server.add_insecure_port(listen)
    except RuntimeError:  # grpc's own message suggests GRPC_VERBOSITY; the cause is nearly always a busy port
        port = 0
    if port == 0:
        raise ListenError(f"cannot listen on {listen} (gRPC): address already in use or not available")
    return server, port


async def start_server(server: grpc.aio.Server, registrars: Sequence[Registrar]) -> None:
    """Add the servicers, health checking and reflection to a bound server, and start it."""
    names = [register(server) for register in registrars]
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in names:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    await server.start()


async def create_server(registrars: Sequence[Registrar], listen: str,
                        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
                        max_message: int = DEFAULT_MAX_MESSAGE) -> tuple[grpc.aio.Server, int]:
    """Build, bind and start a grpc.aio server with the given servicers, health checking and reflection."""
    server, port = bind_server(listen, interceptors, max_message)
    await start_server(server, registrars)
    return server, port


def channel(addr: str) -> grpc.aio.Channel:
    """A long-lived client channel (reused for every call)."""
    interceptors = tracing.client_interceptors() or None  # trace context propagation, only when tracing
    return grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS, interceptors=interceptors)


def auth_metadata(credential: str, extra: Sequence[tuple[str, str]] = ()) -> tuple[tuple[str, str], ...]:
    """Call metadata forwarding a caller's credential."""
    return (("authorization", f"Bearer {credential}"), *extra)


