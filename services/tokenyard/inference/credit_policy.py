"""Credit policy: reserve the most a call can cost before the upstream call; refuse with 402 when the balance
cannot cover it. The real cost is settled by Metering when it stores the call's usage record."""
from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from tokenyard.catalog import ModelSpec
from tokenyard.common.usage import NANOS_PER_USD
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.context import CallContext, request_param
from tokenyard.inference.estimate import prompt_estimate
from tokenyard.inference.leases import BalanceLeases
from tokenyard.protocol.models import ChatRequest

DEFAULT_MAX_TOKENS = 4096


class Credits(Protocol):
    """Metering's reservation API (the local CreditStore, or BalanceLeases over the gRPC MeteringClient)."""

    async def reserve(self, account_id: str, amount_nanos: int, request_id: str = "") -> tuple[str, int]: ...

    async def release(self, reservation_id: str) -> int: ...


def reservation_nanos(model: ModelSpec, request: ChatRequest | dict[str, Any], prompt_tokens: int,
                      default_max_tokens: int = DEFAULT_MAX_TOKENS) -> int:
    """Upper bound of a call's cost: prompt tokens x input price + max output tokens x `n` x output price +
    the per-call price, rounded up to the nano-dollar. `prompt_tokens` counts every billed part of the prompt
    once (estimate.py). Max output = the request's max_(completion_)tokens, else the model's
    max_output_tokens, else `default_max_tokens`; embeddings produce none."""
    completion = 0
    if model.type == "chat":
        max_out = (request_param(request, "max_completion_tokens") or request_param(request, "max_tokens")
                   or model.max_output_tokens or default_max_tokens)
        n = request_param(request, "n")
        completion = int(max_out) * (int(n) if isinstance(n, int) and n > 1 else 1)
    usd: Decimal = model.cost_usd(prompt_tokens, completion) + model.pricing.per_call_usd
    return math.ceil(usd * NANOS_PER_USD)


class CreditPolicy:
    """Reserves on `admit` (ctx.reservation_id), releases on `finish` when the call produced nothing.
    Accounts in `exempt` (the bootstrap admin) never reserve; their usage is still recorded and charged.
    Register it as the last policy: a later policy refusing in `admit` would leave the reservation held
    until it expires."""

    def __init__(self, credits: Credits, exempt: Iterable[str] = ("admin",),
                 default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self._credits = credits
        self._exempt = frozenset(exempt)
        self._default_max = default_max_tokens

    async def prepare(self, ctx: CallContext) -> None:
        return None

    async def admit(self, ctx: CallContext) -> None:
        if ctx.account_id in self._exempt:
            return
        if ctx.model is None:
            return
        prompt = (await prompt_estimate(ctx)).billable(ctx.model.context_window)
        amount = reservation_nanos(ctx.model, ctx.request, prompt, self._default_max)
        if amount <= 0:
            return
        try:
            ctx.reservation_id, _ = await self._credits.reserve(ctx.account_id, amount, ctx.request_id)
        except GatewayError as err:
            if err.kind is ErrorKind.INSUFFICIENT_QUOTA:
                err.message = quota_message(ctx, amount, self._default_max)
                err.args = (err.message,)
            raise

    async def finish(self, ctx: CallContext) -> None:
        if not ctx.reservation_id:
            return
        if ctx.status != "ok" and not (ctx.prompt_tokens or ctx.completion_tokens):
            await self._credits.release(ctx.reservation_id)
            if isinstance(self._credits, BalanceLeases):
                ctx.reservation_id = ""  # the hold went back to the lease: the record must not touch it
        elif isinstance(self._credits, BalanceLeases):
            ctx.reservation_id, ctx.reservation_share_nanos = await self._credits.consume(ctx.reservation_id)


def _usd(value: Decimal) -> str:
    return f"${value.normalize():f}"


def quota_message(ctx: CallContext, amount_nanos: int, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> str:
    """The 402's text: what was reserved, why (max output tokens x price), and how to reserve less."""
    model = ctx.model
    reserved = _usd(Decimal(amount_nanos) / NANOS_PER_USD)
    if model is None:
        return f"Insufficient credits: this request needs {reserved} reserved, more than your balance holds."
    asked = ctx.param("max_completion_tokens") or ctx.param("max_tokens")
    max_out = asked or model.max_output_tokens or default_max_tokens
    why = ("the request's max_tokens" if asked else "the model's max_output_tokens, as the request sets no "
           "max_tokens" if model.max_output_tokens else "the gateway's default, as the request sets no max_tokens")
    n = ctx.param("n") if isinstance(ctx.param("n"), int) and ctx.param("n") > 1 else 1
    p = model.pricing
    return (f"Insufficient credits: this request reserves {reserved}, the most it can cost, and your balance "
            f"cannot cover it. The reservation counts up to {max_out} output tokens ({why})"
            f"{f' x n={n} choices' if n > 1 else ''} at {_usd(p.output_per_mtok_usd)} per million output tokens, "
            f"plus the prompt at {_usd(p.input_per_mtok_usd)} per million input tokens. Set max_tokens lower to "
            "reserve less, or top up your credits (GET /v1/billing/balance shows what is left).")
