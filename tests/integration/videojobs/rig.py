"""An in-process VideoJobs rig: real database, store, workers and renderers; credits in memory."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tokenyard.auth.service import AuthService
from tokenyard.catalog import load_catalog
from tokenyard.clients.auth_cache import CachedAuthenticator
from tokenyard.common.usage import UsageEvent
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.settings import Settings
from tokenyard.storage.db import create_engine, migrate, sessionmaker
from tokenyard.videojobs.assemble import VideoJobs, build_videojobs
from tokenyard.videojobs.tables import TERMINAL, VideoJob

ADMIN = "ty_sk_rig-admin-0123456789abcdefghijklmnop"


@dataclass
class MemoryCredits:
    """Credits with a balance, as Metering keeps them: reserve holds, settle charges, release frees."""

    balance: int = 10_000_000
    held: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, Any, ...]] = field(default_factory=list)  # type: ignore[misc]

    async def reserve(self, account_id: str, amount_micros: int, request_id: str) -> str:
        if amount_micros > self.balance:
            raise GatewayError(ErrorKind.INSUFFICIENT_QUOTA, "not enough credits")
        self.balance -= amount_micros
        rid = f"res_{request_id}"
        self.held[rid] = amount_micros
        self.calls.append(("reserve", account_id, amount_micros))
        return rid

    async def settle(self, reservation_id: str, amount_micros: int) -> None:
        self.balance += self.held.pop(reservation_id) - amount_micros
        self.calls.append(("settle", reservation_id, amount_micros))

    async def release(self, reservation_id: str) -> None:
        self.balance += self.held.pop(reservation_id)
        self.calls.append(("release", reservation_id))


@dataclass
class Rig:
    """The running parts and what they recorded."""

    videojobs: VideoJobs
    credits: MemoryCredits
    events: list[UsageEvent]
    admin: str = ADMIN

    @property
    def service(self):  # type: ignore[no-untyped-def]
        return self.videojobs.service

    async def wait(self, job_id: str, statuses: Sequence[str] = TERMINAL, timeout: float = 30) -> VideoJob:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = await self.service.queue.get(job_id)
            if job is not None and job.status in statuses:
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {job_id} not in {statuses}: {job.status if job else None}")


async def start_rig(tmp: Path, config: dict[str, Any] | None = None, *, url: str = "", **settings: Any) -> Rig:
    """Migrate the database (default: a SQLite file in `tmp`) and start a worker pool."""
    url = url or f"sqlite+aiosqlite:///{tmp / 'rig.db'}"
    await migrate(url)
    sessions = sessionmaker(create_engine(url))
    auth = AuthService(sessions)
    await auth.bootstrap_admin(ADMIN)
    cfg_path = None
    if config:
        cfg_path = tmp / "config.yaml"
        cfg_path.write_text(yaml.safe_dump(config))
    opts = {"data_dir": tmp, "video_render_pace": 0.0, "video_upstream_poll_seconds": 0.05,
            "video_lease_seconds": 3.0, "video_workers": 2, **settings}
    credits, events = MemoryCredits(), []

    async def recorder(batch: Sequence[UsageEvent]) -> int:
        events.extend(batch)
        return len(batch)

    vj = build_videojobs(Settings(**opts), load_catalog(cfg_path), sessions, CachedAuthenticator(auth.authenticate),
                         credits, recorder)
    vj.pool.start()
    return Rig(videojobs=vj, credits=credits, events=events)
