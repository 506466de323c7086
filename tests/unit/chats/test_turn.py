"""The turn engine in-process: a scripted model, a real store on SQLite, tools and failure paths."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tokenyard.catalog import load_catalog
from tokenyard.chats.model import ModelStream
from tokenyard.chats.service import ChatAppService
from tokenyard.chats.store import ChatStore, Owner
from tokenyard.chats.tools import Toolbox, builtin_tools
from tokenyard.chats.tools.base import ToolCallInfo
from tokenyard.chats.turn import TurnLimits
from tokenyard.egress import EgressPolicy
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.principal import Principal, PrincipalKind
from tokenyard.protocol.models import Chunk
from tokenyard.storage.db import create_engine, migrate, sessionmaker

Script = list[dict[str, Any]] | GatewayError


def text(t: str) -> list[dict[str, Any]]:
    return [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in t.split(" ")] + [
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]


def calls(*specs: tuple[str, str, str]) -> list[dict[str, Any]]:
    deltas = [{"index": i, "id": cid, "function": {"name": name, "arguments": args}}
              for i, (cid, name, args) in enumerate(specs)]
    return [{"choices": [{"index": 0, "delta": {"tool_calls": deltas}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]


class ScriptedModel:
    """Answers each open() with the next script (chunks, or a GatewayError raised at open)."""

    def __init__(self) -> None:
        self.scripts: list[Script] = []
        self.requests: list[dict[str, Any]] = []
        self.hang_after: int | None = None

    async def open(self, credential: str, request: dict[str, Any], *, app_id: str,
                   request_id: str) -> ModelStream:
        self.requests.append(request)
        script = self.scripts.pop(0)
        if isinstance(script, GatewayError):
            raise script
        return ModelStream({"x-ratelimit-remaining-requests": "41"}, self._chunks(script))

    async def _chunks(self, chunks: list[dict[str, Any]]) -> AsyncIterator[Chunk]:
        for i, chunk in enumerate(chunks):
            if self.hang_after is not None and i == self.hang_after:
                await asyncio.sleep(3600)
            yield msgspec.convert(chunk, Chunk)  # the Router's chunks are typed


class Auth:
    async def authenticate(self, credential: str) -> Principal:
        return Principal(account_id=credential, kind=PrincipalKind.PERSONAL_KEY,
                         scopes=frozenset({"apps:write"}))


class SlowTool:
    name = "slow"
    description = "never answers in time"
    parameters = {"type": "object"}

    async def run(self, args: dict[str, Any], call: ToolCallInfo) -> Any:
        await asyncio.sleep(10)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[ChatAppService, ScriptedModel]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chats.db'}"
    await migrate(url)
    engine = create_engine(url)
    store = ChatStore(sessionmaker(engine))
    async with httpx.AsyncClient() as http:
        builtins = {**builtin_tools({}, http), "slow": SlowTool()}
        model = ScriptedModel()
        toolbox = Toolbox(builtins, store, http, EgressPolicy())
        service = ChatAppService(Auth(), store, model, load_catalog(), toolbox,
                                 limits=TurnLimits(max_steps=3, tool_timeout=0.2))
        yield service, model
    await engine.dispose()


async def run(service: ChatAppService, body: dict[str, Any], chat_id: str = "") -> tuple[Any, list[dict]]:
    turn = await service.start_turn("alice", {"model": "local/echo", **body}, chat_id=chat_id)
    return turn, [e async for e in turn.events()]


async def test_refusal_at_a_later_step_is_an_error_event_and_the_history_stays_valid(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    model.scripts = [calls(("c1", "calculator", '{"expression": "2*21"}')),
                     GatewayError(ErrorKind.RATE_LIMITED, "slow down", retry_after=3)]
    turn, events = await run(service, {"messages": [{"role": "user", "content": "2*21"}]})
    assert [e["type"] for e in events] == ["tool-call", "tool-result", "error", "finish"]
    assert events[2]["error"].kind is ErrorKind.RATE_LIMITED and events[3]["finishReason"] == "error"
    assert turn.metadata["x-ratelimit-remaining"] == "41"
    rows = await service.store.messages(turn.plan.chat_id)
    assert [r.role for r in rows] == ["user", "assistant", "tool"]


async def test_refusal_before_any_event_raises_and_stores_nothing(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    model.scripts = [GatewayError(ErrorKind.PROVIDER_ERROR, "down")]
    turn = await service.start_turn("alice", {"model": "local/echo", "messages": [{"role": "user",
                                                                                   "content": "x"}]})
    with pytest.raises(GatewayError):
        [e async for e in turn.events()]
    assert await service.store.list_chats(Owner("alice")) == []


async def test_builtin_and_client_tools_in_one_step(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    client = {"type": "function", "function": {"name": "pick_file", "parameters": {"type": "object"}}}
    model.scripts = [calls(("c1", "calculator", '{"expression": "1/4"}'), ("c2", "pick_file", "{}"))]
    _, events = await run(service, {"messages": [{"role": "user", "content": "go"}], "tools": [client]})
    assert [e["type"] for e in events] == ["tool-call", "tool-call", "tool-result", "finish"]
    assert events[2]["result"]["result"] == "0.25" and events[-1]["finishReason"] == "tool_calls"
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert names[0] == "pick_file" and "calculator" in names


async def test_tool_timeouts_unknown_tools_and_bad_arguments_are_results(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    model.scripts = [calls(("c1", "slow", "{}"), ("c2", "nope", "{}"), ("c3", "calculator", '{"expr": 1}'),
                           ("c4", "calculator", "{broken")), text("done")]
    _, events = await run(service, {"messages": [{"role": "user", "content": "go"}]})
    errors = [e["result"]["error"] for e in events if e["type"] == "tool-result"]
    assert "did not answer within 0.2s" in errors[0] and "unknown tool" in errors[1]
    assert "invalid arguments" in errors[2] and "not valid JSON" in errors[3]
    assert all(e["isError"] for e in events if e["type"] == "tool-result")
    assert events[-1] == {"type": "finish", "finishReason": "stop"}
    assert [m["role"] for m in model.requests[1]["messages"]] == ["user", "assistant"] + ["tool"] * 4


async def test_disconnect_mid_answer_keeps_the_partial_text(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    model.scripts = [text("one two three four")]
    model.hang_after = 2
    turn = await service.start_turn("alice", {"model": "local/echo", "messages": [{"role": "user",
                                                                                   "content": "q"}]})
    events = turn.events()
    assert (await events.__anext__())["textDelta"] == "one"
    assert (await events.__anext__())["textDelta"] == "two"
    pending = asyncio.ensure_future(events.__anext__())
    await asyncio.sleep(0.05)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await asyncio.sleep(0.1)
    rows = await service.store.messages(turn.plan.chat_id)
    assert [(r.role, r.content) for r in rows] == [("user", '"q"'), ("assistant", '"onetwo"')]


async def test_forced_tool_choice_is_dropped_after_the_first_step(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    model.scripts = [calls(("c1", "calculator", '{"expression": "1"}')), text("ok")]
    await run(service, {"messages": [{"role": "user", "content": "go"}], "tool_choice": "required"})
    assert model.requests[0]["tool_choice"] == "required" and "tool_choice" not in model.requests[1]


async def test_app_keys_see_only_their_apps_chats(env) -> None:  # type: ignore[no-untyped-def]
    service, model = env
    model.scripts = [text("hi")]
    turn, _ = await run(service, {"messages": [{"role": "user", "content": "x"}]})
    assert await service.store.list_chats(Owner("alice", "app_1")) == []
    assert [c.id for c in await service.store.list_chats(Owner("alice"))] == [turn.plan.chat_id]
    with pytest.raises(GatewayError) as info:
        await service.store.get_chat(Owner("alice", "app_1"), turn.plan.chat_id)
    assert info.value.kind is ErrorKind.NOT_FOUND
