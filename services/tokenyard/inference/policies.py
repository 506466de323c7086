"""Request policies: pluggable steps around every inference call (app config, limits, credits)."""
from __future__ import annotations

from typing import Protocol

from tokenyard.inference.context import CallContext


class RequestPolicy(Protocol):
    """A step of the request pipeline. Raise GatewayError to refuse a request.

    `prepare` runs before the model is resolved (it may fill in or change `ctx.request`);
    `admit` runs once `ctx.model` is known, before any upstream call;
    `finish` runs exactly once after the call, whatever its outcome (ctx.status says which).
    """

    async def prepare(self, ctx: CallContext) -> None: ...

    async def admit(self, ctx: CallContext) -> None: ...

    async def finish(self, ctx: CallContext) -> None: ...
