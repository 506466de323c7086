"""Key `last_used_at` tracking off the hot path: remember uses in memory, write them in batches."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Flush = Callable[[dict[str, dt.datetime]], Awaitable[object]]


class KeyUseTracker:
    """`mark(key_id)` costs one dict write; every `interval` seconds the latest use per key is flushed."""

    def __init__(self, flush: Flush, interval: float = 1.0) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def mark(self, key_id: str) -> None:
        """Note one use of a key, now."""
        self._pending[key_id] = time.time()

    def start(self) -> None:
        """Start the background flusher."""
        self._task = asyncio.create_task(self._run(), name="key-use-flusher")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        """Write pending uses; on failure keep them for the next round (newer uses win)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        uses = {k: dt.datetime.fromtimestamp(t, dt.UTC) for k, t in batch.items()}
        try:
            await asyncio.shield(self._flush(uses))  # a write cut short could hold the SQLite lock
        except Exception:
            log.warning("could not record key use for %d keys", len(batch), exc_info=True)
            for k, t in batch.items():
                self._pending[k] = max(t, self._pending.get(k, 0.0))

    async def stop(self) -> None:
        """Flush and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
