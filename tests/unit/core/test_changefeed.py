"""Change feeds: pollers never miss out-of-order sequences; followers reset their cache when a stream breaks."""
from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from tokenyard.changefeed import Broadcaster, SequencePoller, StreamFollower, watch


@dataclass(frozen=True)
class Ev:
    sequence: int
    created: dt.datetime


T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


async def test_poller_catches_a_lower_sequence_that_commits_late() -> None:
    rows: list[Ev] = []
    now = [T0]

    async def fetch(after: int, since: dt.datetime) -> list[Ev]:
        return [e for e in rows if e.sequence > after or e.created >= since]

    seen: list[int] = []
    poller = SequencePoller(fetch, lambda e: seen.append(e.sequence), clock=lambda: now[0])
    await poller.start(0)
    rows.append(Ev(2, T0))
    assert await poller.poll() == 1
    rows.append(Ev(1, T0))  # allocated first, committed later
    now[0] = T0 + dt.timedelta(seconds=1)
    assert await poller.poll() == 1
    assert await poller.poll() == 0
    assert seen == [2, 1]


async def test_follower_resets_and_resumes_after_a_broken_stream() -> None:
    attempts: list[int] = []
    events: list[int] = []
    resets = 0

    async def open_stream(after: int):  # type: ignore[no-untyped-def]
        attempts.append(after)
        yield Ev(0, T0)
        yield Ev(after + 1, T0)
        raise ConnectionError("gone")

    def reset() -> None:
        nonlocal resets
        resets += 1

    follower = StreamFollower(open_stream, lambda e: events.append(e.sequence), reset, min_backoff=0.01)
    follower.start()
    while len(attempts) < 3:
        await asyncio.sleep(0.01)
    await follower.stop()
    assert attempts[:3] == [0, 1, 2] and events[:3] == [1, 2, 3] and resets >= 2


async def test_watch_sends_handshake_history_then_live_events() -> None:
    hub: Broadcaster[Ev] = Broadcaster()

    async def history(after: int) -> list[Ev]:
        return [Ev(s, T0) for s in (4, 5) if s > after]

    stream = watch(hub, history, after=3)
    assert await anext(stream) is None
    assert [(await anext(stream)).sequence for _ in range(2)] == [4, 5]
    nxt = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.01)
    hub.publish(Ev(5, T0))  # already sent in the replay
    hub.publish(Ev(6, T0))
    assert (await nxt).sequence == 6
    await stream.aclose()
    assert hub.subscribers == 0
