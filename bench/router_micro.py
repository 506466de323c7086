"""Micro-benchmark of the Router's per-request bookkeeping: `python bench/router_micro.py [--calls N]`.

Measures, with time.process_time (min of 5 repetitions), the CPU microseconds per call of the pieces this
code runs around every inference call regardless of the upstream: the metrics policy's finish (metrics and
the request log line, INFO off as in the bench), the gRPC server metrics wrapper of a unary call, the
upstream metrics record, and the Router's finish step (policies' finish + usage event, shielded). Run it
with another checkout first on PYTHONPATH to compare two versions of the code on the same machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT / "services", ROOT / "gateway-http"):
    if str(_p) not in sys.path:
        sys.path.append(str(_p))  # appended: a PYTHONPATH checkout given first wins


def _per_call(fn: Any, calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        fn(calls)
        best = min(best, time.process_time() - t)
    return best / calls * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=20000)
    calls = p.parse_args().calls
    logging.getLogger("tokenyard.requests").setLevel(logging.WARNING)
    from tokenyard.catalog import load_catalog
    from tokenyard.inference.context import CallContext
    from tokenyard.inference.metrics_policy import MetricsPolicy
    from tokenyard.inference.service import Router
    from tokenyard.monitoring import upstream
    from tokenyard.principal import Principal, PrincipalKind
    from tokenyard.telemetry import MetricsInterceptor

    catalog = load_catalog(None)
    model = next(iter(catalog.models.values()))
    principal = Principal(account_id="acct", kind=PrincipalKind.APP_KEY, key_id="key")
    policy = MetricsPolicy()

    def ctx() -> CallContext:
        c = CallContext(request_id="req_x", principal=principal, request={"model": "m"}, model=model,
                        requested_model="m", target="local", prompt_tokens=10, completion_tokens=5)
        return c

    class Sink:
        def submit(self, event: Any) -> asyncio.Future[None]:
            f = asyncio.get_running_loop().create_future()
            f.set_result(None)
            return f

    router = Router(catalog, None, None, Sink(), policies=[policy])  # type: ignore[arg-type]

    async def metrics_finish(n: int) -> None:
        for _ in range(n):
            await policy.finish(ctx())

    async def router_finish(n: int) -> None:
        for _ in range(n):
            await router._finish(ctx())  # noqa: SLF001

    async def ok(request: Any, context: Any) -> int:
        return 1

    class Context:
        def code(self) -> None:
            return None

    wrapped = MetricsInterceptor()._unary(ok, "tokenyard.inference.v1.InferenceService", "Chat")  # noqa: SLF001

    async def grpc_metrics(n: int) -> None:
        context = Context()
        for _ in range(n):
            await wrapped(None, context)

    def record(n: int) -> None:
        for _ in range(n):
            upstream._record("local", "chat", 0.001, None)  # noqa: SLF001

    loop = asyncio.new_event_loop()
    out = {
        "metrics_policy_finish_us": _per_call(lambda n: loop.run_until_complete(metrics_finish(n)), calls),
        "grpc_metrics_unary_us": _per_call(lambda n: loop.run_until_complete(grpc_metrics(n)), calls),
        "upstream_record_us": _per_call(record, calls),
        "router_finish_us": _per_call(lambda n: loop.run_until_complete(router_finish(n)), calls),
    }
    loop.close()
    print(json.dumps({k: round(v, 2) for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
