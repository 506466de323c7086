"""The InferenceService called in-process: the all-in-one gateway's facade skips the gRPC transport.

`LocalInferenceStub` has the generated stub's `Chat` / `StreamChat` / `Forward` / `ResolveGatewayModel` shape (awaitable unary call, streaming
call with `read()`, `initial_metadata()`, `cancel()`), and runs the same servicer methods with the same
error handling and the same grpc_server_* metrics, so the facade code and what it answers are identical
whether the Router is in this process or behind a network hop. Errors arrive as `LocalRpcError`, a
`grpc.RpcError` carrying the same google.rpc.Status the wire would.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

import grpc

from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.telemetry import MetricsInterceptor

SERVICE = pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
Metadata = Sequence[tuple[str, str]]


class LocalRpcError(grpc.aio.AbortError, grpc.RpcError):
    """An RPC aborted in-process; reads like the client side of a failed call (code, details, trailers)."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.details)
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self) -> Metadata:
        return tuple(self._status.trailing_metadata)


class _Context:
    """The slice of grpc.aio.ServicerContext the servicers and interceptors use."""

    def __init__(self, metadata: Metadata | None) -> None:
        self._metadata = tuple(metadata or ())
        self.initial: Metadata = ()
        self._code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    async def send_initial_metadata(self, metadata: Metadata) -> None:
        self.initial = tuple(metadata)

    async def abort_with_status(self, status: grpc.Status) -> None:
        self._code = status.code
        raise LocalRpcError(status)

    def code(self) -> grpc.StatusCode | None:
        return self._code


class _Call:
    """What both call kinds share: the handler's task, its initial metadata, cancellation. The handler runs
    in its own task, as under gRPC: a caller's cancellation reaches it once (edge), so its clean-up
    (metering) can still await, even under anyio's repeated cancellation of the caller."""

    def __init__(self, coro: Any, context: _Context) -> None:
        self._context = context
        self._task = asyncio.get_running_loop().create_task(coro)

    async def initial_metadata(self) -> Metadata:
        return self._context.initial

    def cancel(self) -> bool:
        return self._task.cancel()


class _UnaryCall(_Call):
    def __await__(self) -> Generator[Any, None, Any]:
        return self._task.__await__()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _StreamCall(_Call):
    """A pump task drives the servicer's stream into a small queue (flow control, like gRPC's window);
    `cancel()` cancels the pump once, which the Router handles as a cancelled call."""

    def __init__(self, gen: AsyncGenerator[Any, None], context: _Context) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=32)
        super().__init__(self._pump(gen), context)

    async def _pump(self, gen: AsyncGenerator[Any, None]) -> None:
        try:
            async for item in gen:
                await self._queue.put(item)
        except asyncio.CancelledError:
            await gen.aclose()  # cancelled while queueing: the handler's clean-up (metering) still runs now
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            await self._queue.put(_Failed(exc))
            return
        await self._queue.put(grpc.aio.EOF)

    async def read(self) -> Any:
        item = await self._queue.get()
        if isinstance(item, _Failed):
            raise item.exc
        return item


class LocalInferenceStub:
    """InferenceService in this process (see the module docstring)."""

    def __init__(self, servicer: Any) -> None:
        metrics = MetricsInterceptor()
        self._chat = metrics._unary(servicer.Chat, SERVICE, "Chat")
        self._stream = metrics._server_stream(servicer.StreamChat, SERVICE, "StreamChat")
        self._forward = metrics._server_stream(servicer.Forward, SERVICE, "Forward")
        self._resolve = metrics._unary(servicer.ResolveGatewayModel, SERVICE, "ResolveGatewayModel")

    def Chat(self, request: pb.ChatRequest, metadata: Metadata | None = None, **_: Any) -> _UnaryCall:  # noqa: N802
        context = _Context(metadata)
        return _UnaryCall(self._chat(request, context), context)

    def StreamChat(self, request: pb.StreamChatRequest, metadata: Metadata | None = None,  # noqa: N802
                   **_: Any) -> _StreamCall:
        context = _Context(metadata)
        return _StreamCall(self._stream(request, context), context)

    def Forward(self, request: Any, metadata: Metadata | None = None, **_: Any) -> _StreamCall:  # noqa: N802
        context = _Context(metadata)
        return _StreamCall(self._forward(request, context), context)

    def ResolveGatewayModel(self, request: Any, metadata: Metadata | None = None,  # noqa: N802
                            **_: Any) -> _UnaryCall:
        context = _Context(metadata)
        return _UnaryCall(self._resolve(request, context), context)
