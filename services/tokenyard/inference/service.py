"""The Router: authenticate, apply policies, resolve the model, dispatch, and meter every call."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET

from tokenyard.catalog import Catalog
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.clients.usage_sink import UsageSink
from tokenyard.common.ids import new_request_id
from tokenyard.common.usage import UsageEvent, correlation_id, usd_to_micros, usd_to_nanos
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.inference.context import CallContext
from tokenyard.inference.dispatch import Dispatcher
from tokenyard.inference.estimate import completion_text, prompt_estimate
from tokenyard.inference.policies import RequestPolicy
from tokenyard.inference.validate import validate_chat
from tokenyard.principal import Principal, bound_key_refused
from tokenyard.protocol.models import NO_USAGE, ChatRequest, Chunk, ChunkChoice, Completion, StreamOptions, Usage
from tokenyard.protocol.openai_chat import chat_request_from_dict
from tokenyard.storage.types import utcnow
from tokenyard.tokens import count_texts


class Router:
    """Turns one typed chat request (or an embeddings dict) into an upstream call, exactly one usage record per
    call."""

    def __init__(self, catalog: Catalog, authenticator: Authenticator, dispatcher: Dispatcher,
                 sink: UsageSink, policies: Sequence[RequestPolicy] = ()) -> None:
        self.catalog = catalog
        self._auth = authenticator
        self._dispatch = dispatcher
        self._sink = sink
        self._policies = list(policies)

    async def authenticate(self, credential: str) -> Principal:
        """The caller (from the key cache), e.g. to scope something to its account before `begin`."""
        return await self._auth.authenticate(credential, inference=True)

    async def begin(self, credential: str, request: ChatRequest | dict[str, Any], *, app_id: str = "",
                    client_request_id: str = "", kind: str = "chat", route: str = "") -> CallContext:
        """Authenticate and admit a call; returns its context (raises GatewayError when refused).

        The call's (and its usage record's) id is always generated here; `client_request_id`, the caller's
        `X-Request-Id`, is only a correlation id (ignored unless 1-128 printable ASCII characters). `route` names
        the wire format a chat came by (`responses`, `messages`) for its usage record and metrics."""
        principal = await self._auth.authenticate(credential, inference=True)
        if kind == "chat" and isinstance(request, dict):  # built in code (tests, tools): checked like a body
            request = chat_request_from_dict(request)
        ctx = CallContext(request_id=new_request_id(), principal=principal, request=request, app_id=app_id,
                          kind=kind, route=route, client_request_id=correlation_id(client_request_id))
        for policy in self._policies:
            await policy.prepare(ctx)
        if principal.bound and ctx.explicit_target is None:  # fail closed: only to its own deployment
            raise GatewayError(ErrorKind.PERMISSION_DENIED, bound_key_refused(principal))
        name = ctx.param("model")
        if not name:
            raise invalid("`model` is required", "model")
        spec = ctx.model if ctx.model is not None else self.catalog.resolve(name)  # deployments set it
        if spec is None:
            raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"The model `{name}` does not exist", param="model")
        if spec.type != kind:
            raise invalid(f"`{name}` is a {spec.type} model, not a {kind} model", "model")
        if isinstance(ctx.request, ChatRequest):
            validate_chat(ctx.request)
        ctx.model, ctx.requested_model = spec, name
        for policy in self._policies:
            await policy.admit(ctx)
        return ctx

    async def chat(self, ctx: CallContext) -> Completion:
        """One completion (named the model the client asked for, with the usage it is billed); metered whatever
        happens."""
        try:
            result = await self._dispatch.chat(ctx)
            usage = result.usage
            if not usage or usage.prompt_tokens is None:
                await self._estimate(ctx, completion_text(c.message for c in result.choices))
            else:
                ctx.prompt_tokens = usage.prompt_tokens
                ctx.completion_tokens = usage.completion_tokens or 0
            return msgspec.structs.replace(result, model=ctx.requested_model, usage=Usage(
                prompt_tokens=ctx.prompt_tokens, completion_tokens=ctx.completion_tokens,
                total_tokens=ctx.prompt_tokens + ctx.completion_tokens))
        except BaseException as exc:
            ctx.status = _status_of(exc)
            _carry_rate_limit_headers(ctx, exc)
            raise
        finally:
            await self._finish(ctx)

    async def stream(self, ctx: CallContext) -> AsyncIterator[Chunk]:
        """Typed chunks as they arrive, named the model the client asked for; the usage chunk is forwarded only
        when the client asked for it (and a chunk's usage is dropped otherwise)."""
        assert isinstance(ctx.request, ChatRequest)
        want_usage = ctx.request.include_usage
        ctx.request = msgspec.structs.replace(ctx.request, stream=True,
                                              stream_options=StreamOptions(include_usage=True))
        produced: list[list[ChunkChoice]] = []
        got_usage = False
        try:
            async with contextlib.aclosing(self._dispatch.stream(ctx)) as chunks:
                async for chunk in chunks:
                    if ctx.first_byte is None:
                        ctx.first_byte = time.perf_counter()
                    chunk.model = ctx.requested_model
                    usage = chunk.usage
                    if usage and usage != NO_USAGE:
                        got_usage = True
                        ctx.prompt_tokens = usage.prompt_tokens or 0
                        ctx.completion_tokens = usage.completion_tokens or 0
                        if not chunk.choices and not want_usage:
                            continue
                        if not want_usage:
                            chunk.usage = UNSET
                    elif usage is not UNSET:
                        chunk.usage = UNSET  # an explicit `"usage": null` or `{}` says nothing
                    if chunk.choices:
                        produced.append(chunk.choices)  # read only if the upstream reports no usage
                    yield chunk
        except BaseException as exc:
            ctx.status = _status_of(exc)
            _carry_rate_limit_headers(ctx, exc)
            raise
        finally:
            if not got_usage and ctx.first_byte is not None:
                await self._estimate(ctx, completion_text(c.delta for choices in produced for c in choices))
            await self._finish(ctx)

    async def _estimate(self, ctx: CallContext, produced: str) -> None:
        """Usage counted locally when the upstream reports none: the same prompt estimate as the reservation
        (every billed part, media included), so the settlement is not lower than what the upstream bills."""
        window = ctx.model.context_window if ctx.model else 0
        ctx.prompt_tokens = (await prompt_estimate(ctx)).billable(window)
        ctx.completion_tokens = (await count_texts([produced]))[0]
        ctx.usage_estimated = True

    async def finish(self, ctx: CallContext) -> None:
        """Run the policies' finish steps and meter the call, for services that dispatch it themselves
        (embeddings); call exactly once per admitted context."""
        await self._finish(ctx)

    async def _finish(self, ctx: CallContext) -> None:
        # One shielded task for the whole clean-up (was: one per policy plus one for the sink): a cancelled
        # caller can neither skip a later policy's finish nor the usage record, and a call costs one task.
        await asyncio.shield(self._finish_steps(ctx))

    async def _finish_steps(self, ctx: CallContext) -> None:
        for policy in reversed(self._policies):
            with contextlib.suppress(Exception):
                await policy.finish(ctx)
        cost_usd = ctx.model.cost_usd(ctx.prompt_tokens, ctx.completion_tokens) if ctx.model else Decimal(0)
        # Durable before the caller is answered: the spool has the event on disk when this returns.
        await self._sink.submit(UsageEvent(
            request_id=ctx.request_id, time=utcnow(), account_id=ctx.account_id, model=ctx.requested_model,
            app_id=ctx.app_id, key_id=ctx.principal.key_id, target=ctx.target, kind=ctx.usage_kind,
            prompt_tokens=ctx.prompt_tokens, completion_tokens=ctx.completion_tokens,
            estimated=ctx.usage_estimated, cost_micros=usd_to_micros(cost_usd), cost_nanos=usd_to_nanos(cost_usd),
            latency_ms=ctx.elapsed_ms(), ttft_ms=ctx.ttft_ms(), status=ctx.status,
            reservation_id=ctx.reservation_id, reservation_share_nanos=ctx.reservation_share_nanos,
            client_request_id=ctx.client_request_id))


def _carry_rate_limit_headers(ctx: CallContext, exc: BaseException) -> None:
    """Errors after admission still carry the x-ratelimit-* headers of the limits that applied."""
    if isinstance(exc, GatewayError):
        for k, v in ctx.response_metadata.items():
            if k.startswith("x-ratelimit-"):
                exc.metadata.setdefault(k, v)


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
        return "cancelled"
    return "error"
