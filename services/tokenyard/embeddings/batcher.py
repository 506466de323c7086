"""Micro-batching: items of concurrent requests are grouped into bounded batches, one model call each."""
from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Item(Generic[T, R]):
    value: T
    enqueued: float
    future: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MicroBatcher(Generic[T, R]):
    """Runs `run(batch)` on at most `max_batch` items at a time, one batch after another.

    A batch is sent as soon as it is full, or `max_wait` seconds after its oldest item arrived. While a
    batch runs, new items queue up, so under load batches fill by themselves and a lone request waits at
    most `max_wait`. Items keep their order; a request larger than `max_batch` is spread over several
    batches. `run` must return one result per item, in order.
    """

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]], *, max_batch: int = 32,
                 max_wait: float = 0.002) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self.max_batch = max_batch
        self.max_wait = max(max_wait, 0.0)
        self._pending: collections.deque[_Item[T, R]] = collections.deque()
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, values: Sequence[T]) -> list[R]:
        """Results for `values`, in order; raises what `run` raised for any batch holding one of them."""
        loop = asyncio.get_running_loop()
        items: list[_Item[T, R]] = [_Item(v, loop.time()) for v in values]
        self._pending.extend(items)
        self._arrived.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="embeddings-batcher")
        try:
            return list(await asyncio.gather(*(i.future for i in items)))
        except BaseException:
            for i in items:
                if i.future.done() and not i.future.cancelled():
                    i.future.exception()  # retrieved: the caller sees the first one
                i.future.cancel()
            raise

    async def _fill(self) -> None:
        """Wait until the next batch is full or its oldest item has waited `max_wait`."""
        loop = asyncio.get_running_loop()
        deadline = self._pending[0].enqueued + self.max_wait
        while len(self._pending) < self.max_batch:
            delay = deadline - loop.time()
            if delay <= 0:
                return
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), delay)

    def _take(self) -> list[_Item[T, R]]:
        batch: list[_Item[T, R]] = []
        while self._pending and len(batch) < self.max_batch:
            item = self._pending.popleft()
            if not item.future.done():
                batch.append(item)
        return batch

    async def _work(self) -> None:
        while self._pending:
            await self._fill()
            batch = self._take()
            if not batch:
                continue
            try:
                results = await self._run([i.value for i in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"batch of {len(batch)} returned {len(results)} results")
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for i in batch:
                    if not i.future.done():
                        i.future.set_exception(exc)
                continue
            for i, r in zip(batch, results):
                if not i.future.done():
                    i.future.set_result(r)

    async def close(self) -> None:
        """Stop the worker; queued items are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._pending:
            self._pending.popleft().future.cancel()
