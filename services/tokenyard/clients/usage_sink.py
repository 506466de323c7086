"""Hands usage events from the request path to Metering: durably spooled first, then sent in batches.

With a spool (every real process), `submit` writes the event to the local spool and the returned future
resolves once it is fsync'd; the Router awaits it before acknowledging the request. A background flusher
sends spooled events to Metering in batches and deletes them only after Metering committed. A crash at any
point leaves the events in the spool, replayed by the next process; Metering stores each request id once,
so a replay never double-counts. Without a spool (unit tests), events are kept in memory.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from tokenyard.clients.usage_spool import UsageSpool
from tokenyard.common.usage import UsageEvent
from tokenyard.monitoring.metrics import USAGE_DELIVERED, USAGE_FLUSH_FAILURES

log = logging.getLogger(__name__)

Recorder = Callable[[Sequence[UsageEvent]], Awaitable[int]]


class UsageSink:
    """Durable, batched, at-least-once delivery of usage events (exactly once with Metering's de-duplication).

    Flushes when events wait, at most once per `min_gap` seconds (events arriving in between form the next
    batch, of up to `batch`: one Metering transaction per batch, not per request), and every `interval`
    seconds; failed flushes back off up to `max_backoff`.
    """

    def __init__(self, recorder: Recorder, *, spool: UsageSpool | None = None, batch: int = 500,
                 interval: float = 0.2, max_backoff: float = 5.0, min_gap: float = 0.05) -> None:
        self._recorder = recorder
        self._spool = spool
        self._batch = batch
        self._interval = interval
        self._max_backoff = max_backoff
        self._min_gap = min_gap
        self._pending: list[UsageEvent] = []
        self._unspooled = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._rounds = 0
        self._round_done = asyncio.Event()

    async def open(self) -> None:
        """Open the spool (adopting events a dead process left behind)."""
        if self._spool is not None:
            await self._spool.open()

    @property
    def spool_name(self) -> str:
        """The spool file's name (it passes from a dead process to the one adopting it), or ""."""
        return self._spool.path.stem if self._spool is not None and self._spool.path is not None else ""

    def start(self) -> None:
        """Start the background flusher."""
        self._task = asyncio.create_task(self._run(), name="usage-sink")

    def submit(self, event: UsageEvent) -> asyncio.Future[None]:
        """Hand over one event. Await the result to know it is durable (the spool has it on disk); it never
        fails: if the spool cannot be written, the event is kept in memory (and logged) instead."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._spool is None:
            self._pending.append(event)
            done.set_result(None)
            self._kick()
            return done
        fut = self._spool.append(event)
        self._unspooled += 1
        fut.add_done_callback(lambda f: self._spooled(f, event, done))
        return done

    def _spooled(self, fut: asyncio.Future[None], event: UsageEvent, done: asyncio.Future[None]) -> None:
        self._unspooled -= 1
        if fut.cancelled() or fut.exception() is not None:
            log.error("usage spool write failed; keeping request %s in memory", event.request_id)
            self._pending.append(event)
        if not done.done():
            done.set_result(None)
        self._kick()

    def _kick(self) -> None:
        # Flush soon after something waits; events arriving during a flush or its gap form the next batch.
        self._wake.set()

    async def _run(self) -> None:
        backoff = 0.0
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                pass
            self._wake.clear()
            if await self.flush():
                self._rounds += 1
                self._round_done.set()
                backoff = 0.0
                try:
                    await asyncio.wait_for(self._stopping.wait(), self._min_gap)
                except TimeoutError:
                    pass
                continue
            backoff = min(max(backoff * 2, 0.25), self._max_backoff)  # Metering is down: do not hammer it
            try:
                await asyncio.wait_for(self._stopping.wait(), backoff)
            except TimeoutError:
                pass

    async def flush(self) -> bool:
        """Send everything waiting; True when all of it reached Metering."""
        try:
            while self._pending:
                batch = self._pending[: self._batch]
                await self._recorder(batch)
                del self._pending[: len(batch)]
                USAGE_DELIVERED.inc(len(batch))
            while self._spool is not None:
                rows = await self._spool.pending(self._batch)
                if not rows:
                    break
                await self._recorder([e for _, e in rows])
                await self._spool.ack(rows[-1][0])
                USAGE_DELIVERED.inc(len(rows))
        except Exception:
            USAGE_FLUSH_FAILURES.inc()
            log.warning("usage flush failed; events kept for retry", exc_info=True)
            return False
        return True

    async def delivered(self, timeout: float = 2.0) -> bool:
        """Wait until everything submitted before this call reached Metering (a whole flush round started
        after it succeeded); False on timeout. Off the hot path: used before refusing a request for credit."""
        target = self._rounds + 2  # the round in progress may have started before the call
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._kick()
        while self._rounds < target and self._task is not None:
            self._round_done.clear()
            try:
                await asyncio.wait_for(self._round_done.wait(), deadline - loop.time())
            except TimeoutError:
                return False
        return self._rounds >= target

    async def stop(self) -> None:
        """Flush once more and stop; whatever Metering did not take stays in the spool for the next start."""
        self._closing = True
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._spool is not None:
            await self._spool.drain()
        try:
            await asyncio.wait_for(self.flush(), self._max_backoff)
        except TimeoutError:
            log.warning("Metering did not answer in time; spooled events wait for the next start")
        if self._spool is not None:
            await self._spool.close()
