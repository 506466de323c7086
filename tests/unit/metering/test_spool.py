"""The durable usage spool and sink: durable before acknowledged, replayed by the next process, retried."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from tokenyard.clients.usage_sink import UsageSink
from tokenyard.clients.usage_spool import UsageSpool
from tokenyard.common.usage import UsageEvent


def _event(i: int) -> UsageEvent:
    return UsageEvent(request_id=f"req_{i}", time=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                      account_id="a", model="m", prompt_tokens=i, cost_nanos=i * 7)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[str] = []

    async def __call__(self, events: Sequence[UsageEvent]) -> int:
        if self.fail:
            raise ConnectionError("metering down")
        self.seen += [e.request_id for e in events]
        return len(events)


async def test_events_survive_a_dead_process_and_are_adopted(tmp_path: Path) -> None:
    first = UsageSpool(tmp_path)
    await first.open()
    await asyncio.gather(*(first.append(_event(i)) for i in range(50)))  # group-committed
    second = UsageSpool(tmp_path)
    await second.open()
    assert second.path != first.path  # a live process's spool is never shared
    first._close()  # the process "dies": its lock goes away with it
    third = UsageSpool(tmp_path)
    await third.open()
    assert third.path == first.path
    rows = await third.pending(100)
    assert [e.request_id for _, e in rows] == [f"req_{i}" for i in range(50)]
    assert rows[3][1] == _event(3)
    await third.ack(rows[9][0])
    assert await third.count() == 40
    await asyncio.gather(second.close(), third.close())


async def test_sink_keeps_events_until_metering_takes_them(tmp_path: Path) -> None:
    recorder = Recorder(fail=True)
    sink = UsageSink(recorder, spool=UsageSpool(tmp_path), interval=0.01, max_backoff=0.05)
    await sink.open()
    sink.start()
    await asyncio.gather(*(sink.submit(_event(i)) for i in range(20)))
    await asyncio.sleep(0.1)
    assert recorder.seen == []
    recorder.fail = False
    for _ in range(100):
        if len(recorder.seen) == 20:
            break
        await asyncio.sleep(0.02)
    assert sorted(recorder.seen) == sorted(f"req_{i}" for i in range(20))
    await sink.stop()
    again = UsageSpool(tmp_path)
    await again.open()
    assert await again.count() == 0
    await again.close()


async def test_stop_with_metering_down_leaves_events_for_the_next_start(tmp_path: Path) -> None:
    sink = UsageSink(Recorder(fail=True), spool=UsageSpool(tmp_path), interval=10, max_backoff=0.1)
    await sink.open()
    sink.start()
    await sink.submit(_event(1))
    await sink.stop()
    recorder = Recorder()
    later = UsageSink(recorder, spool=UsageSpool(tmp_path), interval=0.01)
    await later.open()
    await later.flush()
    assert recorder.seen == ["req_1"]
    await later.stop()


async def test_a_broken_spool_never_fails_the_request_and_keeps_the_event(tmp_path: Path) -> None:
    recorder = Recorder()
    spool = UsageSpool(tmp_path)
    sink = UsageSink(recorder, spool=spool, interval=10)
    await sink.open()
    spool._db.close()  # noqa: SLF001 - the disk goes away
    await sink.submit(_event(5))
    await sink.flush()  # the memory copy is delivered even though the spool cannot be read
    assert recorder.seen == ["req_5"]
