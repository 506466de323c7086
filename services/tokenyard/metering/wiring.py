"""Builds the metering parts a process needs: the Metering service with credits, the rate limiter, the
durable usage sink, and the reservation-expiry sweeper."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.catalog import Catalog
from tokenyard.clients.usage_sink import Recorder, UsageSink
from tokenyard.clients.usage_spool import UsageSpool
from tokenyard.common.rules import ADMIN_ACCOUNT
from tokenyard.metering.credits import CreditStore
from tokenyard.metering.ratelimit import MemoryRateLimiter, RateLimiter
from tokenyard.metering.service import MeteringService
from tokenyard.settings import Settings

log = logging.getLogger(__name__)
UNLIMITED_ACCOUNTS = (ADMIN_ACCOUNT,)


def build_metering(catalog: Catalog, sessions: async_sessionmaker, holds: str = "database") -> MeteringService:
    """Metering over the database, with plan allowances from the catalog's plans; `holds`: where credit
    reservations live (see CreditStore)."""
    default = catalog.default_plan()
    credits = CreditStore(sessions, {p.name: p.monthly_credits_usd for p in catalog.plans.values()},
                          default.name if default else "", unlimited=UNLIMITED_ACCOUNTS, holds=holds)
    return MeteringService(sessions, credits)


def build_limiter(settings: Settings) -> RateLimiter:
    """Redis when TOKENYARD_REDIS_URL is set (shared by every replica), otherwise in-process."""
    if settings.redis_url:
        from tokenyard.metering.ratelimit_redis import RedisRateLimiter

        return RedisRateLimiter(settings.redis_url, settings.redis_prefix)
    return MemoryRateLimiter()


async def build_sink(settings: Settings, recorder: Recorder) -> UsageSink:
    """A started sink spooling to `<data_dir>/spool` (replaying what a previous process left there)."""
    sink = UsageSink(recorder, spool=UsageSpool(settings.data_dir / "spool", settings.usage_spool_sync))
    await sink.open()
    sink.start()
    return sink


def start_sweeper(credits: CreditStore, interval: float = 60.0) -> asyncio.Task[None]:
    """Periodically release reservations whose request never reported back."""
    async def run() -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                if n := await credits.expire():
                    log.info("released %d expired credit reservations", n)
    return asyncio.create_task(run(), name="reservation-sweeper")
