"""One chat turn: stored history + new messages through the model, running server-side tools between steps."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from tokenyard.chats.history import row_from_message, title_of
from tokenyard.chats.model import ChatModel
from tokenyard.chats.steps import StepAccumulator, ToolCallParts
from tokenyard.chats.store import ChatStore, new_id
from tokenyard.chats.tables import Chat, ChatMessage
from tokenyard.chats.tools import not_configured
from tokenyard.chats.tools.base import Tool, ToolCallInfo, ToolError, definition, parse_args, run_tool
from tokenyard.errors import GatewayError
from tokenyard.principal import Principal

log = logging.getLogger(__name__)
Event = dict[str, Any]
_BACKGROUND: set[asyncio.Task[Any]] = set()


@dataclass
class TurnPlan:
    """Everything a turn needs, resolved (and checked) before anything streams."""

    principal: Principal
    credential: str
    chat_id: str
    chat: Chat | None
    history: list[dict[str, Any]]
    new: list[dict[str, Any]]
    request: dict[str, Any]
    tools: dict[str, Tool]
    request_id: str = ""
    """The caller's correlation id, shared by every step's usage record (each step has its own record id)."""
    client_tools: set[str] = field(default_factory=set)


@dataclass
class TurnLimits:
    """Bounds of the tool loop."""

    max_steps: int = 5
    tool_timeout: float = 20.0


def limits_metadata(model_metadata: dict[str, str]) -> dict[str, str]:
    """`x-ratelimit-remaining` for the chat API from the Router's rate-limit metadata (when one applies)."""
    for key in ("x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-remaining"):
        if model_metadata.get(key):
            return {"x-ratelimit-remaining": model_metadata[key]}
    return {}


class Turn:
    """Streams typed events; `metadata` (chat id, rate-limit state) is complete before the first event."""

    def __init__(self, plan: TurnPlan, model: ChatModel, store: ChatStore, limits: TurnLimits) -> None:
        self.plan = plan
        self._model = model
        self._store = store
        self._limits = limits
        self._saved = False
        self.metadata: dict[str, str] = {"x-chat-id": plan.chat_id}

    async def events(self) -> AsyncIterator[Event]:
        """The turn's events. Errors before the first event raise; later ones become an error event."""
        started = False
        try:
            async with contextlib.aclosing(self._steps()) as steps:
                async for event in steps:
                    started = True
                    yield event
        except GatewayError as err:
            if not started:
                raise
            yield {"type": "error", "error": err}
            yield {"type": "finish", "finishReason": "error"}

    def _request(self, step: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
        req = {**self.plan.request, "messages": messages}
        defs = list(req.get("tools") or [])
        defs += [definition(t) for name, t in self.plan.tools.items() if name not in self.plan.client_tools]
        if defs:
            req["tools"] = defs
        choice = req.get("tool_choice")
        if step > 1 and (choice == "required" or isinstance(choice, dict)):
            req.pop("tool_choice")  # a forced tool would be called again at every step
        return req

    async def _steps(self) -> AsyncIterator[Event]:
        produced: list[dict[str, Any]] = []
        base = [*self.plan.history, *self.plan.new]
        for step in range(1, self._limits.max_steps + 1):
            acc = StepAccumulator()
            async with contextlib.aclosing(self._model_step(step, base + produced, acc)) as events:
                async for event in events:
                    yield event
            assistant = acc.message()
            produced.append(assistant)
            await self._store.append(self.plan.chat_id, [row_from_message(assistant)])
            calls = acc.tool_calls()
            if not calls:
                yield {"type": "finish", "finishReason": acc.finish_reason or "stop"}
                return
            for call in calls:
                yield {"type": "tool-call", "toolCallId": call.id, "toolName": call.name,
                       "args": call.args_value()}
            ran = [c for c in calls if c.name not in self.plan.client_tools]
            results = await asyncio.gather(*(self._run(c) for c in ran))
            rows: list[ChatMessage] = []
            for call, (result, is_error) in zip(ran, results):
                yield {"type": "tool-result", "toolCallId": call.id, "toolName": call.name, "result": result,
                       "isError": is_error}
                message = {"role": "tool", "tool_call_id": call.id, "content": orjson.dumps(result).decode()}
                produced.append(message)
                rows.append(row_from_message(message, tool_name=call.name))
            if rows:
                await self._store.append(self.plan.chat_id, rows)
            if len(ran) < len(calls):
                break  # the client runs its own tools and continues the chat with their results
        yield {"type": "finish", "finishReason": "tool_calls"}

    async def _model_step(self, step: int, messages: list[dict[str, Any]],
                          acc: StepAccumulator) -> AsyncIterator[Event]:
        opened = await self._model.open(self.plan.credential, self._request(step, messages),
                                        app_id=self.plan.principal.app_id, request_id=self.plan.request_id)
        if step == 1:
            self.metadata.update(limits_metadata(opened.metadata))
        try:
            async with contextlib.aclosing(opened.chunks) as chunks:  # type: ignore[type-var]
                async for chunk in chunks:
                    text = acc.add(chunk)
                    if text:
                        await self._save_start()
                        yield {"type": "text-delta", "textDelta": text}
            await self._save_start()
        except BaseException:
            self._save_partial(acc)
            raise

    async def _save_start(self) -> None:
        """Store the chat (when new) and the turn's new messages, once the answer starts streaming."""
        if self._saved:
            return
        self._saved = True
        p = self.plan
        create = None
        if p.chat is None:
            create = Chat(id=p.chat_id, account_id=p.principal.account_id, app_id=p.principal.app_id,
                          title=title_of(p.new), model=str(p.request.get("model") or ""))
        await self._store.append(p.chat_id, [row_from_message(m) for m in p.new], create=create)

    def _save_partial(self, acc: StepAccumulator) -> None:
        """Keep the text streamed before a failure or disconnect (in the background: we may be cancelled)."""
        text = "".join(acc.text)
        if not self._saved or not text:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # finalised outside the loop: nothing left to save with
            return
        row = row_from_message({"role": "assistant", "content": text})
        task = loop.create_task(self._store.append(self.plan.chat_id, [row]))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    async def _run(self, call: ToolCallParts) -> tuple[Any, bool]:
        tool = self.plan.tools.get(call.name)
        if tool is None:
            return {"error": not_configured(call.name) or f"unknown tool {call.name!r}"}, True
        try:
            args = parse_args(tool, call.args_text)
        except ToolError as exc:
            return {"error": str(exc)}, True
        info = ToolCallInfo(chat_id=self.plan.chat_id, tool_call_id=call.id,
                            account_id=self.plan.principal.account_id, app_id=self.plan.principal.app_id)
        return await run_tool(tool, args, info, self._limits.tool_timeout)


def new_chat_id() -> str:
    """A fresh chat id."""
    return new_id("chat")
