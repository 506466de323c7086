"""The background deployment checker: probes pending upstreams until they answer, ends expired deployments,
and finishes key revocations. DB-driven (leases on rows), so it survives restarts and runs in many processes."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable

import httpx

from tokenyard.common.deployments import ENDED, FAILED
from tokenyard.deployments.service import DeploymentService
from tokenyard.deployments.tables import DeploymentRow
from tokenyard.errors import GatewayError
from tokenyard.providers.transport import bearer, join_url
from tokenyard.storage.types import utcnow

log = logging.getLogger(__name__)
PROBE_TIMEOUT = httpx.Timeout(connect=2.0, read=3.0, write=3.0, pool=2.0)


class HealthChecker:
    """Every `interval` seconds: end expired deployments, retry unfinished revocations, probe due ones.

    A pending deployment is probed with `GET {base_url}/models` (backing off up to `max_backoff` s between
    tries) and fails when it has not answered within `pending_timeout` seconds.
    """

    def __init__(self, service: DeploymentService, http: httpx.AsyncClient, *, interval: float = 0.5,
                 pending_timeout: float = 900.0, max_backoff: float = 10.0,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._svc = service
        self._http = http
        self._interval = interval
        self._pending_timeout = dt.timedelta(seconds=pending_timeout)
        self._max_backoff = max_backoff
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background until `stop`."""
        self._task = asyncio.create_task(self._run(), name="deployment-health")

    async def stop(self) -> None:
        """Stop the loop (an in-flight probe is cancelled; its lease simply runs out)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.warning("deployment checker tick failed", exc_info=True)
            await asyncio.sleep(self._interval)

    async def tick(self) -> None:
        """One round (tests call it directly)."""
        now = self._clock()
        store = self._svc.store
        for dep_id in await store.expired(now):
            await self._svc.finish(dep_id, ENDED)
        for dep_id in await store.unrevoked():
            await self._svc.revoke_keys(dep_id)
        claimed = [row for row in await store.due(now)
                   if await store.claim(row, now + dt.timedelta(seconds=30))]
        await asyncio.gather(*(self._check(row) for row in claimed))

    async def _check(self, row: DeploymentRow) -> None:
        try:
            error = await self.probe(row)
            if error is None:
                await self._svc.mark_ready(row.id)
                return
            now = self._clock()
            if now - row.created_at >= self._pending_timeout:
                await self._svc.finish(row.id, FAILED, f"no healthy answer within "
                                       f"{self._pending_timeout.total_seconds():g}s: {error}")
                return
            backoff = min(self._max_backoff, 0.5 * 2 ** min(row.checks, 10))
            await self._svc.store.check_failed(row.id, error, now + dt.timedelta(seconds=backoff))
        except Exception:
            log.warning("health check of deployment %s failed", row.id, exc_info=True)

    async def probe(self, row: DeploymentRow) -> str | None:
        """None when the upstream answers `GET {base_url}/models` with 2xx; otherwise what went wrong."""
        try:
            await self._svc.egress.check(row.base_url, "upstream.base_url")  # DNS may have changed since
        except GatewayError as err:
            return err.message
        key = self._svc.upstream_key(row)
        try:
            resp = await self._http.get(join_url(row.base_url, "models"), headers=bearer(key),
                                        timeout=PROBE_TIMEOUT, follow_redirects=False)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__} connecting to the upstream"
        if 200 <= resp.status_code < 300:
            return None
        return f"GET /models answered HTTP {resp.status_code}"
