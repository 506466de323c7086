"""MicroBatcher: concurrent submissions share bounded batches, keep their order and see their own errors."""
from __future__ import annotations

import asyncio

import pytest
from tokenyard.embeddings.batcher import MicroBatcher


class Recorder:
    """A batch function that records the batches it saw and takes `delay` seconds per call."""

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay
        self.fail_on = fail_on

    async def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        await asyncio.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on}")
        return [s.upper() for s in items]


async def test_concurrent_requests_share_one_batch() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=64, max_wait=0.05)
    results = await asyncio.gather(*(batcher.submit([f"r{i}a", f"r{i}b"]) for i in range(10)))
    assert results == [[f"R{i}A", f"R{i}B"] for i in range(10)]
    assert len(run.batches) == 1 and len(run.batches[0]) == 20
    await batcher.close()


async def test_batches_are_bounded_and_a_large_request_is_split_in_order() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=8, max_wait=0.01)
    items = [f"x{i}" for i in range(30)]
    assert await batcher.submit(items) == [s.upper() for s in items]
    assert [len(b) for b in run.batches] == [8, 8, 8, 6]
    assert [s for b in run.batches for s in b] == items
    await batcher.close()


async def test_items_queue_up_while_the_model_is_busy() -> None:
    run = Recorder(delay=0.05)
    batcher = MicroBatcher(run, max_batch=32, max_wait=0.0)
    first = asyncio.create_task(batcher.submit(["first"]))
    await asyncio.sleep(0.01)  # the first batch is running now
    rest = await asyncio.gather(*(batcher.submit([f"q{i}"]) for i in range(12)))
    assert await first == ["FIRST"]
    assert rest == [[f"Q{i}"] for i in range(12)]
    assert [len(b) for b in run.batches] == [1, 12]
    await batcher.close()


async def test_a_lone_request_waits_at_most_max_wait() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=64, max_wait=0.02)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await batcher.submit(["solo"]) == ["SOLO"]
    assert loop.time() - started < 0.5
    await batcher.close()


async def test_a_failing_batch_fails_only_its_requests_and_the_batcher_keeps_working() -> None:
    run = Recorder(fail_on="boom")
    batcher = MicroBatcher(run, max_batch=2, max_wait=0.01)
    good, bad, later = await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["boom", "c"]),
                                            batcher.submit(["d"]), return_exceptions=True)
    assert good == ["A", "B"] and later == ["D"]
    assert isinstance(bad, ValueError)
    assert await batcher.submit(["e"]) == ["E"]
    await batcher.close()


async def test_a_cancelled_request_is_dropped_from_later_batches() -> None:
    run = Recorder(delay=0.05)
    batcher = MicroBatcher(run, max_batch=4, max_wait=0.0)
    busy = asyncio.create_task(batcher.submit(["busy"]))
    await asyncio.sleep(0.01)
    doomed = asyncio.create_task(batcher.submit(["doomed"]))
    await asyncio.sleep(0)
    doomed.cancel()
    kept = await batcher.submit(["kept"])
    assert kept == ["KEPT"] and await busy == ["BUSY"]
    assert ["doomed"] not in run.batches and all("doomed" not in b for b in run.batches)
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await batcher.close()


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), max_batch=0)
