"""Reassembles one streamed model step (text and tool-call deltas) into an assistant message."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from tokenyard.protocol.models import Chunk


@dataclass
class ToolCallParts:
    """A tool call as its deltas arrive."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    @property
    def args_text(self) -> str:
        """The complete arguments JSON string."""
        return "".join(self.arguments)

    def args_value(self) -> Any:
        """Arguments parsed as JSON (the raw text when they are not valid JSON)."""
        text = self.args_text or "{}"
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text


@dataclass
class StepAccumulator:
    """Collects the chunks of one step (choice 0)."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, ToolCallParts] = field(default_factory=dict)
    finish_reason: str = ""

    def add(self, chunk: Chunk) -> str:
        """Take one typed chunk; returns its text delta ('' when none)."""
        piece = ""
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            piece = delta.content or ""
            if piece:
                self.text.append(piece)
            for tc in delta.tool_calls or ():
                parts = self.calls.setdefault(tc.index, ToolCallParts())
                fn = tc.function
                parts.id = parts.id or tc.id or ""
                parts.name = parts.name or fn.name or ""
                if fn.arguments:
                    parts.arguments.append(fn.arguments)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return piece

    def tool_calls(self) -> list[ToolCallParts]:
        """The step's complete tool calls in index order (ids filled in when the upstream gave none)."""
        calls = [self.calls[i] for i in sorted(self.calls) if self.calls[i].name]
        for call in calls:
            call.id = call.id or f"call_{secrets.token_hex(12)}"
        return calls

    def message(self) -> dict[str, Any]:
        """The assistant message this step produced, in OpenAI format."""
        text = "".join(self.text)
        calls = self.tool_calls()
        if not calls:
            return {"role": "assistant", "content": text}
        tool_calls = [{"id": c.id, "type": "function",
                       "function": {"name": c.name, "arguments": c.args_text or "{}"}} for c in calls]
        return {"role": "assistant", "content": text or None, "tool_calls": tool_calls}
