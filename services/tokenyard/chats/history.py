"""Stored message rows <-> OpenAI message dicts, and chat titles."""
from __future__ import annotations

from typing import Any

import orjson

from tokenyard.chats.store import new_id
from tokenyard.chats.tables import ChatMessage
from tokenyard.tokens import message_text

TITLE_CHARS = 100


def row_from_message(m: dict[str, Any], tool_name: str = "") -> ChatMessage:
    """A new row holding one OpenAI-format message (chat id and time are set when stored)."""
    calls = m.get("tool_calls") or []
    return ChatMessage(id=new_id("msg"), role=m["role"], content=orjson.dumps(m.get("content")).decode(),
                       tool_calls=orjson.dumps(calls).decode() if calls else "",
                       tool_call_id=m.get("tool_call_id") or "", tool_name=tool_name or m.get("name") or "")


def message_from_row(row: ChatMessage) -> dict[str, Any]:
    """The OpenAI-format message a stored row stands for (as sent upstream in the history)."""
    out: dict[str, Any] = {"role": row.role, "content": orjson.loads(row.content)}
    if row.tool_calls:
        out["tool_calls"] = orjson.loads(row.tool_calls)
    if row.tool_call_id:
        out["tool_call_id"] = row.tool_call_id
    return out


def title_of(messages: list[dict[str, Any]]) -> str:
    """The text of the first user message, whitespace collapsed, cut to TITLE_CHARS."""
    for m in messages:
        if m.get("role") == "user":
            text = " ".join(message_text(m).split())
            return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"
    return ""
