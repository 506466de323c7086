"""LocalRunner: the model runs on its own thread (never the event loop), loads lazily or on preload."""
from __future__ import annotations

import asyncio
import threading
import time

from tokenyard.embeddings.runner import LocalRunner


class SlowModel:
    """Records where and when it was loaded and called; each call blocks its thread for 50 ms."""

    dimensions = 2
    max_tokens = 8

    def __init__(self) -> None:
        self.loads = 0
        self.threads: set[int] = set()
        self.batches: list[int] = []

    def load(self) -> None:
        self.loads += 1

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]

    def encode(self, texts: list[str]) -> list[list[float]]:
        if not self.loads:
            self.load()
        self.threads.add(threading.get_ident())
        self.batches.append(len(texts))
        time.sleep(0.05)
        return [[float(len(t)), 1.0] for t in texts]


async def test_model_calls_run_off_the_event_loop_which_stays_responsive() -> None:
    model = SlowModel()
    runner = LocalRunner("slow", model, max_batch=8, max_wait=0.001)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    results = await asyncio.gather(*(runner.embed([f"{'x' * i}"]) for i in range(1, 17)))
    tick_task.cancel()
    assert [r[0][0] for r in results] == [float(i) for i in range(1, 17)]
    assert threading.get_ident() not in model.threads and len(model.threads) == 1
    assert sum(model.batches) == 16 and runner.calls == len(model.batches) < 16
    assert ticks >= 5  # the loop kept running while the model blocked its thread
    await runner.close()


async def test_the_model_loads_lazily_unless_preloaded() -> None:
    lazy, eager = SlowModel(), SlowModel()
    lazy_runner, eager_runner = LocalRunner("lazy", lazy), LocalRunner("eager", eager)
    eager_runner.preload()
    await asyncio.sleep(0.05)
    assert lazy.loads == 0 and eager.loads == 1
    assert await lazy_runner.count_tokens(["abc"]) == [3] and lazy.loads == 0
    await lazy_runner.embed(["a"])
    assert lazy.loads == 1
    await lazy_runner.close()
    await eager_runner.close()
