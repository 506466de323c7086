"""A call cancelled while its clean-up runs still finishes every policy and records its usage exactly once."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from tokenyard.auth.cache import CachedAuthenticator
from tokenyard.catalog import load_catalog
from tokenyard.inference.service import Router
from tokenyard.metering.events import UsageEvent
from tokenyard.metering.sink import UsageSink
from tokenyard.principal import Principal, PrincipalKind


class Dispatcher:
    async def chat(self, ctx: Any) -> dict[str, Any]:
        ctx.target = "fake"
        return {"choices": [{"message": {"role": "assistant", "content": "hi"}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


class Policy:
    """Records its finish; `slow` finishes after a pause (the caller is cancelled meanwhile)."""

    def __init__(self, name: str, finished: list[str], slow: asyncio.Event | None = None) -> None:
        self.name, self.finished, self.slow = name, finished, slow

    async def prepare(self, ctx: Any) -> None:
        return None

    async def admit(self, ctx: Any) -> None:
        return None

    async def finish(self, ctx: Any) -> None:
        if self.slow is not None:
            self.slow.set()
            await asyncio.sleep(0.05)
        self.finished.append(self.name)


async def test_cancelling_the_caller_during_a_policy_finish_skips_nothing() -> None:
    seen: list[UsageEvent] = []

    async def record(events: Sequence[UsageEvent]) -> int:
        seen.extend(events)
        return len(events)

    async def auth(_: str) -> Principal:
        return Principal("acct", PrincipalKind.PERSONAL_KEY, frozenset({"ai:gateway"}), key_id="key_1")

    finished: list[str] = []
    in_finish = asyncio.Event()
    policies = [Policy("first", finished), Policy("last", finished, slow=in_finish)]  # finish runs in reverse
    sink = UsageSink(record)
    router = Router(load_catalog(), CachedAuthenticator(auth), Dispatcher(), sink,  # type: ignore[arg-type]
                    policies=policies)  # type: ignore[list-item]
    ctx = await router.begin("secret", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user",
                                                                                   "content": "hi"}]})
    call = asyncio.create_task(router.chat(ctx))
    await in_finish.wait()
    call.cancel()  # while the "last" policy's finish runs
    await asyncio.sleep(0.2)
    await sink.flush()
    assert finished == ["last", "first"]  # the earlier policy's finish still ran
    assert [e.request_id for e in seen] == [ctx.request_id]  # and the usage record was made, once
