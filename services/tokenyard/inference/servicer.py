"""InferenceService gRPC servicer: proto <-> the typed core around the Router (answers are still dicts)."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import msgspec
from msgspec import UNSET

from tokenyard.common.idempotency import REPLAYED, check_key
from tokenyard.errors import invalid
from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.inference import convert
from tokenyard.inference.idempotency import IdempotencyStore, fingerprint
from tokenyard.inference.service import Router
from tokenyard.inference.v1 import inference_service_pb2 as pb
from tokenyard.inference.v1 import inference_service_pb2_grpc as pb_grpc
from tokenyard.passthrough.service import Passthrough
from tokenyard.passthrough.servicer import PassthroughRpcs


log = logging.getLogger(__name__)


class InferenceServicer(PassthroughRpcs, pb_grpc.InferenceServiceServicer):
    """Chat and StreamChat (and passthrough's Forward, see tokenyard.passthrough). Response metadata (target,
    rate limits) goes out as initial metadata."""

    def __init__(self, router: Router, idempotency: IdempotencyStore | None = None,
                 passthrough: Passthrough | None = None) -> None:
        self._router = router
        self._idempotency = idempotency
        self._passthrough = passthrough

    @handles_errors
    async def Chat(self, request: pb.ChatRequest, context: grpc.aio.ServicerContext) -> pb.ChatResponse:
        credential = credential_from(context)
        if request.idempotency_key:
            resp, headers = await self._idempotent_chat(credential, request)
        else:
            resp, headers = await self._chat(credential, request)
        await context.send_initial_metadata(tuple(headers.items()))
        return resp

    async def _chat(self, credential: str, request: pb.ChatRequest) -> tuple[pb.ChatResponse, dict[str, str]]:
        body = msgspec.structs.replace(convert.request_from_pb(request.request), stream=UNSET, stream_options=UNSET)
        ctx = await self._router.begin(credential, body, app_id=request.app_id,
                                       client_request_id=request.request_id)
        result = await self._router.chat(ctx)
        return pb.ChatResponse(completion=convert.completion_to_pb(result), target=ctx.target), \
            dict(ctx.response_metadata)

    async def _idempotent_chat(self, credential: str, request: pb.ChatRequest
                               ) -> tuple[pb.ChatResponse, dict[str, str]]:
        """Replay the stored answer of this account's key, or run the call once and store its answer."""
        if self._idempotency is None:
            raise invalid("Idempotency-Key is not available on this server", "Idempotency-Key")
        key = check_key(request.idempotency_key)
        principal = await self._router.authenticate(credential)
        claim = await self._idempotency.claim(principal.account_id, key, fingerprint(
            "chat", request.app_id, request.request.SerializeToString(deterministic=True)))
        if claim.replay is not None:
            return pb.ChatResponse.FromString(claim.replay), {**claim.headers, REPLAYED: "true"}
        try:
            resp, headers = await self._chat(credential, request)
        except BaseException:
            await self._idempotency.release(claim)
            raise
        try:
            await self._idempotency.complete(claim, resp.SerializeToString(), headers)
        except Exception:  # noqa: BLE001 - the call ran and was metered: answer it anyway
            log.warning("could not store the answer of an idempotent request", exc_info=True)
        return resp, headers

    @handles_errors
    async def StreamChat(self, request: pb.StreamChatRequest, context: grpc.aio.ServicerContext
                         ) -> AsyncIterator[pb.StreamChatResponse]:
        body = convert.request_from_pb(request.request)
        ctx = await self._router.begin(credential_from(context), body, app_id=request.app_id,
                                       client_request_id=request.request_id)
        sent_metadata = False
        async for chunk in self._router.stream(ctx):
            if not sent_metadata:
                await context.send_initial_metadata(tuple(ctx.response_metadata.items()))
                sent_metadata = True
            yield pb.StreamChatResponse(chunk=convert.chunk_to_pb(chunk))


def registrar(servicer: InferenceServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["InferenceService"].full_name
    return register
