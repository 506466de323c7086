"""A request policy recording every admitted inference call in the gateway metrics (and its log line)."""
from __future__ import annotations

import logging

import msgspec

from tokenyard.inference.context import CallContext
from tokenyard.logs import REQUEST_ID
from tokenyard.monitoring import metrics as m
from tokenyard.monitoring.bound import Children
from tokenyard.monitoring.upstream import start_clock

log = logging.getLogger("tokenyard.requests")
REQUESTS, REQUEST_SECONDS, TTFT_SECONDS = Children(m.REQUESTS), Children(m.REQUEST_SECONDS), Children(m.TTFT_SECONDS)
OVERHEAD_SECONDS, TOKENS, APP_TOKENS = Children(m.OVERHEAD_SECONDS), Children(m.TOKENS), Children(m.APP_TOKENS)
COST_USD, APP_REQUESTS, APP_COST_USD = Children(m.COST_USD), Children(m.APP_REQUESTS), Children(m.APP_COST_USD)


def route_of(ctx: CallContext) -> str:
    """The `route` label: the call kind, with `_stream` for streamed calls."""
    return f"{ctx.usage_kind}_stream" if ctx.param("stream") else ctx.usage_kind


class MetricsPolicy:
    """Observes status, model, provider, tokens, cost, latency, TTFT and gateway overhead in `finish`.

    Put it first in the Router's policy list: its `finish` then runs last, after every other policy.
    With `log_prompts` the request log line also carries the messages (off by default: prompts are private).
    """

    def __init__(self, log_prompts: bool = False) -> None:
        self._log_prompts = log_prompts

    async def prepare(self, ctx: CallContext) -> None:
        """Tag this task's log lines with the caller's correlation id (else the call's own id)."""
        REQUEST_ID.set(ctx.client_request_id or ctx.request_id)

    async def admit(self, ctx: CallContext) -> None:
        """Start the request's upstream clock."""
        ctx.upstream_clock = start_clock()

    async def finish(self, ctx: CallContext) -> None:
        """Record the finished call."""
        route, provider = route_of(ctx), m.TENANT.provider(ctx.target or "none")
        model = m.TENANT.model(ctx.model.id if ctx.model is not None else "unknown", ctx.target)
        total = ctx.elapsed_ms() / 1000.0
        REQUESTS(route, model, provider, ctx.status).inc()
        REQUEST_SECONDS(route, model, provider).observe(total)
        if ctx.first_byte is not None:
            TTFT_SECONDS(model, provider).observe(ctx.ttft_ms() / 1000.0)
        clock = ctx.upstream_clock
        upstream = clock.seconds if clock is not None else 0.0
        OVERHEAD_SECONDS(route).observe(max(total - upstream, 0.0))
        cost = float(ctx.model.cost_usd(ctx.prompt_tokens, ctx.completion_tokens)) if ctx.model else 0.0
        app = m.TENANT.app(ctx.app_id)
        for direction, n in (("input", ctx.prompt_tokens), ("output", ctx.completion_tokens)):
            TOKENS(model, provider, direction).inc(n)
            APP_TOKENS(app, direction).inc(n)
        COST_USD(model, provider).inc(cost)
        APP_REQUESTS(app, ctx.status).inc()
        APP_COST_USD(app).inc(cost)
        if log.isEnabledFor(logging.INFO):  # the log line's fields are not built when nobody reads them
            self._log(ctx, route, model, provider, total, upstream)

    def _log(self, ctx: CallContext, route: str, model: str, provider: str, total: float, upstream: float) -> None:
        extra = {"request_id": ctx.client_request_id or ctx.request_id, "usage_id": ctx.request_id,
                 "route": route, "status": ctx.status, "model": model,
                 "provider": provider, "app_id": ctx.app_id, "account_id": ctx.account_id,
                 "prompt_tokens": ctx.prompt_tokens, "completion_tokens": ctx.completion_tokens,
                 "latency_ms": round(total * 1000.0, 2), "upstream_ms": round(upstream * 1000.0, 2),
                 "ttft_ms": round(ctx.ttft_ms(), 2)}
        if self._log_prompts:
            extra["messages"] = msgspec.json.encode(ctx.param("messages") or []).decode()
        log.info("%s request finished", ctx.usage_kind, extra=extra)
