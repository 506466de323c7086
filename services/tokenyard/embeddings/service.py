"""The Embeddings service: admit a call through the Router's pipeline, embed locally or upstream, meter it."""
from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tokenyard.clients.router import CallContext, Dispatcher, Router, prompt_estimate
from tokenyard.embeddings.validate import EmbeddingLimits, Input, check_tokens, validate_request
from tokenyard.errors import ErrorKind
from tokenyard.providers.base import UpstreamError

Vectors = list[list[float]]


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):  # an upstream that answered base64 anyway
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if isinstance(value, list):
        return value
    raise UpstreamError(ErrorKind.PROVIDER_ERROR, "upstream returned an embedding that is not a vector")


def _upstream_vectors(result: dict[str, Any], n: int) -> Vectors:
    data = result.get("data")
    if not isinstance(data, list) or len(data) != n:
        got = len(data) if isinstance(data, list) else 0
        raise UpstreamError(ErrorKind.PROVIDER_ERROR, f"upstream returned {got} embeddings for {n} inputs")
    ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    return [_vector(d.get("embedding") if isinstance(d, dict) else None) for d in ordered]


class EmbeddingsService:
    """OpenAI-format embeddings. Admission (auth, app config, limits, credits) and metering are the Router's
    pipeline (`kind="embedding"`), so embeddings obey the same policies and produce one UsageEvent per call.
    Upstream calls go through a Dispatcher (targets, retries, fallbacks, circuit breakers) whose `local`
    adapter runs the in-process models (see local_provider.py).
    """

    def __init__(self, router: Router, dispatcher: Dispatcher, limits: EmbeddingLimits | None = None,
                 closers: Sequence[Callable[[], Awaitable[None]]] = ()) -> None:
        self._router = router
        self._dispatch = dispatcher
        self._limits = limits or EmbeddingLimits()
        self._closers = list(closers)

    async def begin(self, credential: str, request: dict[str, Any], *, app_id: str = "",
                    request_id: str = "") -> CallContext:
        """Authenticate and admit a call (404 unknown model, 400 when the model is not an embedding model)."""
        return await self._router.begin(credential, request, app_id=app_id, client_request_id=request_id,
                                        kind="embedding")

    async def embed(self, ctx: CallContext) -> dict[str, Any]:
        """The OpenAI embeddings list (float vectors, input order); metered whatever happens."""
        try:
            assert ctx.model is not None
            inputs = validate_request(ctx.request, ctx.model, self._limits)
            counts = await self._check_budget(ctx, inputs)
            ctx.request = {**ctx.request, "input": inputs, "encoding_format": "float"}
            result = await self._dispatch.embed(ctx)
            vectors = _upstream_vectors(result, len(inputs))
            reported = (result.get("usage") or {}).get("prompt_tokens")
            if reported is None:
                counts = counts or list((await prompt_estimate(ctx)).inputs)
                ctx.prompt_tokens, ctx.usage_estimated = sum(counts), True
            else:
                ctx.prompt_tokens, ctx.usage_estimated = int(reported), False
            return {"object": "list", "model": ctx.requested_model,
                    "data": [{"object": "embedding", "index": i, "embedding": v}
                             for i, v in enumerate(vectors)],
                    "usage": {"prompt_tokens": ctx.prompt_tokens, "total_tokens": ctx.prompt_tokens}}
        except BaseException as exc:
            ctx.status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "error"
            raise
        finally:
            await self._router.finish(ctx)

    async def _check_budget(self, ctx: CallContext, inputs: list[Input]) -> list[int] | None:
        """The per-request token budget in cl100k tokens, counted only when the byte size could exceed it."""
        bound = sum(len(x.encode()) if isinstance(x, str) else len(x) for x in inputs)  # tokens <= bytes
        if bound <= self._limits.max_request_tokens:
            return None
        counts = list((await prompt_estimate(ctx)).inputs)  # counted once, for the reservation too
        check_tokens(counts, self._limits, model=ctx.requested_model)
        return counts

    async def close(self) -> None:
        """Stop the local model runners."""
        for close in self._closers:
            await close()
