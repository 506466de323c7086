"""Change feeds: poll a sequence table, fan events out to caches and watch streams, and follow remote streams."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, Protocol, TypeVar

from tokenyard.storage.types import utcnow

log = logging.getLogger(__name__)


class Sequenced(Protocol):
    """An event carrying its feed's monotonic sequence number."""

    @property
    def sequence(self) -> int: ...


E = TypeVar("E", bound=Sequenced)
OVERFLOW = object()
"""Sent to a subscriber that fell too far behind; its stream must end so the client resets."""
CLOSED = object()
"""Sent to every subscriber when the process shuts down; streams end cleanly."""


class Broadcaster(Generic[E]):
    """Fans events out to any number of subscriber queues (one per open watch stream)."""

    def __init__(self, max_backlog: int = 10_000) -> None:
        self._queues: set[asyncio.Queue[object]] = set()
        self._max = max_backlog

    def publish(self, event: E) -> None:
        """Hand one event to every subscriber; a full subscriber is told it overflowed."""
        for q in list(self._queues):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(q)
                while not q.empty():
                    q.get_nowait()
                q.put_nowait(OVERFLOW)

    def close(self) -> None:
        """End every open subscription (at shutdown, so watch streams do not hold the server's grace period)."""
        for q in list(self._queues):
            self._queues.discard(q)
            while not q.empty():
                q.get_nowait()
            q.put_nowait(CLOSED)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[object]]:
        """A queue receiving every event published while the context is open."""
        q: asyncio.Queue[object] = asyncio.Queue(self._max)
        self._queues.add(q)
        try:
            yield q
        finally:
            self._queues.discard(q)

    @property
    def subscribers(self) -> int:
        """Open subscriptions (for tests and metrics)."""
        return len(self._queues)


Fetch = Callable[[int, dt.datetime], Awaitable[list[E]]]
"""`fetch(after_sequence, since)`: events with a sequence above `after_sequence` or created at/after `since`."""


class SequencePoller(Generic[E]):
    """Polls a feed table every `interval` seconds and calls `handler` once per new event.

    Sequence numbers may commit out of order on PostgreSQL, so each poll also re-reads the last
    `window` seconds and skips sequences already seen; an event is never missed for that reason.
    """

    def __init__(self, fetch: Fetch[E], handler: Callable[[E], None], *, interval: float = 0.2,
                 window: float = 5.0, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._fetch = fetch
        self._handler = handler
        self._interval = interval
        self._window = dt.timedelta(seconds=window)
        self._clock = clock
        self._last = 0
        self._seen: dict[int, dt.datetime] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, latest: int) -> None:
        """Start polling after sequence `latest` (events at or below it are history)."""
        self._last = latest
        for event in await self._fetch(latest, self._clock() - self._window):
            self._seen[event.sequence] = self._clock()
        self._task = asyncio.create_task(self._run(), name="sequence-poller")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll()
            except Exception:
                log.warning("change feed poll failed", exc_info=True)

    async def poll(self) -> int:
        """One poll; returns how many new events were handled."""
        now = self._clock()
        events = await self._fetch(self._last, now - self._window)
        handled = 0
        for event in sorted(events, key=lambda e: e.sequence):
            if event.sequence in self._seen:
                continue
            self._seen[event.sequence] = now
            self._last = max(self._last, event.sequence)
            handled += 1
            try:
                self._handler(event)
            except Exception:
                log.warning("change feed handler failed", exc_info=True)
        cutoff = now - 2 * self._window
        for seq in [s for s, t in self._seen.items() if t < cutoff]:
            del self._seen[seq]
        return handled

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class StreamFollower(Generic[E]):
    """Follows a remote watch stream, reconnecting with backoff; calls `on_reset` whenever events may have been
    missed (every reconnect), so the caches it feeds fall back to asking the source of truth."""

    def __init__(self, open_stream: Callable[[int], AsyncIterator[E]], on_event: Callable[[E], None],
                 on_reset: Callable[[], None], *, min_backoff: float = 0.2, max_backoff: float = 5.0) -> None:
        self._open = open_stream
        self._on_event = on_event
        self._on_reset = on_reset
        self._min = min_backoff
        self._max = max_backoff
        self._last = 0
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        """Start following in the background."""
        self._task = asyncio.create_task(self._run(), name="stream-follower")

    async def _run(self) -> None:
        backoff = self._min
        while True:
            try:
                async for event in self._open(self._last):
                    self.connected.set()
                    backoff = self._min
                    if event.sequence == 0:
                        continue
                    self._last = max(self._last, event.sequence)
                    self._on_event(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("watch stream broke (%s); reconnecting", type(exc).__name__)
            self.connected.clear()
            self._on_reset()
            await asyncio.sleep(backoff)
            backoff = min(self._max, backoff * 2)

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def watch(broadcaster: Broadcaster[E], history: Callable[[int], Awaitable[list[E]]], after: int,
                heartbeat: float = 15.0) -> AsyncIterator[E | None]:
    """What a watch stream sends: None first (the handshake), stored events after `after` (when > 0), then live
    events, with None as a heartbeat when idle. Ends with an error when the watcher falls too far behind."""
    with broadcaster.subscribe() as queue:
        yield None
        last = after
        if after > 0:
            for event in await history(after):
                last = max(last, event.sequence)
                yield event
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat)
            except TimeoutError:
                yield None
                continue
            if item is CLOSED:
                return
            if item is OVERFLOW:
                raise RuntimeError("watcher fell behind")
            if after > 0 and item.sequence <= last:  # type: ignore[attr-defined]
                continue
            yield item  # type: ignore[misc]
