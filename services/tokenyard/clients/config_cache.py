"""In-process cache of apps and their AI config, kept fresh by the config change feed (the Router's hot path)."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from tokenyard.config.model import AppSnapshot

__all__ = ["AppCache", "AppSnapshot"]

Loader = Callable[[str], Awaitable[AppSnapshot | None]]


class AppCache:
    """Snapshots by app id for `ttl` seconds (unknown apps for `negative_ttl`); `invalidate` drops one at once.

    A load that was in flight while an invalidation happened is returned but not cached.
    """

    def __init__(self, loader: Loader, ttl: float = 30.0, negative_ttl: float = 1.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._loader = loader
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, AppSnapshot | None]] = {}
        self._generation = 0

    async def get(self, app_id: str) -> AppSnapshot | None:
        """The app's snapshot, or None when it does not exist."""
        now = self._clock()
        hit = self._entries.get(app_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        snap = await self._loader(app_id)
        if generation == self._generation:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[app_id] = (now + (self._ttl if snap is not None else self._negative_ttl), snap)
        return snap

    async def owner(self, app_id: str) -> str | None:
        """The owning account of an app (None when there is no such app)."""
        snap = await self.get(app_id)
        return snap.app.owner if snap is not None else None

    def invalidate(self, app_id: str) -> None:
        """Forget one app."""
        self._generation += 1
        self._entries.pop(app_id, None)

    def clear(self) -> None:
        """Forget everything."""
        self._generation += 1
        self._entries.clear()
