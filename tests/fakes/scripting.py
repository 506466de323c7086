"""Provider-neutral reply scripting, token counting, text splitting and fake embeddings."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import secrets
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Keys whose string values are metadata, not prompt text (excluded from token counts).
_NON_TEXT_KEYS = frozenset(
    {"model", "role", "type", "media_type", "mime_type", "mimeType", "data", "url", "id",
     "tool_call_id", "tool_use_id", "encoding_format", "detail", "name"}
)


def random_id(prefix: str, length: int = 24) -> str:
    """Return an id like OpenAI/Anthropic ones: prefix + url-safe alphanumerics."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def count_words(obj: Any) -> int:
    """Count whitespace-separated words in every text-like string nested in ``obj``."""
    if isinstance(obj, str):
        return len(obj.split())
    if isinstance(obj, dict):
        return sum(count_words(v) for k, v in obj.items() if k not in _NON_TEXT_KEYS)
    if isinstance(obj, list):
        return sum(count_words(v) for v in obj)
    return 0


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """Text of the last ``role == "user"`` message: string content or joined ``type: text`` parts."""
    for msg in reversed(messages):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [p.get("text", "") for p in content
                         if isinstance(p, dict) and p.get("type") == "text"]
                return " ".join(texts)
    return ""


def text_pieces(text: str) -> list[str]:
    """Split text into word pieces (leading whitespace kept) that concatenate back exactly."""
    return re.findall(r"\s*\S+|\s+$", text)


def json_pieces(arguments: str, parts: int = 4) -> list[str]:
    """Split a JSON string into ``parts`` roughly equal fragments (like streamed tool args)."""
    if len(arguments) <= 1:
        return [arguments] if arguments else []
    size = max(1, math.ceil(len(arguments) / parts))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """Deterministic unit-length vector derived from a SHA-256 of ``text``.

    A shorter ``dimensions`` yields a (renormalised) prefix of the longer vector.
    """
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 8) for x in raw]


def float32_base64(vector: list[float]) -> str:
    """Encode a vector as little-endian float32 base64 (OpenAI ``encoding_format: base64``)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


@dataclass
class ToolCall:
    """A tool/function call in neutral form; ``arguments`` is a JSON string."""

    name: str
    arguments: str = "{}"
    id: str | None = None

    @property
    def args(self) -> Any:
        """Arguments parsed as JSON."""
        return json.loads(self.arguments or "{}")


@dataclass
class ScriptedReply:
    """One queued reply; ``None`` fields fall back to the computed default."""

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None


@dataclass
class Reply:
    """A fully resolved assistant reply; ``finish`` uses OpenAI vocabulary or a native value."""

    text: str
    tool_calls: list[ToolCall]
    finish: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _normalize_usage(usage: dict[str, int]) -> tuple[int | None, int | None]:
    prompt = usage.get("prompt_tokens", usage.get("input_tokens", usage.get("promptTokenCount")))
    completion = usage.get(
        "completion_tokens", usage.get("output_tokens", usage.get("candidatesTokenCount"))
    )
    return prompt, completion


def _normalize_tool_call(tc: dict[str, Any] | ToolCall) -> ToolCall:
    if isinstance(tc, ToolCall):
        return tc
    args = tc.get("arguments", tc.get("args", tc.get("input", "{}")))
    if not isinstance(args, str):
        args = json.dumps(args)
    return ToolCall(name=tc["name"], arguments=args, id=tc.get("id"))


class ReplyScript:
    """Thread-safe FIFO of scripted replies; empty queue means the default echo reply."""

    def __init__(self) -> None:
        self._queue: deque[ScriptedReply] = deque()
        self._lock = threading.Lock()

    def push(
        self,
        text: str | None = None,
        tool_calls: list[dict[str, Any]] | list[ToolCall] | None = None,
        finish_reason: str | None = None,
        usage: dict[str, int] | None = None,
        times: int = 1,
    ) -> None:
        calls = [_normalize_tool_call(tc) for tc in (tool_calls or [])]
        with self._lock:
            for _ in range(times):
                self._queue.append(ScriptedReply(text, list(calls), finish_reason, usage))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    def next_reply(self, body: Any, last_user_text: str, max_tokens: int | None) -> Reply:
        """Pop the next scripted reply (or build the default) and resolve tokens/finish."""
        with self._lock:
            scripted = self._queue.popleft() if self._queue else ScriptedReply()
        text = scripted.text
        if text is None:
            text = "" if scripted.tool_calls else f"echo: {last_user_text}"
        finish = scripted.finish_reason
        if finish is None and max_tokens is not None and not scripted.tool_calls:
            words = text_pieces(text)
            if len(words) > max_tokens > 0:
                text, finish = "".join(words[:max_tokens]), "length"
        if finish is None:
            finish = "tool_calls" if scripted.tool_calls else "stop"
        prompt = max(1, count_words(body))
        completion = max(1, len(text.split()) + sum(count_words(tc.args) + 1 for tc in scripted.tool_calls))
        if scripted.usage:
            p, c = _normalize_usage(scripted.usage)
            prompt = prompt if p is None else p
            completion = completion if c is None else c
        return Reply(text, scripted.tool_calls, finish, prompt, completion)


FINISH_MAP: dict[str, dict[str, str]] = {
    "openai": {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls",
               "STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"},
    "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                  "content_filter": "refusal", "STOP": "end_turn", "MAX_TOKENS": "max_tokens"},
    "gemini": {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY",
               "end_turn": "STOP", "max_tokens": "MAX_TOKENS", "tool_use": "STOP"},
}


def native_finish(provider: str, finish: str) -> str:
    """Translate a neutral (OpenAI-style) or foreign finish reason into ``provider``'s vocabulary."""
    return FINISH_MAP[provider].get(finish, finish)
